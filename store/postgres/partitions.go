package postgres

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// AheadMonths is how many months after the current one Upkeep creates
// partitions for, so that a node that stops running upkeep (or a lease
// nobody holds for a while) never leaves appends without a partition.
const AheadMonths = 3

// monthOf returns the first instant of t's month in UTC: the lower bound of
// the partition t falls into.
func monthOf(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// partitionName returns the name of the events partition of month m.
func partitionName(m time.Time) string {
	return fmt.Sprintf("events_p%04d%02d", m.Year(), int(m.Month()))
}

// Upkeep creates the events partitions of the current month (on the
// store's clock) and the AheadMonths after it, those that are missing, and
// drops the empty partitions of earlier months that retention purges left
// behind (purge.go). It
// is idempotent and safe to run on several nodes at once (they serialise on
// an advisory lock); Open runs it, and the engine runs it periodically
// under the hashtrail.LeaseUpkeep lease.
func (s *Store) Upkeep(ctx context.Context) error {
	m := monthOf(s.now())
	months := make([]time.Time, 0, AheadMonths+1)
	for i := range AheadMonths + 1 {
		months = append(months, m.AddDate(0, i, 0))
	}
	if err := s.ensureMonths(ctx, months, true); err != nil {
		return err
	}
	return s.dropEmptyPartitions(ctx)
}

// ensureMonths makes sure every month in months has its partition, creating
// the missing ones in a transaction of its own (not the caller's: DDL takes
// locks an append should not hold), and remembers them. With force it
// checks the database even for months it believes exist.
func (s *Store) ensureMonths(ctx context.Context, months []time.Time, force bool) error {
	var missing []time.Time
	s.mu.Lock()
	for _, m := range months {
		if (force || !s.months[m]) && !slices.Contains(missing, m) {
			missing = append(missing, m)
		}
	}
	s.mu.Unlock()
	if len(missing) == 0 {
		return nil
	}
	slices.SortFunc(missing, time.Time.Compare)
	err := s.tx(ctx, "create partitions", func(tx pgx.Tx) error {
		return s.createPartitions(ctx, tx, missing)
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	for _, m := range missing {
		s.months[m] = true
	}
	s.mu.Unlock()
	return nil
}

// createPartitions creates the partitions of months that do not exist yet.
// Each is made as a plain table with the partition's range as a CHECK
// constraint and then attached: ATTACH PARTITION takes only a SHARE UPDATE
// EXCLUSIVE lock on events, so appends and queries go on meanwhile (CREATE
// TABLE ... PARTITION OF would take ACCESS EXCLUSIVE and stall them), and
// the CHECK constraint spares it a validating scan. Attaching creates the
// partition's copies of the indexes of events (on an empty table: at once).
// An advisory lock makes two nodes doing this at once take turns; the
// later one finds the partitions there and does nothing.
func (s *Store) createPartitions(ctx context.Context, tx pgx.Tx, months []time.Time) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, s.lockKey("partitions")); err != nil {
		return err
	}
	for _, m := range months {
		name := partitionName(m)
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_inherits i
			JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE i.inhparent = 'events'::regclass AND c.relname = $1 AND n.nspname = $2)`, name, s.schema).Scan(&exists); err != nil {
			return err
		}
		if exists {
			continue
		}
		lo, hi := m.Format(time.RFC3339), m.AddDate(0, 1, 0).Format(time.RFC3339)
		id := pgx.Identifier{name}.Sanitize()
		for _, q := range []string{
			`CREATE TABLE ` + id + ` (LIKE events INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE)`,
			`ALTER TABLE ` + id + ` ADD CONSTRAINT ` + pgx.Identifier{name + "_range"}.Sanitize() +
				` CHECK (received_at >= '` + lo + `' AND received_at < '` + hi + `')`,
			`ALTER TABLE events ATTACH PARTITION ` + id + ` FOR VALUES FROM ('` + lo + `') TO ('` + hi + `')`,
		} {
			if _, err := tx.Exec(ctx, q); err != nil {
				return fmt.Errorf("partition %s: %w", name, err)
			}
		}
		s.log.Info("postgres: created partition", "schema", s.schema, "partition", name)
	}
	return nil
}

// forgetMonths drops what the store believes about partitions, after an
// insert found one missing (retention may drop partitions).
func (s *Store) forgetMonths() {
	s.mu.Lock()
	clear(s.months)
	s.mu.Unlock()
}
