package postgres

import (
	"context"
	"time"

	"github.com/hashtrail/hashtrail"
)

// CreateKey adds k, setting k.CreatedAt if zero; ECONFLICT if its id or
// hash exists.
func (s *Store) CreateKey(ctx context.Context, k *hashtrail.APIKey) error {
	if k.CreatedAt.IsZero() {
		k.CreatedAt = hashtrail.NewTime(s.now())
	}
	scope, err := hashtrail.EncodeKeyScope(k.Scope)
	if err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO api_keys (id, tenant, role, name, hint, hash, created_at, created_by,
		expires_at, revoked_at, last_used_at, scope) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING`,
		k.ID, k.Tenant, string(k.Role), k.Name, k.Hint, k.Hash, k.CreatedAt.Time, k.CreatedBy,
		nullTime(k.ExpiresAt), nullTime(k.RevokedAt), nullTime(k.LastUsedAt), scope)
	if err != nil {
		return wrap("create key", err)
	}
	if tag.RowsAffected() == 0 {
		return hashtrail.Errorf(hashtrail.ECONFLICT, "a key with this id or secret already exists")
	}
	return nil
}

const keySelect = `SELECT id, tenant, role, name, hint, hash, created_at, created_by, expires_at, revoked_at,
	last_used_at, scope FROM api_keys`

// KeyByHash returns the key whose secret hashes to hash, or ENOTFOUND.
func (s *Store) KeyByHash(ctx context.Context, hash []byte) (*hashtrail.APIKey, error) {
	return s.oneKey(ctx, keySelect+` WHERE hash = $1`, hash)
}

// Key returns one key by id, or ENOTFOUND.
func (s *Store) Key(ctx context.Context, id string) (*hashtrail.APIKey, error) {
	return s.oneKey(ctx, keySelect+` WHERE id = $1`, id)
}

func (s *Store) oneKey(ctx context.Context, query string, arg any) (*hashtrail.APIKey, error) {
	keys, err := s.keys(ctx, query, arg)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, hashtrail.Errorf(hashtrail.ENOTFOUND, "key not found")
	}
	return keys[0], nil
}

// Keys returns the keys of a tenant (AllTenants for the installation-wide
// ones, "" for every key), oldest first.
func (s *Store) Keys(ctx context.Context, tenant string) ([]*hashtrail.APIKey, error) {
	if tenant == "" {
		return s.keys(ctx, keySelect+` ORDER BY created_at, ord`)
	}
	return s.keys(ctx, keySelect+` WHERE tenant = $1 ORDER BY created_at, ord`, tenant)
}

func (s *Store) keys(ctx context.Context, query string, args ...any) ([]*hashtrail.APIKey, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, wrap("keys", err)
	}
	defer rows.Close()
	keys := []*hashtrail.APIKey{}
	for rows.Next() {
		var k hashtrail.APIKey
		var role string
		var created time.Time
		var expires, revoked, used *time.Time
		var scope *string
		if err := rows.Scan(&k.ID, &k.Tenant, &role, &k.Name, &k.Hint, &k.Hash, &created, &k.CreatedBy,
			&expires, &revoked, &used, &scope); err != nil {
			return nil, wrap("keys", err)
		}
		if scope != nil {
			var err error
			if k.Scope, err = hashtrail.DecodeKeyScope(*scope); err != nil {
				return nil, wrap("keys", err)
			}
		}
		k.Role, k.CreatedAt = hashtrail.Role(role), hashtrail.NewTime(created)
		k.ExpiresAt, k.RevokedAt, k.LastUsedAt = timeOf(expires), timeOf(revoked), timeOf(used)
		keys = append(keys, &k)
	}
	return keys, wrap("keys", rows.Err())
}

// RevokeKey marks a key revoked at at; ENOTFOUND if unknown. Revoking again
// keeps the earliest revocation time.
func (s *Store) RevokeKey(ctx context.Context, id string, at hashtrail.Time) error {
	return s.updateKey(ctx, `UPDATE api_keys SET revoked_at = least(coalesce(revoked_at, $1), $1) WHERE id = $2`, at.Time, id)
}

// TouchKey records that the key was used at at (never moving the time
// back); ENOTFOUND if unknown.
func (s *Store) TouchKey(ctx context.Context, id string, at hashtrail.Time) error {
	return s.updateKey(ctx, `UPDATE api_keys SET last_used_at = greatest(last_used_at, $1) WHERE id = $2`, at.Time, id)
}

func (s *Store) updateKey(ctx context.Context, query string, args ...any) error {
	tag, err := s.pool.Exec(ctx, query, args...)
	if err != nil {
		return wrap("update key", err)
	}
	if tag.RowsAffected() == 0 {
		return hashtrail.Errorf(hashtrail.ENOTFOUND, "key not found")
	}
	return nil
}

// nullTime returns t, or nil for the zero Time.
func nullTime(t hashtrail.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Time
}

// timeOf reads a nullable time column.
func timeOf(t *time.Time) hashtrail.Time {
	if t == nil {
		return hashtrail.Time{}
	}
	return hashtrail.NewTime(*t)
}
