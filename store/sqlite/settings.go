package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/hashtrail/hashtrail"
)

// Setting returns a setting's value, or ENOTFOUND.
func (s *Store) Setting(ctx context.Context, name string) (string, error) {
	var v string
	err := s.r.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = ?`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", hashtrail.Errorf(hashtrail.ENOTFOUND, "setting %q not found", name)
	}
	if err != nil {
		return "", fmt.Errorf("sqlite: setting: %w", err)
	}
	return v, nil
}

// InitSetting stores value under name unless a value exists, and returns
// the value in force: the first writer wins, forever.
func (s *Store) InitSetting(ctx context.Context, name, value string) (string, error) {
	var v string
	err := s.write(ctx, func(tx *wtx) error {
		if _, err := tx.exec(`INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, name, value); err != nil {
			return err
		}
		row, err := tx.queryRow(`SELECT value FROM settings WHERE name = ?`, name)
		if err != nil {
			return err
		}
		if err := row.Scan(&v); err != nil {
			return fmt.Errorf("sqlite: init setting: %w", err)
		}
		return nil
	})
	return v, err
}

// SetSetting stores value under name, replacing any value.
func (s *Store) SetSetting(ctx context.Context, name, value string) error {
	return s.write(ctx, func(tx *wtx) error {
		_, err := tx.exec(`INSERT INTO settings (name, value) VALUES (?, ?)
			ON CONFLICT (name) DO UPDATE SET value = excluded.value`, name, value)
		return err
	})
}
