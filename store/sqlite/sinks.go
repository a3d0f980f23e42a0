package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hashtrail/hashtrail"
)

const sinkSelect = `SELECT id, tenant, name, type, filter, settings, batch_size, max_failures,
	state, paused_reason, created_at, updated_at FROM sinks`

// CreateSink adds a sink and starts its cursors at the ends of the logs it
// covers; see hashtrail.SinkStore.
func (s *Store) CreateSink(ctx context.Context, c *hashtrail.SinkConfig) error {
	if c.ID == "" || c.Type == "" || c.Tenant == "" {
		return hashtrail.Errorf(hashtrail.EINVALID, "sink: an id, a type and a tenant are required")
	}
	settings := c.Settings
	if len(settings) == 0 {
		settings = json.RawMessage(`{}`)
	}
	if !json.Valid(settings) {
		return hashtrail.Errorf(hashtrail.EINVALID, "sink %q: settings are not JSON", c.ID)
	}
	now := hashtrail.NewTime(s.now())
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = c.CreatedAt
	}
	if c.State == "" {
		c.State = hashtrail.SinkActive
	}
	return s.write(ctx, func(tx *wtx) error {
		if c.Tenant != hashtrail.AllTenants {
			row, err := tx.queryRow(`SELECT count(*) FROM tenants WHERE id = ?`, c.Tenant)
			if err != nil {
				return err
			}
			var n int
			if err := row.Scan(&n); err != nil {
				return fmt.Errorf("sqlite: create sink: %w", err)
			}
			if n == 0 {
				return hashtrail.Errorf(hashtrail.ENOTFOUND, "tenant %q not found", c.Tenant)
			}
		}
		row, err := tx.queryRow(`SELECT count(*) FROM sinks WHERE id = ?`, c.ID)
		if err != nil {
			return err
		}
		var n int
		if err := row.Scan(&n); err != nil {
			return fmt.Errorf("sqlite: create sink: %w", err)
		}
		if n > 0 {
			return hashtrail.Errorf(hashtrail.ECONFLICT, "sink %q exists", c.ID)
		}
		if _, err := tx.exec(`INSERT INTO sinks (id, tenant, name, type, filter, settings, batch_size,
			max_failures, state, paused_reason, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.Tenant, c.Name, c.Type, c.Filter, string(settings), c.BatchSize, c.MaxFailures,
			string(c.State), c.PausedReason, c.CreatedAt.Micros(), c.UpdatedAt.Micros()); err != nil {
			return err
		}
		_, err = tx.exec(`INSERT INTO sink_cursors (sink, tenant, next)
			SELECT ?, id, next_seq FROM tenants WHERE ? = '*' OR id = ?`, c.ID, c.Tenant, c.Tenant)
		return err
	})
}

// Sink returns one sink, or ENOTFOUND.
func (s *Store) Sink(ctx context.Context, id string) (*hashtrail.SinkConfig, error) {
	c, err := scanSink(s.r.QueryRowContext(ctx, sinkSelect+` WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, hashtrail.Errorf(hashtrail.ENOTFOUND, "sink %q not found", id)
	}
	return c, err
}

// Sinks returns the sinks of tenant (AllTenants for installation-wide ones,
// "" for all), by id.
func (s *Store) Sinks(ctx context.Context, tenant string) ([]*hashtrail.SinkConfig, error) {
	query, args := sinkSelect+` ORDER BY id`, []any(nil)
	if tenant != "" {
		query, args = sinkSelect+` WHERE tenant = ? ORDER BY id`, []any{tenant}
	}
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: sinks: %w", err)
	}
	defer rows.Close()
	out := []*hashtrail.SinkConfig{}
	for rows.Next() {
		c, err := scanSink(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: sinks: %w", err)
	}
	return out, nil
}

func scanSink(r scanner) (*hashtrail.SinkConfig, error) {
	var c hashtrail.SinkConfig
	var settings, state string
	var created, updated int64
	err := r.Scan(&c.ID, &c.Tenant, &c.Name, &c.Type, &c.Filter, &settings, &c.BatchSize, &c.MaxFailures,
		&state, &c.PausedReason, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: sink: %w", err)
	}
	c.Settings = json.RawMessage(settings)
	c.State = hashtrail.SinkState(state)
	c.CreatedAt = hashtrail.TimeFromMicros(created)
	c.UpdatedAt = hashtrail.TimeFromMicros(updated)
	return &c, nil
}

// UpdateSink replaces a sink's changeable fields and moves UpdatedAt on.
func (s *Store) UpdateSink(ctx context.Context, c *hashtrail.SinkConfig) error {
	settings := c.Settings
	if len(settings) == 0 {
		settings = json.RawMessage(`{}`)
	}
	if !json.Valid(settings) {
		return hashtrail.Errorf(hashtrail.EINVALID, "sink %q: settings are not JSON", c.ID)
	}
	now := s.now().UnixMicro()
	return s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec(`UPDATE sinks SET name = ?, filter = ?, settings = ?, batch_size = ?, max_failures = ?,
			state = ?, paused_reason = ?, updated_at = max(?, updated_at + 1) WHERE id = ?`,
			c.Name, c.Filter, string(settings), c.BatchSize, c.MaxFailures, string(c.State), c.PausedReason, now, c.ID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return hashtrail.Errorf(hashtrail.ENOTFOUND, "sink %q not found", c.ID)
		}
		row, err := tx.queryRow(`SELECT updated_at FROM sinks WHERE id = ?`, c.ID)
		if err != nil {
			return err
		}
		var at int64
		if err := row.Scan(&at); err != nil {
			return fmt.Errorf("sqlite: update sink: %w", err)
		}
		c.UpdatedAt = hashtrail.TimeFromMicros(at)
		return nil
	})
}

// DeleteSink removes a sink and its cursors.
func (s *Store) DeleteSink(ctx context.Context, id string) error {
	return s.write(ctx, func(tx *wtx) error {
		if _, err := tx.exec(`DELETE FROM sink_cursors WHERE sink = ?`, id); err != nil {
			return err
		}
		res, err := tx.exec(`DELETE FROM sinks WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return hashtrail.Errorf(hashtrail.ENOTFOUND, "sink %q not found", id)
		}
		return nil
	})
}

// SinkCursors returns a sink's stored cursors by tenant.
func (s *Store) SinkCursors(ctx context.Context, sink string) ([]*hashtrail.SinkCursor, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT sink, tenant, next, last_delivery, last_error, failures
		FROM sink_cursors WHERE sink = ? ORDER BY tenant`, sink)
	if err != nil {
		return nil, fmt.Errorf("sqlite: sink cursors: %w", err)
	}
	defer rows.Close()
	out := []*hashtrail.SinkCursor{}
	for rows.Next() {
		var c hashtrail.SinkCursor
		var last sql.NullInt64
		if err := rows.Scan(&c.Sink, &c.Tenant, &c.Next, &last, &c.LastError, &c.Failures); err != nil {
			return nil, fmt.Errorf("sqlite: sink cursors: %w", err)
		}
		if last.Valid {
			c.LastDelivery = hashtrail.TimeFromMicros(last.Int64)
		}
		out = append(out, &c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: sink cursors: %w", err)
	}
	return out, nil
}

// SetSinkCursor stores c if the stored cursor's Next is prev (or always,
// with prev < 0); see hashtrail.SinkStore.
func (s *Store) SetSinkCursor(ctx context.Context, c *hashtrail.SinkCursor, prev int64) error {
	var last any
	if !c.LastDelivery.IsZero() {
		last = c.LastDelivery.Micros()
	}
	return s.write(ctx, func(tx *wtx) error {
		row, err := tx.queryRow(`SELECT (SELECT count(*) FROM sinks WHERE id = ?),
			coalesce((SELECT next FROM sink_cursors WHERE sink = ? AND tenant = ?), 0)`, c.Sink, c.Sink, c.Tenant)
		if err != nil {
			return err
		}
		var exists, next int64
		if err := row.Scan(&exists, &next); err != nil {
			return fmt.Errorf("sqlite: set sink cursor: %w", err)
		}
		if exists == 0 {
			return hashtrail.Errorf(hashtrail.ENOTFOUND, "sink %q not found", c.Sink)
		}
		if prev >= 0 && next != prev {
			return hashtrail.Errorf(hashtrail.ECONFLICT, "the cursor of sink %q in tenant %q moved to %d meanwhile", c.Sink, c.Tenant, next)
		}
		_, err = tx.exec(`INSERT INTO sink_cursors (sink, tenant, next, last_delivery, last_error, failures)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (sink, tenant) DO UPDATE SET next = excluded.next, last_delivery = excluded.last_delivery,
				last_error = excluded.last_error, failures = excluded.failures`,
			c.Sink, c.Tenant, c.Next, last, c.LastError, c.Failures)
		return err
	})
}
