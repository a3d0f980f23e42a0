package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/hashtrail/hashtrail"
)

// CreateKey adds k, setting k.CreatedAt if zero; ECONFLICT if its id or
// hash exists.
func (s *Store) CreateKey(ctx context.Context, k *hashtrail.APIKey) error {
	if k.CreatedAt.IsZero() {
		k.CreatedAt = hashtrail.NewTime(s.now())
	}
	return s.write(ctx, func(tx *wtx) error {
		scope, err := hashtrail.EncodeKeyScope(k.Scope)
		if err != nil {
			return err
		}
		res, err := tx.exec(`INSERT INTO api_keys (id, tenant, role, name, hint, hash, created_at, created_by,
			expires_at, revoked_at, last_used_at, scope) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			k.ID, k.Tenant, string(k.Role), k.Name, k.Hint, k.Hash, k.CreatedAt.Micros(), k.CreatedBy,
			nullTime(k.ExpiresAt), nullTime(k.RevokedAt), nullTime(k.LastUsedAt), scope)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return hashtrail.Errorf(hashtrail.ECONFLICT, "a key with this id or secret already exists")
		}
		return nil
	})
}

const keySelect = `SELECT id, tenant, role, name, hint, hash, created_at, created_by, expires_at, revoked_at,
	last_used_at, scope FROM api_keys`

// KeyByHash returns the key whose secret hashes to hash, or ENOTFOUND.
func (s *Store) KeyByHash(ctx context.Context, hash []byte) (*hashtrail.APIKey, error) {
	return s.oneKey(ctx, keySelect+` WHERE hash = ?`, hash)
}

// Key returns one key by id, or ENOTFOUND.
func (s *Store) Key(ctx context.Context, id string) (*hashtrail.APIKey, error) {
	return s.oneKey(ctx, keySelect+` WHERE id = ?`, id)
}

func (s *Store) oneKey(ctx context.Context, query string, arg any) (*hashtrail.APIKey, error) {
	k, err := scanKey(s.r.QueryRowContext(ctx, query, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, hashtrail.Errorf(hashtrail.ENOTFOUND, "key not found")
	}
	return k, err
}

// Keys returns the keys of a tenant (AllTenants for the installation-wide
// ones, "" for every key), oldest first.
func (s *Store) Keys(ctx context.Context, tenant string) ([]*hashtrail.APIKey, error) {
	query, args := keySelect+` ORDER BY created_at, rowid`, []any(nil)
	if tenant != "" {
		query, args = keySelect+` WHERE tenant = ? ORDER BY created_at, rowid`, []any{tenant}
	}
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: keys: %w", err)
	}
	defer rows.Close()
	keys := []*hashtrail.APIKey{}
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: keys: %w", err)
	}
	return keys, nil
}

func scanKey(r scanner) (*hashtrail.APIKey, error) {
	var k hashtrail.APIKey
	var role string
	var created int64
	var expires, revoked, used sql.NullInt64
	var scope sql.NullString
	if err := r.Scan(&k.ID, &k.Tenant, &role, &k.Name, &k.Hint, &k.Hash, &created, &k.CreatedBy,
		&expires, &revoked, &used, &scope); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		return nil, fmt.Errorf("sqlite: read key: %w", err)
	}
	k.Role, k.CreatedAt = hashtrail.Role(role), hashtrail.TimeFromMicros(created)
	k.ExpiresAt, k.RevokedAt, k.LastUsedAt = timeOf(expires), timeOf(revoked), timeOf(used)
	var err error
	if k.Scope, err = hashtrail.DecodeKeyScope(scope.String); err != nil {
		return nil, fmt.Errorf("sqlite: read key: %w", err)
	}
	return &k, nil
}

// RevokeKey marks a key revoked at at; ENOTFOUND if unknown. Revoking again
// keeps the earliest revocation time (so revoking now a key whose rotation
// set a revocation in the future takes effect now).
func (s *Store) RevokeKey(ctx context.Context, id string, at hashtrail.Time) error {
	return s.updateKey(ctx, `UPDATE api_keys SET revoked_at = min(coalesce(revoked_at, ?), ?) WHERE id = ?`, at.Micros(), at.Micros(), id)
}

// TouchKey records that the key was used at at (never moving the time
// back); ENOTFOUND if unknown.
func (s *Store) TouchKey(ctx context.Context, id string, at hashtrail.Time) error {
	return s.updateKey(ctx, `UPDATE api_keys SET last_used_at = max(coalesce(last_used_at, ?), ?) WHERE id = ?`,
		at.Micros(), at.Micros(), id)
}

func (s *Store) updateKey(ctx context.Context, query string, args ...any) error {
	return s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec(query, args...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return hashtrail.Errorf(hashtrail.ENOTFOUND, "key not found")
		}
		return nil
	})
}
