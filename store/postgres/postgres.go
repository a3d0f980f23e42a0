// Package postgres is the production hashtrail.Store on PostgreSQL 14 or
// newer, written through github.com/jackc/pgx/v5. Any number of stateless
// Hashtrail nodes may share one database (DESIGN §5).
//
// Schema: migrations/*.sql, embedded and applied by Open under an advisory
// lock (see migrate.go); each table and index is explained where it is
// declared. Event bodies are partitioned by received_at, one partition per
// month, created ahead by Upkeep (see partitions.go); idempotency keys, tree
// hashes, targets and personal values are not partitioned.
//
// Several nodes, one log: Append locks the log heads (tenants rows) of the
// tenants it writes with SELECT ... FOR UPDATE in id order, then looks the
// ids up, so appends to one tenant serialise across nodes, seq is gapless,
// idempotency holds, and each tree grows from the right edge kept in its
// head row (see append.go). Transactions that fail with a serialization
// failure or a deadlock are retried whole.
//
// Faults: an unreachable database (connection refused or lost, the server
// shutting down, too many connections) is hashtrail.EUNAVAILABLE, wrapped
// with context, so the engine answers 503 with Retry-After; the pool
// reconnects by itself when the database returns.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/store/internal/ingest"
)

// Config configures a Store. The zero Config is valid.
type Config struct {
	// Logger receives the store's rare log lines; nil discards them.
	Logger *slog.Logger
	// Now is the clock used for CreatedAt defaults; nil means time.Now.
	// Leases use the database's clock instead.
	Now func() time.Time
	// Schema is the PostgreSQL schema (search_path) of every table; it is
	// created if missing. "" means "hashtrail".
	Schema string
	// MaxConns bounds the connection pool; 0 means 16.
	MaxConns int32
	// StatementTimeout bounds every statement (set per connection); 0
	// means 30s, a negative value none.
	StatementTimeout time.Duration
	// ConnectTimeout bounds establishing a connection; 0 means 10s.
	ConnectTimeout time.Duration
	// SkipMigrate opens without applying pending migrations or creating
	// partitions (for `hashtrail migrate status|up`, which call
	// MigrationStatus and Migrate).
	SkipMigrate bool
}

// Defaults of Config.
const (
	DefaultSchema           = "hashtrail"
	DefaultMaxConns         = 16
	DefaultStatementTimeout = 30 * time.Second
	DefaultConnectTimeout   = 10 * time.Second
)

// MinServerVersion is the oldest PostgreSQL Open accepts (14).
const MinServerVersion = 140000

// Store is the PostgreSQL implementation of hashtrail.Store. It is safe for
// concurrent use, also by several processes on one database.
type Store struct {
	pool   *pgxpool.Pool
	schema string
	log    *slog.Logger
	now    func() time.Time

	// months are the months (first instant, UTC) known to have their
	// partitions; guarded by mu. See partitions.go.
	mu     sync.Mutex
	months map[time.Time]bool

	// qmu guards the Append calls waiting for a transaction and whether
	// one is running (see combine.go).
	qmu     sync.Mutex
	queue   []*appendCall
	leading bool
	// expect is each tenant's log size as the last transaction of this
	// Store sequenced it: the guess of Preseal (see combine.go).
	expect map[string]int64

	metrics *ingest.Metrics

	closeOnce sync.Once
}

var _ hashtrail.Store = (*Store)(nil)

// Open connects to the database at url (a postgres:// URL or a key=value
// connection string), refuses a server older than PostgreSQL 14, creates
// the schema if missing and, unless cfg.SkipMigrate, applies pending
// migrations and creates the partitions of this month and the next ones.
func Open(ctx context.Context, url string, cfg Config) (*Store, error) {
	pc, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s := &Store{schema: cfg.Schema, log: cfg.Logger, now: cfg.Now, months: map[time.Time]bool{}, expect: map[string]int64{},
		metrics: ingest.NewMetrics()}
	if s.schema == "" {
		s.schema = DefaultSchema
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	pc.MaxConns = cfg.MaxConns
	if pc.MaxConns <= 0 {
		pc.MaxConns = DefaultMaxConns
	}
	pc.ConnConfig.ConnectTimeout = cfg.ConnectTimeout
	if pc.ConnConfig.ConnectTimeout <= 0 {
		pc.ConnConfig.ConnectTimeout = DefaultConnectTimeout
	}
	timeout := cfg.StatementTimeout
	if timeout == 0 {
		timeout = DefaultStatementTimeout
	}
	if timeout < 0 {
		timeout = 0
	}
	rp := pc.ConnConfig.RuntimeParams
	rp["search_path"] = pgx.Identifier{s.schema}.Sanitize()
	rp["statement_timeout"] = strconv.FormatInt(timeout.Milliseconds(), 10)
	rp["timezone"] = "UTC"
	if rp["application_name"] == "" {
		rp["application_name"] = "hashtrail"
	}
	if s.pool, err = pgxpool.NewWithConfig(ctx, pc); err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := s.open(ctx, cfg); err != nil {
		s.pool.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) open(ctx context.Context, cfg Config) error {
	var version int
	var v string
	if err := s.pool.QueryRow(ctx, `SELECT current_setting('server_version_num')`).Scan(&v); err != nil {
		return wrap("connect", err)
	}
	version, _ = strconv.Atoi(v)
	if err := checkVersion(version); err != nil {
		return err
	}
	if cfg.SkipMigrate {
		return nil
	}
	if _, err := s.Migrate(ctx); err != nil {
		return err
	}
	return s.Upkeep(ctx)
}

// checkVersion refuses a server older than MinServerVersion, given its
// server_version_num.
func checkVersion(num int) error {
	if num < MinServerVersion {
		return fmt.Errorf("postgres: the server is PostgreSQL %d.%d; hashtrail needs PostgreSQL 14 or newer", num/10000, num%10000)
	}
	return nil
}

// Close closes the pool; it must be called once, after the last use.
func (s *Store) Close() error {
	s.closeOnce.Do(s.pool.Close)
	return nil
}

// Ping reports whether the database can serve requests: EUNAVAILABLE when
// no connection can be made or used within 5 seconds.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var one int
	if err := s.pool.QueryRow(ctx, `SELECT 1`).Scan(&one); err != nil {
		return hashtrail.Errorf(hashtrail.EUNAVAILABLE, "the database is unavailable")
	}
	return nil
}

// Size returns the bytes on disk of the store's schema: every table, its
// indexes and TOAST.
func (s *Store) Size(ctx context.Context) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint
		FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
		WHERE ns.nspname = $1 AND c.relkind IN ('r', 'm')`, s.schema).Scan(&n)
	if err != nil {
		return 0, wrap("size", err)
	}
	return n, nil
}

// Collectors returns the store's Prometheus metrics, for the caller to
// register: hashtrail_store_commit_seconds (the time of each append
// transaction's COMMIT) and hashtrail_store_append_events (new events per
// append transaction).
func (s *Store) Collectors() []prometheus.Collector { return s.metrics.Collectors() }

// Pool returns the store's connection pool, for tools and tests.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Schema returns the schema the store's tables live in.
func (s *Store) Schema() string { return s.schema }

// maxAttempts bounds the retries of a transaction that failed with a
// serialization failure or a deadlock.
const maxAttempts = 8

// retryable reports whether a transaction that failed with err may simply
// be run again: a serialization failure or a deadlock (the database rolled
// it back), or errRetry.
func retryable(err error) bool {
	if errors.Is(err, errRetry) {
		return true
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// errRetry asks tx to run a transaction again: what it read changed under it
// in a way the database could not see (a tenant another node created).
var errRetry = errors.New("postgres: retry")

// tx runs fn in one transaction and commits it, retrying the whole
// transaction on a serialization failure or a deadlock: this is how every
// public write method owns its transaction.
func (s *Store) tx(ctx context.Context, what string, fn func(tx pgx.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := pgx.BeginFunc(ctx, s.pool, fn)
		if err == nil {
			return nil
		}
		if !retryable(err) || attempt == maxAttempts || ctx.Err() != nil {
			return wrap(what, err)
		}
		backoff(ctx, attempt)
	}
}

// backoff sleeps a little more after each failed attempt, with jitter.
func backoff(ctx context.Context, attempt int) {
	d := time.Duration(rand.Int64N(int64(time.Millisecond) << min(attempt, 6)))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// wrap returns err with context: hashtrail errors as they are, failures to
// reach the database as EUNAVAILABLE (wrapping the cause), the rest as
// internal errors.
func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	var he *hashtrail.Error
	if errors.As(err, &he) {
		return err
	}
	if unavailable(err) {
		return fmt.Errorf("postgres: %s: %w", what, &unavailableError{err: err})
	}
	return fmt.Errorf("postgres: %s: %w", what, err)
}

// unavailableError is an EUNAVAILABLE hashtrail.Error that also wraps its
// cause, so errors.Is/As see both.
type unavailableError struct{ err error }

func (e *unavailableError) Error() string { return "the database is unavailable: " + e.err.Error() }
func (e *unavailableError) Unwrap() []error {
	return []error{hashtrail.Errorf(hashtrail.EUNAVAILABLE, "the database is unavailable"), e.err}
}

// unavailable reports whether err means the database could not be reached
// or the connection was lost: a connect error, a closed or broken
// connection, the server shutting down or refusing connections (SQLSTATE
// classes 08 and 57P, 53300 too many connections), or a statement timeout
// that the caller did not ask for (the server is overloaded).
func unavailable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case len(pe.Code) == 5 && pe.Code[:2] == "08", pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03",
			pe.Code == "53300", pe.Code == "57014" && !errors.Is(err, context.Canceled):
			return true
		}
		return false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	// Anything else pgx could not even send or whose answer it lost:
	// network errors, an unexpected EOF, a closed connection.
	return pgconn.SafeToRetry(err) || pgconn.Timeout(err) || isNetErr(err)
}

// isNetErr reports whether err is a network failure or a connection that
// went away under a statement.
func isNetErr(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE)
}
