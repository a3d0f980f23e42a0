package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hashtrail/hashtrail"
)

// CreateTenant adds t, setting t.CreatedAt if zero; ECONFLICT if it exists.
func (s *Store) CreateTenant(ctx context.Context, t *hashtrail.Tenant) error {
	if t.CreatedAt.IsZero() {
		t.CreatedAt = hashtrail.NewTime(s.now())
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`,
		t.ID, t.Name, t.CreatedAt.Time)
	if err != nil {
		return wrap("create tenant", err)
	}
	if tag.RowsAffected() == 0 {
		var state string
		if err := s.pool.QueryRow(ctx, `SELECT state FROM tenants WHERE id = $1`, t.ID).Scan(&state); err == nil && state != "" {
			return hashtrail.Errorf(hashtrail.ECONFLICT, "tenant %q was deleted; a tenant id is never used again", t.ID)
		}
		return hashtrail.Errorf(hashtrail.ECONFLICT, "tenant %q already exists", t.ID)
	}
	t.Size = 0
	return nil
}

const tenantSelect = `SELECT id, name, created_at, next_seq, state, storage_bytes FROM tenants`

// Tenant returns one tenant with its log size, or ENOTFOUND (also for a
// deleted one; one being deleted has its State).
func (s *Store) Tenant(ctx context.Context, id string) (*hashtrail.Tenant, error) {
	rows, err := s.pool.Query(ctx, tenantSelect+` WHERE id = $1 AND state <> 'deleted'`, id)
	if err != nil {
		return nil, wrap("tenant", err)
	}
	ts, err := scanTenants(rows)
	if err != nil {
		return nil, wrap("tenant", err)
	}
	if len(ts) == 0 {
		return nil, hashtrail.Errorf(hashtrail.ENOTFOUND, "tenant %q not found", id)
	}
	return ts[0], nil
}

// Tenants returns every active tenant ordered by id (not those being
// deleted or deleted).
func (s *Store) Tenants(ctx context.Context) ([]*hashtrail.Tenant, error) {
	rows, err := s.pool.Query(ctx, tenantSelect+` WHERE state = '' ORDER BY id`)
	if err != nil {
		return nil, wrap("tenants", err)
	}
	ts, err := scanTenants(rows)
	return ts, wrap("tenants", err)
}

func scanTenants(rows pgx.Rows) ([]*hashtrail.Tenant, error) {
	defer rows.Close()
	ts := []*hashtrail.Tenant{}
	for rows.Next() {
		var t hashtrail.Tenant
		var created time.Time
		if err := rows.Scan(&t.ID, &t.Name, &created, &t.Size, &t.State, &t.StorageBytes); err != nil {
			return nil, err
		}
		t.CreatedAt = hashtrail.NewTime(created)
		ts = append(ts, &t)
	}
	return ts, rows.Err()
}

// UpdateTenant changes the tenant's name; ENOTFOUND if it does not exist.
func (s *Store) UpdateTenant(ctx context.Context, t *hashtrail.Tenant) error {
	tag, err := s.pool.Exec(ctx, `UPDATE tenants SET name = $1 WHERE id = $2 AND state = ''`, t.Name, t.ID)
	if err != nil {
		return wrap("update tenant", err)
	}
	if tag.RowsAffected() == 0 {
		return hashtrail.Errorf(hashtrail.ENOTFOUND, "tenant %q not found", t.ID)
	}
	return nil
}

// DeleteTenant removes a tenant whose log is empty, with its keys,
// configuration documents and checkpoints; ENOTFOUND if it does not exist,
// ECONFLICT if its log holds events. It locks the head, so no append to the
// tenant runs meanwhile.
func (s *Store) DeleteTenant(ctx context.Context, id string) error {
	return s.tx(ctx, "delete tenant", func(tx pgx.Tx) error {
		var num, size int64
		err := tx.QueryRow(ctx, `SELECT num, next_seq FROM tenants WHERE id = $1 AND state = '' FOR UPDATE`, id).Scan(&num, &size)
		if errors.Is(err, pgx.ErrNoRows) {
			return hashtrail.Errorf(hashtrail.ENOTFOUND, "tenant %q not found", id)
		} else if err != nil {
			return err
		}
		if size > 0 {
			return hashtrail.Errorf(hashtrail.ECONFLICT, "tenant %q has %d events; an audit log is not deleted wholesale", id, size)
		}
		b := &pgx.Batch{}
		b.Queue(`DELETE FROM api_keys WHERE tenant = $1`, id)
		b.Queue(`DELETE FROM checkpoints WHERE tenant = $1`, num)
		b.Queue(`DELETE FROM sink_cursors WHERE tenant = $1`, id)
		b.Queue(`DELETE FROM sinks WHERE tenant = $1`, id) // their cursors cascade
		b.Queue(`DELETE FROM tenants WHERE num = $1`, num) // tenant_configs cascade
		return tx.SendBatch(ctx, b).Close()
	})
}
