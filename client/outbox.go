package client

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
)

// Dialect is the SQL flavour of the app's database.
type Dialect int

// The databases Outbox speaks to.
const (
	Postgres Dialect = iota + 1
	SQLite
)

// OutboxConfig configures an Outbox.
type OutboxConfig struct {
	// Dialect of the database (required).
	Dialect Dialect
	// Table is the outbox table, optionally schema-qualified
	// ("audit.hashtrail_outbox"); default "hashtrail_outbox". The relay's
	// lease lives in Table+"_lease".
	Table string
	// BatchSize is the number of rows a relay sends per request (default
	// 500).
	BatchSize int
	// PollInterval is how long Run waits when the outbox is empty (default
	// 1s).
	PollInterval time.Duration
	// LeaseTTL is how long a relay holds the outbox without renewing its
	// lease (default 30s). Requests are bounded by it, so a relay that
	// stalls loses the outbox to another before it could send out of order.
	LeaseTTL time.Duration
}

// Outbox records events in the app's own database inside the app's own
// transaction, and relays them to Hashtrail once committed: an event exists
// exactly when the change it describes committed (the transactional outbox
// pattern). A relay sends the rows in insertion order, deletes them once
// the server acknowledged them (or rejected them: those reach the Client's
// error handler), and holds a lease row while it works, so any number of
// relays (in several processes) may run: one sends at a time, and order is
// kept. Rows sent but not deleted (a crash between the two) are sent again
// with the same ids, which the server answers with the original receipts.
//
// It uses database/sql only; the app brings the driver.
type Outbox struct {
	db     *sql.DB
	c      *Client
	cfg    OutboxConfig
	table  string
	lease  string
	holder string
	busy   sync.Mutex // one Relay of this Outbox at a time
}

var tableRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$`)

// NewOutbox returns an outbox in db that relays through c (its key, tenant
// and error handler; its queue is not used).
func NewOutbox(db *sql.DB, c *Client, cfg OutboxConfig) (*Outbox, error) {
	if cfg.Dialect != Postgres && cfg.Dialect != SQLite {
		return nil, errors.New("hashtrail outbox: choose a Dialect (Postgres or SQLite)")
	}
	if cfg.Table == "" {
		cfg.Table = "hashtrail_outbox"
	}
	if !tableRE.MatchString(cfg.Table) {
		return nil, fmt.Errorf("hashtrail outbox: %q is not a table name", cfg.Table)
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 500
	}
	cfg.BatchSize = min(cfg.BatchSize, hashtrail.MaxBatchEvents)
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 30 * time.Second
	}
	return &Outbox{db: db, c: c, cfg: cfg, table: cfg.Table, lease: cfg.Table + "_lease", holder: hashtrail.NewEventID()}, nil
}

// ph is the i-th (from 1) placeholder.
func (o *Outbox) ph(i int) string {
	if o.cfg.Dialect == Postgres {
		return "$" + strconv.Itoa(i)
	}
	return "?"
}

// CreateTable creates the outbox and lease tables if they do not exist.
func (o *Outbox) CreateTable(ctx context.Context) error {
	id := "BIGSERIAL PRIMARY KEY"
	if o.cfg.Dialect == SQLite {
		id = "INTEGER PRIMARY KEY AUTOINCREMENT"
	}
	stmts := []string{
		`CREATE TABLE IF NOT EXISTS ` + o.table + ` (id ` + id + `, tenant TEXT NOT NULL, event_id TEXT NOT NULL, body TEXT NOT NULL, created_at BIGINT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS ` + o.lease + ` (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at BIGINT NOT NULL)`,
		`INSERT INTO ` + o.lease + ` (name, holder, expires_at) VALUES ('relay', '', 0) ON CONFLICT (name) DO NOTHING`,
	}
	for _, s := range stmts {
		if _, err := o.db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("hashtrail outbox: %w", err)
		}
	}
	return nil
}

// Record writes ev into the outbox inside tx, the app's transaction: it is
// relayed if and only if tx commits. It fills ev like Client.Record (time,
// actor and context from ctx, service, tenant) and gives it its id now, so
// ev.ID is known to the caller.
func (o *Outbox) Record(ctx context.Context, tx *sql.Tx, ev *hashtrail.Event) error {
	if err := o.c.prepare(ctx, ev, false); err != nil {
		return err
	}
	return o.insert(ctx, tx, entry{ev: ev})
}

// RecordFanOut is Record for one action in several tenants (see
// Client.RecordFanOut).
func (o *Outbox) RecordFanOut(ctx context.Context, tx *sql.Tx, ev *hashtrail.Event, tenants ...string) error {
	if err := o.c.checkFanOut(ev, tenants); err != nil {
		return err
	}
	if err := o.c.prepare(ctx, ev, true); err != nil {
		return err
	}
	return o.insert(ctx, tx, entry{ev: ev, tenants: tenants})
}

func (o *Outbox) insert(ctx context.Context, tx *sql.Tx, e entry) error {
	if e.ev.ID == "" {
		e.ev.ID = hashtrail.NewEventID()
	}
	p, err := o.c.encode(e)
	if err != nil {
		return fmt.Errorf("hashtrail outbox: %w", err)
	}
	tenant := p.tenant
	if tenant == "" {
		tenant = strings.Join(p.tenants, ",")
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO `+o.table+` (tenant, event_id, body, created_at) VALUES (`+
		o.ph(1)+`, `+o.ph(2)+`, `+o.ph(3)+`, `+o.ph(4)+`)`, tenant, p.id, string(p.body), time.Now().UnixMicro())
	if err != nil {
		return fmt.Errorf("hashtrail outbox: %w", err)
	}
	return nil
}

// Relay sends the committed rows of the outbox, oldest first, and deletes
// each once the server has answered for it. It returns the number of rows
// it settled. It returns at once, with 0 and no error, when another relay
// holds the lease (another Outbox, or a Relay of this one on another
// goroutine). A retryable failure (server down, 429, 5xx) ends the
// pass with a *RetryError; the rows stay for the next pass.
func (o *Outbox) Relay(ctx context.Context) (int, error) {
	if !o.busy.TryLock() {
		return 0, nil // this Outbox's own lease is in use by another goroutine
	}
	defer o.busy.Unlock()
	ok, err := o.acquire(ctx)
	if err != nil || !ok {
		return 0, err
	}
	defer o.release()
	done := 0
	for {
		ps, rowIDs, err := o.next(ctx)
		if err != nil || len(ps) == 0 {
			return done, err
		}
		sctx, cancel := context.WithTimeout(ctx, o.cfg.LeaseTTL/2)
		rest, why := o.c.attempt(sctx, ps)
		cancel()
		settled := len(ps) - len(rest)
		if settled > 0 {
			if err := o.remove(ctx, rowIDs[:settled]); err != nil {
				return done, err
			}
			done += settled
		}
		if len(rest) > 0 {
			return done, retryError(1, len(rest), 0, why)
		}
		if ok, err := o.acquire(ctx); err != nil || !ok {
			return done, err // renewed, or lost to a relay that thought this one dead
		}
	}
}

// Run relays until ctx ends: it relays whenever rows are waiting, polls
// every PollInterval when the outbox is empty, and backs off (as the
// Client does) after a retryable failure. It returns ctx's error.
func (o *Outbox) Run(ctx context.Context) error {
	attempt := 0
	for {
		n, err := o.Relay(ctx)
		var wait time.Duration
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			attempt++
			var re *RetryError
			why := &tryResult{err: err}
			if errors.As(err, &re) {
				why.status = re.Status
			}
			wait = o.c.backoff(attempt, why)
			o.c.report(err)
		case n == 0:
			attempt, wait = 0, o.cfg.PollInterval
		default:
			attempt = 0
			continue
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// acquire takes or renews the relay lease.
func (o *Outbox) acquire(ctx context.Context) (bool, error) {
	now := time.Now().UnixMilli()
	res, err := o.db.ExecContext(ctx, `UPDATE `+o.lease+` SET holder = `+o.ph(1)+`, expires_at = `+o.ph(2)+
		` WHERE name = 'relay' AND (holder = `+o.ph(3)+` OR expires_at < `+o.ph(4)+`)`,
		o.holder, now+o.cfg.LeaseTTL.Milliseconds(), o.holder, now)
	if err != nil {
		return false, fmt.Errorf("hashtrail outbox: taking the relay lease: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("hashtrail outbox: %w", err)
	}
	return n == 1, nil
}

// release gives the lease up for the next relay.
func (o *Outbox) release() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _ = o.db.ExecContext(ctx, `UPDATE `+o.lease+` SET expires_at = 0 WHERE name = 'relay' AND holder = `+o.ph(1), o.holder)
}

// next reads the oldest committed rows.
func (o *Outbox) next(ctx context.Context) ([]*pending, []int64, error) {
	rows, err := o.db.QueryContext(ctx, `SELECT id, body FROM `+o.table+` ORDER BY id LIMIT `+strconv.Itoa(o.cfg.BatchSize))
	if err != nil {
		return nil, nil, fmt.Errorf("hashtrail outbox: %w", err)
	}
	defer rows.Close()
	var ps []*pending
	var rowIDs []int64
	size := 0
	for rows.Next() {
		var id int64
		var body string
		if err := rows.Scan(&id, &body); err != nil {
			return nil, nil, fmt.Errorf("hashtrail outbox: %w", err)
		}
		if size += len(body); size > o.c.cfg.batchBytes && len(ps) > 0 {
			break
		}
		ps = append(ps, &pending{body: []byte(body)})
		rowIDs = append(rowIDs, id)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("hashtrail outbox: %w", err)
	}
	return ps, rowIDs, nil
}

// remove deletes settled rows by id (never by range: with PostgreSQL a row
// of a lower id may commit after higher ones were read).
func (o *Outbox) remove(ctx context.Context, rowIDs []int64) error {
	var b strings.Builder
	args := make([]any, len(rowIDs))
	for i, id := range rowIDs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(o.ph(i + 1))
		args[i] = id
	}
	if _, err := o.db.ExecContext(ctx, `DELETE FROM `+o.table+` WHERE id IN (`+b.String()+`)`, args...); err != nil {
		return fmt.Errorf("hashtrail outbox: %w", err)
	}
	return nil
}

// Pending returns the number of rows waiting in the outbox.
func (o *Outbox) Pending(ctx context.Context) (int64, error) {
	var n int64
	if err := o.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+o.table).Scan(&n); err != nil {
		return 0, fmt.Errorf("hashtrail outbox: %w", err)
	}
	return n, nil
}
