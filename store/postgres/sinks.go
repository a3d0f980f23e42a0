package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

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
	return s.tx(ctx, "create sink", func(tx pgx.Tx) error {
		if c.Tenant != hashtrail.AllTenants {
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM tenants WHERE id = $1`, c.Tenant).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return hashtrail.Errorf(hashtrail.ENOTFOUND, "tenant %q not found", c.Tenant)
			}
		}
		tag, err := tx.Exec(ctx, `INSERT INTO sinks (id, tenant, name, type, filter, settings, batch_size,
			max_failures, state, paused_reason, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
			ON CONFLICT (id) DO NOTHING`,
			c.ID, c.Tenant, c.Name, c.Type, c.Filter, string(settings), c.BatchSize, c.MaxFailures,
			string(c.State), c.PausedReason, c.CreatedAt.Time, c.UpdatedAt.Time)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return hashtrail.Errorf(hashtrail.ECONFLICT, "sink %q exists", c.ID)
		}
		_, err = tx.Exec(ctx, `INSERT INTO sink_cursors (sink, tenant, next)
			SELECT $1, id, next_seq FROM tenants WHERE $2 = '*' OR id = $2`, c.ID, c.Tenant)
		return err
	})
}

// Sink returns one sink, or ENOTFOUND.
func (s *Store) Sink(ctx context.Context, id string) (*hashtrail.SinkConfig, error) {
	c, err := scanSink(s.pool.QueryRow(ctx, sinkSelect+` WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, hashtrail.Errorf(hashtrail.ENOTFOUND, "sink %q not found", id)
	}
	return c, wrap("sink", err)
}

// Sinks returns the sinks of tenant (AllTenants for installation-wide ones,
// "" for all), by id.
func (s *Store) Sinks(ctx context.Context, tenant string) ([]*hashtrail.SinkConfig, error) {
	query, args := sinkSelect+` ORDER BY id`, []any(nil)
	if tenant != "" {
		query, args = sinkSelect+` WHERE tenant = $1 ORDER BY id`, []any{tenant}
	}
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, wrap("sinks", err)
	}
	defer rows.Close()
	out := []*hashtrail.SinkConfig{}
	for rows.Next() {
		c, err := scanSink(rows)
		if err != nil {
			return nil, wrap("sinks", err)
		}
		out = append(out, c)
	}
	return out, wrap("sinks", rows.Err())
}

func scanSink(r pgx.Row) (*hashtrail.SinkConfig, error) {
	var c hashtrail.SinkConfig
	var settings, state string
	var created, updated time.Time
	if err := r.Scan(&c.ID, &c.Tenant, &c.Name, &c.Type, &c.Filter, &settings, &c.BatchSize, &c.MaxFailures,
		&state, &c.PausedReason, &created, &updated); err != nil {
		return nil, err
	}
	c.Settings = json.RawMessage(settings)
	c.State = hashtrail.SinkState(state)
	c.CreatedAt, c.UpdatedAt = hashtrail.NewTime(created), hashtrail.NewTime(updated)
	return &c, nil
}

// UpdateSink replaces a sink's changeable fields and moves UpdatedAt on
// (later than the stored one, even within one microsecond).
func (s *Store) UpdateSink(ctx context.Context, c *hashtrail.SinkConfig) error {
	settings := c.Settings
	if len(settings) == 0 {
		settings = json.RawMessage(`{}`)
	}
	if !json.Valid(settings) {
		return hashtrail.Errorf(hashtrail.EINVALID, "sink %q: settings are not JSON", c.ID)
	}
	var at time.Time
	err := s.pool.QueryRow(ctx, `UPDATE sinks SET name = $2, filter = $3, settings = $4, batch_size = $5, max_failures = $6,
		state = $7, paused_reason = $8, updated_at = greatest($9, updated_at + interval '1 microsecond')
		WHERE id = $1 RETURNING updated_at`,
		c.ID, c.Name, c.Filter, string(settings), c.BatchSize, c.MaxFailures, string(c.State), c.PausedReason, s.now()).Scan(&at)
	if errors.Is(err, pgx.ErrNoRows) {
		return hashtrail.Errorf(hashtrail.ENOTFOUND, "sink %q not found", c.ID)
	}
	if err != nil {
		return wrap("update sink", err)
	}
	c.UpdatedAt = hashtrail.NewTime(at)
	return nil
}

// DeleteSink removes a sink and, by cascade, its cursors.
func (s *Store) DeleteSink(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM sinks WHERE id = $1`, id)
	if err != nil {
		return wrap("delete sink", err)
	}
	if tag.RowsAffected() == 0 {
		return hashtrail.Errorf(hashtrail.ENOTFOUND, "sink %q not found", id)
	}
	return nil
}

// SinkCursors returns a sink's stored cursors by tenant.
func (s *Store) SinkCursors(ctx context.Context, sink string) ([]*hashtrail.SinkCursor, error) {
	rows, err := s.pool.Query(ctx, `SELECT sink, tenant, next, last_delivery, last_error, failures
		FROM sink_cursors WHERE sink = $1 ORDER BY tenant`, sink)
	if err != nil {
		return nil, wrap("sink cursors", err)
	}
	defer rows.Close()
	out := []*hashtrail.SinkCursor{}
	for rows.Next() {
		var c hashtrail.SinkCursor
		var last *time.Time
		if err := rows.Scan(&c.Sink, &c.Tenant, &c.Next, &last, &c.LastError, &c.Failures); err != nil {
			return nil, wrap("sink cursors", err)
		}
		if last != nil {
			c.LastDelivery = hashtrail.NewTime(*last)
		}
		out = append(out, &c)
	}
	return out, wrap("sink cursors", rows.Err())
}

// SetSinkCursor stores c if the stored cursor's Next is prev (a missing
// one counting as 0), or always with prev < 0; see hashtrail.SinkStore.
// The check and the write are one statement, so of two nodes writing from
// one position exactly one wins.
func (s *Store) SetSinkCursor(ctx context.Context, c *hashtrail.SinkCursor, prev int64) error {
	var last *time.Time
	if !c.LastDelivery.IsZero() {
		t := c.LastDelivery.Time
		last = &t
	}
	const set = `next = excluded.next, last_delivery = excluded.last_delivery,
		last_error = excluded.last_error, failures = excluded.failures`
	args := []any{c.Sink, c.Tenant, c.Next, last, c.LastError, c.Failures}
	var sql string
	switch {
	case prev < 0:
		sql = `INSERT INTO sink_cursors (sink, tenant, next, last_delivery, last_error, failures)
			SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS (SELECT 1 FROM sinks WHERE id = $1)
			ON CONFLICT (sink, tenant) DO UPDATE SET ` + set
	case prev == 0:
		sql = `INSERT INTO sink_cursors (sink, tenant, next, last_delivery, last_error, failures)
			SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS (SELECT 1 FROM sinks WHERE id = $1)
			ON CONFLICT (sink, tenant) DO UPDATE SET ` + set + ` WHERE sink_cursors.next = 0`
	default:
		sql = `UPDATE sink_cursors SET next = $3, last_delivery = $4, last_error = $5, failures = $6
			WHERE sink = $1 AND tenant = $2 AND next = $7`
		args = append(args, prev)
	}
	tag, err := s.pool.Exec(ctx, sql, args...)
	if err != nil {
		return wrap("set sink cursor", err)
	}
	if tag.RowsAffected() > 0 {
		return nil
	}
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM sinks WHERE id = $1)`, c.Sink).Scan(&exists); err != nil {
		return wrap("set sink cursor", err)
	}
	if !exists {
		return hashtrail.Errorf(hashtrail.ENOTFOUND, "sink %q not found", c.Sink)
	}
	return hashtrail.Errorf(hashtrail.ECONFLICT, "the cursor of sink %q in tenant %q moved meanwhile", c.Sink, c.Tenant)
}
