package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/hashtrail/hashtrail"
)

// Setting returns a setting's value, or ENOTFOUND.
func (s *Store) Setting(ctx context.Context, name string) (string, error) {
	var v string
	err := s.pool.QueryRow(ctx, `SELECT value FROM settings WHERE name = $1`, name).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", hashtrail.Errorf(hashtrail.ENOTFOUND, "setting %q not found", name)
	}
	return v, wrap("setting", err)
}

// InitSetting stores value under name unless a value exists, and returns
// the value in force: the first writer wins, forever, on every node. The
// no-op update makes the statement return the row that won either way.
func (s *Store) InitSetting(ctx context.Context, name, value string) (string, error) {
	var v string
	err := s.pool.QueryRow(ctx, `INSERT INTO settings (name, value) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET value = settings.value RETURNING value`, name, value).Scan(&v)
	return v, wrap("init setting", err)
}

// SetSetting stores value under name, replacing any value.
func (s *Store) SetSetting(ctx context.Context, name, value string) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO settings (name, value) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value`, name, value)
	return wrap("set setting", err)
}
