package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hashtrail/hashtrail"
)

// TenantConfig returns tenant's document of kind, or ENOTFOUND.
func (s *Store) TenantConfig(ctx context.Context, tenant, kind string) (*hashtrail.TenantConfig, error) {
	c := &hashtrail.TenantConfig{Tenant: tenant, Kind: kind}
	var value string
	var at int64
	err := s.r.QueryRowContext(ctx, `SELECT version, value, updated_at, updated_by FROM tenant_configs
		WHERE tenant = ? AND kind = ?`, tenant, kind).Scan(&c.Version, &value, &at, &c.UpdatedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, hashtrail.Errorf(hashtrail.ENOTFOUND, "tenant %q has no %s configuration", tenant, kind)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: tenant config: %w", err)
	}
	c.Value = json.RawMessage(value)
	c.UpdatedAt = hashtrail.TimeFromMicros(at)
	return c, nil
}

// PutTenantConfig stores the next version of a tenant's document; see
// hashtrail.TenantConfigStore.
func (s *Store) PutTenantConfig(ctx context.Context, c *hashtrail.TenantConfig) error {
	if c.Kind == "" || !json.Valid(c.Value) {
		return hashtrail.Errorf(hashtrail.EINVALID, "tenant config: a kind and a JSON value are required")
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = hashtrail.NewTime(s.now())
	}
	return s.write(ctx, func(tx *wtx) error {
		row, err := tx.queryRow(`SELECT
			(SELECT count(*) FROM tenants WHERE id = ?),
			coalesce((SELECT version FROM tenant_configs WHERE tenant = ? AND kind = ?), 0)`, c.Tenant, c.Tenant, c.Kind)
		if err != nil {
			return err
		}
		var exists, version int64
		if err := row.Scan(&exists, &version); err != nil {
			return fmt.Errorf("sqlite: put tenant config: %w", err)
		}
		if exists == 0 {
			return hashtrail.Errorf(hashtrail.ENOTFOUND, "tenant %q not found", c.Tenant)
		}
		if version != c.Version {
			return hashtrail.Errorf(hashtrail.ECONFLICT, "the %s configuration of tenant %q is at version %d, not %d: read it again and reapply the change",
				c.Kind, c.Tenant, version, c.Version)
		}
		if _, err := tx.exec(`INSERT INTO tenant_configs (tenant, kind, version, value, updated_at, updated_by)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (tenant, kind) DO UPDATE SET version = excluded.version, value = excluded.value,
				updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
			c.Tenant, c.Kind, version+1, string(c.Value), c.UpdatedAt.Micros(), c.UpdatedBy); err != nil {
			return err
		}
		c.Version = version + 1
		return nil
	})
}

// DeleteTenantConfig removes tenant's document of kind.
func (s *Store) DeleteTenantConfig(ctx context.Context, tenant, kind string) error {
	return s.write(ctx, func(tx *wtx) error {
		_, err := tx.exec(`DELETE FROM tenant_configs WHERE tenant = ? AND kind = ?`, tenant, kind)
		return err
	})
}
