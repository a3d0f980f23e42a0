// Package sqlite is the embedded default hashtrail.Store: one SQLite file per
// installation, written through modernc.org/sqlite (pure Go, no cgo).
//
// Durability: the database runs in WAL mode with synchronous=FULL, so the WAL
// is fsynced at every commit and Append returns only after its commit is
// durable, against a process kill and a power loss alike.
//
// Concurrency: all writes go through one dedicated writer connection,
// serialised by a mutex, so the write path never meets SQLITE_BUSY; reads use
// a separate pool of query_only connections, which WAL lets run beside the
// writer. The engine batches the events of many requests into one Append
// call: one transaction, one fsync (group commit).
//
// The schema (migrations/*.sql, applied by Open) keys every event by
// pos = tenant num << 40 | seq; see migrations/0001_init.sql for the layout
// and the reason for each index, and migrations/0002_integrity.sql for the
// tamper-evidence tables (tree hashes, personal values by role,
// checkpoints), how erasure works on them, and what verifiers may rely on.
//
// Tamper evidence: Append seals each new event (hashtrail.Entry.Seal) and
// computes the tree hashes its leaf adds from the right edge of its tenant's
// tree, cached in memory across calls (see tree.go), all in the transaction that
// writes the event.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/store/internal/ingest"
	"github.com/prometheus/client_golang/prometheus"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Config configures a Store. The zero Config is valid.
type Config struct {
	// Logger receives the store's rare log lines; nil discards them.
	Logger *slog.Logger
	// Now is the clock used for CreatedAt defaults; nil means time.Now.
	Now func() time.Time
	// ReadConns is the size of the read pool; 0 means max(4, GOMAXPROCS).
	ReadConns int
}

// Store is the SQLite implementation of hashtrail.Store. It is safe for
// concurrent use.
type Store struct {
	path string
	log  *slog.Logger
	now  func() time.Time

	// mu serialises every write transaction on the writer connection wc
	// and guards stmts, its prepared statements.
	mu    sync.Mutex
	w     *sql.DB   // the writer's pool: exactly one connection, wc
	wc    *sql.Conn // the writer connection, held for the Store's life
	stmts map[string]*sql.Stmt
	// edges caches the right edge of each tenant's tree by tenant num, as
	// of the last committed Append; guarded by mu (see tree.go).
	edges map[int64]*ingest.Edge
	r     *sql.DB // query_only read pool
	ck    *sql.DB // the checkpointer's connection

	closeOnce sync.Once
	closeErr  error

	kick chan struct{} // wakes the checkpointer after a write
	stop chan struct{} // closed by Close
	done chan struct{} // closed when the checkpointer has stopped

	metrics *ingest.Metrics
}

var _ hashtrail.Store = (*Store)(nil)

// Open opens (creating if needed) the database file at path and applies any
// pending migrations. The directory must exist.
func Open(ctx context.Context, path string, cfg Config) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	s := &Store{path: path, log: cfg.Logger, now: cfg.Now, metrics: ingest.NewMetrics(),
		stmts: map[string]*sql.Stmt{}, edges: map[int64]*ingest.Edge{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if err := s.open(ctx, cfg); err != nil {
		s.closeAll()
		return nil, err
	}
	s.startCheckpointer()
	return s, nil
}

func (s *Store) open(ctx context.Context, cfg Config) error {
	var err error
	if s.w, err = openDB(s.path, writer, 1); err != nil {
		return err
	}
	if s.wc, err = s.w.Conn(ctx); err != nil {
		return fmt.Errorf("sqlite: open %s: %w", s.path, err)
	}
	if err := s.migrate(ctx); err != nil {
		return err
	}
	// The database and its WAL file now exist (the WAL lives until the last
	// connection closes). SQLite fsyncs their contents but not the directory
	// entries that name them; without this, a power loss could lose a file
	// that was just created, and every commit in it.
	if err := syncDir(filepath.Dir(s.path)); err != nil {
		return err
	}
	n := cfg.ReadConns
	if n <= 0 {
		n = max(4, runtime.GOMAXPROCS(0))
	}
	if s.r, err = openDB(s.path, reader, n); err != nil {
		return err
	}
	s.ck, err = openDB(s.path, checkpointer, 1)
	return err
}

// syncDir fsyncs a directory, making the entries of new files durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sqlite: sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sqlite: sync %s: %w", dir, err)
	}
	return nil
}

// closeAll closes whatever is open.
func (s *Store) closeAll() error {
	var errs []error
	for _, st := range s.stmts {
		st.Close()
	}
	clear(s.stmts)
	if s.wc != nil {
		errs = append(errs, s.wc.Close())
	}
	for _, db := range []*sql.DB{s.ck, s.r, s.w} {
		if db != nil {
			errs = append(errs, db.Close())
		}
	}
	return errors.Join(errs...)
}

// The roles of the database connections.
type role int

const (
	writer       role = iota // the one connection that writes
	reader                   // the query_only read pool
	checkpointer             // the one connection that checkpoints the WAL
)

// pageSize is the page size of new databases. Larger pages cut the WAL
// frames of a small database's commits (16 KiB: a third less COMMIT time in
// BenchmarkAppend), but once the random-key B-trees (ids, targets) outgrow
// the cache, every insert into them dirties a page of its own, and then
// small pages write less: at a million events, 4 KiB sustained about 12,000
// events/s, 8 KiB 10,500 and 16 KiB 8,000 (TestAppendAtScale).
const pageSize = 4096

// openDB opens a pool of n connections in role r.
func openDB(path string, r role, n int) (*sql.DB, error) {
	db, err := sql.Open("sqlite", dsn(path, r))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxLifetime(0)
	if r == reader {
		db.SetConnMaxIdleTime(5 * time.Minute)
	}
	return db, nil
}

// dsn returns the modernc.org/sqlite data source name for a connection in
// role r. Every connection gets WAL, synchronous=FULL (the WAL is fsynced at
// every commit, and the database at every checkpoint), a busy timeout and
// foreign keys. The writer leaves checkpoints to the checkpointer but for a
// backstop at 4096 pages; readers are query_only.
func dsn(path string, r role) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "cache_size(-32768)") // 32 MiB of page cache per connection
	q.Add("_pragma", "temp_store(MEMORY)")
	switch r {
	case writer:
		q.Add("_pragma", fmt.Sprintf("page_size(%d)", pageSize)) // only takes effect in a new database
		q.Add("_pragma", "wal_autocheckpoint(4096)")
		q.Add("_pragma", "journal_size_limit(67108864)")
	case checkpointer:
		q.Add("_pragma", "wal_autocheckpoint(0)")
		q.Add("_pragma", "journal_size_limit(67108864)")
	case reader:
		q.Set("_query_only", "1")
	}
	q.Set("_foreign_keys", "1")
	q.Set("_synchronous", "FULL")
	q.Set("_journal_mode", "WAL")
	u := url.URL{Scheme: "file", Opaque: path, RawQuery: q.Encode()}
	return u.String()
}

// Close stops the checkpointer and closes the database. It must be called
// after the last use; later calls return the first call's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.stopCheckpointer()
		s.mu.Lock()
		defer s.mu.Unlock()
		// PRAGMA optimize keeps planner statistics fresh; advisory, so its
		// failure does not fail Close.
		if _, err := s.wc.ExecContext(context.Background(), "PRAGMA optimize"); err != nil {
			s.log.Warn("sqlite: optimize on close", "err", err)
		}
		s.closeErr = s.closeAll()
	})
	return s.closeErr
}

// Ping reports whether the database can serve reads.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.r.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return hashtrail.Errorf(hashtrail.EUNAVAILABLE, "the database is unavailable")
	}
	return nil
}

// Size returns the size in bytes of the database file and its WAL.
func (s *Store) Size(ctx context.Context) (int64, error) {
	var total int64
	for _, p := range []string{s.path, s.path + "-wal"} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("sqlite: size: %w", err)
		}
		total += fi.Size()
	}
	return total, nil
}

// Collectors returns the store's Prometheus metrics, for the caller to
// register: hashtrail_store_commit_seconds (the time of each Append's COMMIT,
// which is the fsync) and hashtrail_store_append_events (new events per
// Append call).
func (s *Store) Collectors() []prometheus.Collector {
	return s.metrics.Collectors()
}

// write runs fn in one write transaction and commits it: this is how every
// public write method owns its transaction.
func (s *Store) write(ctx context.Context, fn func(tx *wtx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		s.rollback()
		return err
	}
	return s.commit()
}

// begin starts a write transaction; s.mu must be held. BEGIN IMMEDIATE
// takes the write lock at once; only this connection ever writes, so it
// never waits.
func (s *Store) begin(ctx context.Context) (*wtx, error) {
	if _, err := s.wc.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return nil, fmt.Errorf("sqlite: begin: %w", err)
	}
	return &wtx{ctx: ctx, conn: s.wc, st: s.stmts}, nil
}

// commit commits the transaction; with synchronous=FULL it returns once
// the WAL is fsynced. It is not cancelled with the caller's context: a
// commit that succeeded must be reported as such. On failure the
// transaction is rolled back, so nothing was written.
func (s *Store) commit() error {
	if _, err := s.wc.ExecContext(context.Background(), "COMMIT"); err != nil {
		s.rollback()
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

// rollback ends a failed transaction; a rollback error (such as "no
// transaction is active" after SQLite already rolled back) changes nothing.
func (s *Store) rollback() {
	if _, err := s.wc.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		s.log.Debug("sqlite: rollback", "err", err)
	}
}

// nullTime returns t in microseconds, or nil for the zero Time.
func nullTime(t hashtrail.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Micros()
}

// timeOf reads a nullable microsecond column.
func timeOf(v sql.NullInt64) hashtrail.Time {
	if !v.Valid {
		return hashtrail.Time{}
	}
	return hashtrail.TimeFromMicros(v.Int64)
}
