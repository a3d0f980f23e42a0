package postgres

import (
	"context"
	"embed"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hashtrail/hashtrail/store/internal/storekit"
)

// migrationFS holds the schema migrations, named NNNN_description.sql and
// applied in order of NNNN, all pending ones in one transaction. A migration
// is never edited once released; changes are new files.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

// migrations returns the embedded migrations in version order.
func migrations() ([]storekit.Migration, error) {
	ms, err := storekit.Migrations(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return ms, nil
}

// MigrationStatus is one embedded migration and whether it is applied.
type MigrationStatus struct {
	Version int
	Name    string
	// AppliedAt is when it was applied; zero while it is pending.
	AppliedAt time.Time
}

// Pending reports whether the migration is not applied yet.
func (m MigrationStatus) Pending() bool { return m.AppliedAt.IsZero() }

// lockKey returns the advisory lock key of one job on this store's schema,
// so stores in other schemas of the same database do not wait for it.
func (s *Store) lockKey(job string) string { return "hashtrail/" + s.schema + "/" + job }

// MigrationStatus returns every embedded migration, in version order, with
// the time it was applied (zero while pending). Migrations recorded in the
// database that this binary does not know are returned too (with their
// name), after the known ones.
func (s *Store) MigrationStatus(ctx context.Context) ([]MigrationStatus, error) {
	ms, err := migrations()
	if err != nil {
		return nil, err
	}
	applied, err := s.appliedMigrations(ctx, s.pool)
	if err != nil {
		return nil, err
	}
	out := make([]MigrationStatus, 0, len(ms))
	for _, m := range ms {
		st := MigrationStatus{Version: m.Version, Name: m.Name}
		if a, ok := applied[m.Version]; ok {
			st.AppliedAt = a.AppliedAt
			delete(applied, m.Version)
		}
		out = append(out, st)
	}
	var unknown []MigrationStatus
	for _, a := range applied {
		unknown = append(unknown, a)
	}
	sort.Slice(unknown, func(i, j int) bool { return unknown[i].Version < unknown[j].Version })
	return append(out, unknown...), nil
}

// querier is a pool, a connection or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// appliedMigrations reads schema_migrations; none when it does not exist.
func (s *Store) appliedMigrations(ctx context.Context, q querier) (map[int]MigrationStatus, error) {
	out := map[int]MigrationStatus{}
	rows, err := q.Query(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`)
	if err != nil {
		return nil, wrap("migration status", err)
	}
	exists, err := pgx.CollectExactlyOneRow(rows, pgx.RowTo[bool])
	if err != nil || !exists {
		return out, wrap("migration status", err)
	}
	rows, err = q.Query(ctx, `SELECT version, name, applied_at FROM schema_migrations`)
	if err != nil {
		return nil, wrap("migration status", err)
	}
	defer rows.Close()
	for rows.Next() {
		var m MigrationStatus
		if err := rows.Scan(&m.Version, &m.Name, &m.AppliedAt); err != nil {
			return nil, wrap("migration status", err)
		}
		m.AppliedAt = m.AppliedAt.UTC()
		out[m.Version] = m
	}
	return out, wrap("migration status", rows.Err())
}

// Migrate creates the schema if missing and applies the pending
// migrations, recording each in schema_migrations, all in one transaction
// that holds an advisory lock on the schema: nodes that start at the same
// time wait for each other, and the later ones find nothing left to do. It
// refuses a schema newer than this binary knows, rather than corrupt it,
// and returns how many migrations it applied. Upgrading a schema that
// holds events past searchVersion indexes them for search in the same
// transaction.
func (s *Store) Migrate(ctx context.Context) (int, error) {
	ms, err := migrations()
	if err != nil {
		return 0, err
	}
	n := 0
	err = s.tx(ctx, "migrate", func(tx pgx.Tx) error {
		n = 0
		// A migration may build an index or index stored events for
		// longer than any statement of a request should take, and a node
		// may wait that long for another's: no statement timeout here.
		if _, err := tx.Exec(ctx, `SET LOCAL statement_timeout = 0`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, s.lockKey("migrate")); err != nil {
			return err
		}
		// Create the schema only when missing: a role that owns a schema a
		// DBA made for it needs no CREATE privilege on the database, which
		// CREATE SCHEMA IF NOT EXISTS would check all the same.
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, s.schema).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			if _, err := tx.Exec(ctx, `CREATE SCHEMA `+pgx.Identifier{s.schema}.Sanitize()); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    integer     NOT NULL PRIMARY KEY,
			name       text        NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return err
		}
		var current int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
			return err
		}
		if k := len(ms); k > 0 && current > ms[k-1].Version {
			return fmt.Errorf("the database schema is version %d, newer than this binary's %d; upgrade hashtrail", current, ms[k-1].Version)
		}
		for _, m := range ms {
			if m.Version <= current {
				continue
			}
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("migration %s: %w", m.Name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
				return fmt.Errorf("migration %s: %w", m.Name, err)
			}
			n++
		}
		if current > 0 && current < searchVersion {
			return s.indexForSearch(ctx, tx)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if n > 0 {
		s.log.Info("postgres: applied migrations", "schema", s.schema, "count", n)
	}
	return n, nil
}
