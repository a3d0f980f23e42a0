package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hashtrail/hashtrail"
)

// TenantConfig returns tenant's document of kind, or ENOTFOUND.
func (s *Store) TenantConfig(ctx context.Context, tenant, kind string) (*hashtrail.TenantConfig, error) {
	c := &hashtrail.TenantConfig{Tenant: tenant, Kind: kind}
	var value string
	var at time.Time
	err := s.pool.QueryRow(ctx, `SELECT c.version, c.value, c.updated_at, c.updated_by
		FROM tenants t JOIN tenant_configs c ON c.tenant = t.num WHERE t.id = $1 AND c.kind = $2`, tenant, kind).
		Scan(&c.Version, &value, &at, &c.UpdatedBy)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, hashtrail.Errorf(hashtrail.ENOTFOUND, "tenant %q has no %s configuration", tenant, kind)
	}
	if err != nil {
		return nil, wrap("tenant config", err)
	}
	c.Value, c.UpdatedAt = json.RawMessage(value), hashtrail.NewTime(at)
	return c, nil
}

// PutTenantConfig stores the next version of a tenant's document; see
// hashtrail.TenantConfigStore. The version check and the write are one
// statement, so of two concurrent updates of one version (on any nodes)
// exactly one wins.
func (s *Store) PutTenantConfig(ctx context.Context, c *hashtrail.TenantConfig) error {
	if c.Kind == "" || !json.Valid(c.Value) {
		return hashtrail.Errorf(hashtrail.EINVALID, "tenant config: a kind and a JSON value are required")
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = hashtrail.NewTime(s.now())
	}
	var num int64
	err := s.pool.QueryRow(ctx, `SELECT num FROM tenants WHERE id = $1`, c.Tenant).Scan(&num)
	if errors.Is(err, pgx.ErrNoRows) {
		return hashtrail.Errorf(hashtrail.ENOTFOUND, "tenant %q not found", c.Tenant)
	} else if err != nil {
		return wrap("put tenant config", err)
	}
	var tag interface{ RowsAffected() int64 }
	if c.Version == 0 {
		tag, err = s.pool.Exec(ctx, `INSERT INTO tenant_configs (tenant, kind, version, value, updated_at, updated_by)
			VALUES ($1, $2, 1, $3, $4, $5) ON CONFLICT (tenant, kind) DO NOTHING`,
			num, c.Kind, string(c.Value), c.UpdatedAt.Time, c.UpdatedBy)
	} else {
		tag, err = s.pool.Exec(ctx, `UPDATE tenant_configs SET version = version + 1, value = $4, updated_at = $5, updated_by = $6
			WHERE tenant = $1 AND kind = $2 AND version = $3`,
			num, c.Kind, c.Version, string(c.Value), c.UpdatedAt.Time, c.UpdatedBy)
	}
	if err != nil {
		return wrap("put tenant config", err)
	}
	if tag.RowsAffected() == 0 {
		return hashtrail.Errorf(hashtrail.ECONFLICT, "the %s configuration of tenant %q is not at version %d: read it again and reapply the change",
			c.Kind, c.Tenant, c.Version)
	}
	c.Version++
	return nil
}

// DeleteTenantConfig removes tenant's document of kind.
func (s *Store) DeleteTenantConfig(ctx context.Context, tenant, kind string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM tenant_configs c USING tenants t WHERE c.tenant = t.num AND t.id = $1 AND c.kind = $2`, tenant, kind)
	return wrap("delete tenant config", err)
}
