package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/hashtrail/hashtrail"
)

// CreateTenant adds t, setting t.CreatedAt if zero; ECONFLICT if it exists.
func (s *Store) CreateTenant(ctx context.Context, t *hashtrail.Tenant) error {
	if t.CreatedAt.IsZero() {
		t.CreatedAt = hashtrail.NewTime(s.now())
	}
	return s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec(`INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING`,
			t.ID, t.Name, t.CreatedAt.Micros())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return tenantExists(tx, t.ID)
		}
		if num, err := res.LastInsertId(); err != nil || num >= numLimit {
			return fmt.Errorf("sqlite: create tenant: no tenant numbers left (%d, %v)", num, err)
		}
		t.Size = 0
		return nil
	})
}

// tenantExists is CreateTenant's ECONFLICT for the existing tenant id.
func tenantExists(tx *wtx, id string) error {
	row, err := tx.queryRow(`SELECT state FROM tenants WHERE id = ?`, id)
	if err != nil {
		return err
	}
	var state string
	if err := row.Scan(&state); err == nil && state != "" {
		return hashtrail.Errorf(hashtrail.ECONFLICT, "tenant %q was deleted; a tenant id is never used again", id)
	}
	return hashtrail.Errorf(hashtrail.ECONFLICT, "tenant %q already exists", id)
}

const tenantSelect = `SELECT id, name, created_at, next_seq, state, storage_bytes FROM tenants`

// Tenant returns one tenant with its log size, or ENOTFOUND (also for a
// deleted one; one being deleted has its State).
func (s *Store) Tenant(ctx context.Context, id string) (*hashtrail.Tenant, error) {
	t, err := scanTenant(s.r.QueryRowContext(ctx, tenantSelect+` WHERE id = ? AND state <> 'deleted'`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, hashtrail.Errorf(hashtrail.ENOTFOUND, "tenant %q not found", id)
	}
	return t, err
}

// Tenants returns every active tenant ordered by id (not those being
// deleted or deleted).
func (s *Store) Tenants(ctx context.Context) ([]*hashtrail.Tenant, error) {
	rows, err := s.r.QueryContext(ctx, tenantSelect+` WHERE state = '' ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: tenants: %w", err)
	}
	defer rows.Close()
	ts := []*hashtrail.Tenant{}
	for rows.Next() {
		t, err := scanTenant(rows)
		if err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: tenants: %w", err)
	}
	return ts, nil
}

func scanTenant(r scanner) (*hashtrail.Tenant, error) {
	var t hashtrail.Tenant
	var created int64
	if err := r.Scan(&t.ID, &t.Name, &created, &t.Size, &t.State, &t.StorageBytes); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		return nil, fmt.Errorf("sqlite: read tenant: %w", err)
	}
	t.CreatedAt = hashtrail.TimeFromMicros(created)
	return &t, nil
}

// UpdateTenant changes the tenant's name; ENOTFOUND if it does not exist.
func (s *Store) UpdateTenant(ctx context.Context, t *hashtrail.Tenant) error {
	return s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec(`UPDATE tenants SET name = ? WHERE id = ? AND state = ''`, t.Name, t.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return hashtrail.Errorf(hashtrail.ENOTFOUND, "tenant %q not found", t.ID)
		}
		return nil
	})
}

// DeleteTenant removes a tenant whose log is empty, its keys, sinks,
// sink cursors and checkpoints; ENOTFOUND
// if it does not exist, ECONFLICT if its log holds events.
func (s *Store) DeleteTenant(ctx context.Context, id string) error {
	return s.write(ctx, func(tx *wtx) error {
		row, err := tx.queryRow(`SELECT next_seq FROM tenants WHERE id = ? AND state = ''`, id)
		if err != nil {
			return err
		}
		var size int64
		if err := row.Scan(&size); errors.Is(err, sql.ErrNoRows) {
			return hashtrail.Errorf(hashtrail.ENOTFOUND, "tenant %q not found", id)
		} else if err != nil {
			return fmt.Errorf("sqlite: delete tenant: %w", err)
		}
		if size > 0 {
			return hashtrail.Errorf(hashtrail.ECONFLICT, "tenant %q has %d events; an audit log is not deleted wholesale", id, size)
		}
		if _, err := tx.exec(`DELETE FROM api_keys WHERE tenant = ?`, id); err != nil {
			return err
		}
		if _, err := tx.exec(`DELETE FROM tenant_configs WHERE tenant = ?`, id); err != nil {
			return err
		}
		if _, err := tx.exec(`DELETE FROM sink_cursors WHERE tenant = ? OR sink IN (SELECT id FROM sinks WHERE tenant = ?)`, id, id); err != nil {
			return err
		}
		if _, err := tx.exec(`DELETE FROM sinks WHERE tenant = ?`, id); err != nil {
			return err
		}
		// An empty log may have had checkpoints of size 0; a tenant made
		// again with this id starts a new log under a new num.
		if _, err := tx.exec(`DELETE FROM checkpoints WHERE tenant = (SELECT num FROM tenants WHERE id = ?)`, id); err != nil {
			return err
		}
		_, err = tx.exec(`DELETE FROM tenants WHERE id = ?`, id)
		return err
	})
}
