package sqlite

import (
	"context"
	"embed"
	"fmt"

	"github.com/hashtrail/hashtrail/store/internal/storekit"
)

// migrationFS holds the schema migrations, named NNNN_description.sql and
// applied in order of NNNN, all pending ones in one transaction. A migration is
// never edited once released; changes are new files.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

// migrations returns the embedded migrations in version order.
func migrations() ([]storekit.Migration, error) {
	ms, err := storekit.Migrations(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return ms, nil
}

// integrityVersion is the migration that brought tamper evidence; events
// stored before it are sealed when a database is upgraded past it.
const integrityVersion = 2

// migrate applies the pending migrations, recording each in
// schema_migrations, and, upgrading past integrityVersion, seals the events
// stored before it (sealUnsealed), and, upgrading past searchVersion,
// indexes the events stored before it for search (indexForSearch), all in
// one transaction. It refuses a
// database whose schema is newer than this binary knows, rather than
// corrupt it.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *wtx) error {
		if _, err := tx.conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT    NOT NULL,
			applied_at INTEGER NOT NULL)`); err != nil {
			return fmt.Errorf("sqlite: migrate: %w", err)
		}
		var current int
		if err := tx.conn.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
			return fmt.Errorf("sqlite: migrate: %w", err)
		}
		if n := len(ms); n > 0 && current > ms[n-1].Version {
			return fmt.Errorf("sqlite: the database schema is version %d, newer than this binary's %d; upgrade hashtrail", current, ms[n-1].Version)
		}
		for _, m := range ms {
			if m.Version <= current {
				continue
			}
			if _, err := tx.conn.ExecContext(ctx, m.SQL); err != nil {
				return fmt.Errorf("sqlite: migration %s: %w", m.Name, err)
			}
			if _, err := tx.conn.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.Version, m.Name, s.now().UnixMicro()); err != nil {
				return fmt.Errorf("sqlite: migration %s: %w", m.Name, err)
			}
			s.log.Info("sqlite: applied migration", "migration", m.Name)
		}
		if current < integrityVersion {
			if err := s.sealUnsealed(tx); err != nil {
				return err
			}
		}
		if current < searchVersion {
			return s.indexForSearch(tx)
		}
		return nil
	})
}
