package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/hashtrail/hashtrail"
)

var _ hashtrail.Dumper = (*Store)(nil)

// Settings returns every setting, by name.
func (s *Store) Settings(ctx context.Context) (map[string]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT name, value FROM settings`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: settings: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var n, v string
		if err := rows.Scan(&n, &v); err != nil {
			return nil, fmt.Errorf("sqlite: settings: %w", err)
		}
		out[n] = v
	}
	return out, rows.Err()
}

// ContentHashes returns the content hashes of tenant's events with from <=
// seq < to, by seq; ENOTFOUND for an unknown tenant. It reads one range of
// the events table.
func (s *Store) ContentHashes(ctx context.Context, tenant string, from, to int64) (map[int64][]byte, error) {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("sqlite: content hashes: %w", err)
	}
	defer tx.Rollback()
	num, err := tenantNum(ctx, tx, tenant)
	if err != nil {
		return nil, err
	}
	out := map[int64][]byte{}
	from, to = max(from, 0), min(to, seqLimit)
	if from >= to {
		return out, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT pos, content_hash FROM events WHERE pos >= ? AND pos < ? ORDER BY pos`,
		pos(num, from), pos(num, to))
	if err != nil {
		return nil, fmt.Errorf("sqlite: content hashes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p int64
		var h []byte
		if err := rows.Scan(&p, &h); err != nil {
			return nil, fmt.Errorf("sqlite: content hashes: %w", err)
		}
		out[p&seqMask] = h
	}
	return out, rows.Err()
}

// InstallationEntries returns the installation log's entries with from <=
// index < to, in index order.
func (s *Store) InstallationEntries(ctx context.Context, from, to int64) ([]*hashtrail.InstallationEntry, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT idx, tenant, size, note FROM installation_entries
		WHERE idx >= ? AND idx < ? ORDER BY idx`, from, to)
	if err != nil {
		return nil, fmt.Errorf("sqlite: installation entries: %w", err)
	}
	defer rows.Close()
	out := []*hashtrail.InstallationEntry{}
	for rows.Next() {
		var idx int64
		e := &hashtrail.InstallationEntry{}
		if err := rows.Scan(&idx, &e.Tenant, &e.Size, &e.Note); err != nil {
			return nil, fmt.Errorf("sqlite: installation entries: %w", err)
		}
		if idx != from+int64(len(out)) {
			return nil, fmt.Errorf("sqlite: installation entries: index %d is missing", from+int64(len(out)))
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// InstallationCheckpoints returns every installation checkpoint, smallest
// first.
func (s *Store) InstallationCheckpoints(ctx context.Context) ([]*hashtrail.SignedCheckpoint, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT size, root, note, created_at FROM installation_checkpoints ORDER BY size`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: installation checkpoints: %w", err)
	}
	defer rows.Close()
	out := []*hashtrail.SignedCheckpoint{}
	for rows.Next() {
		cp, err := scanCheckpoint(rows, "")
		if err != nil {
			return nil, err
		}
		out = append(out, cp)
	}
	return out, rows.Err()
}

// TenantConfigs returns every configuration document of tenant, by kind.
func (s *Store) TenantConfigs(ctx context.Context, tenant string) ([]*hashtrail.TenantConfig, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT kind, version, value, updated_at, updated_by FROM tenant_configs
		WHERE tenant = ? ORDER BY kind`, tenant)
	if err != nil {
		return nil, fmt.Errorf("sqlite: tenant configs: %w", err)
	}
	defer rows.Close()
	out := []*hashtrail.TenantConfig{}
	for rows.Next() {
		c := &hashtrail.TenantConfig{Tenant: tenant}
		var value string
		var at int64
		if err := rows.Scan(&c.Kind, &c.Version, &value, &at, &c.UpdatedBy); err != nil {
			return nil, fmt.Errorf("sqlite: tenant configs: %w", err)
		}
		c.Value, c.UpdatedAt = json.RawMessage(value), hashtrail.TimeFromMicros(at)
		out = append(out, c)
	}
	return out, rows.Err()
}
