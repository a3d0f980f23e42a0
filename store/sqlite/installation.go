package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/merkle"
	"github.com/hashtrail/hashtrail/store/internal/storekit"
)

var _ hashtrail.InstallationLogStore = (*Store)(nil)

// AppendInstallation appends entries to the installation log, whose size
// must be from, with their tree hashes, in one transaction.
func (s *Store) AppendInstallation(ctx context.Context, from int64, entries []*hashtrail.InstallationEntry) error {
	for _, e := range entries {
		if e == nil || e.Size < 0 || len(e.Note) == 0 || e.Tenant == "" {
			return hashtrail.Errorf(hashtrail.EINVALID, "an installation log entry needs a tenant, a size of at least 0 and a note")
		}
	}
	return s.write(ctx, func(tx *wtx) error {
		n, err := installationSize(tx)
		if err != nil {
			return err
		}
		if n != from {
			return hashtrail.Errorf(hashtrail.ECONFLICT, "the installation log has %d entries, not %d", n, from)
		}
		fresh := map[int64]merkle.Hash{}
		r := merkle.HashReaderFunc(func(indexes []int64) ([]merkle.Hash, error) {
			out := make([]merkle.Hash, len(indexes))
			for i, x := range indexes {
				if h, ok := fresh[x]; ok {
					out[i] = h
					continue
				}
				row, err := tx.queryRow(`SELECT hash FROM installation_hashes WHERE idx = ?`, x)
				if err != nil {
					return nil, err
				}
				var b []byte
				if err := row.Scan(&b); err != nil {
					return nil, fmt.Errorf("sqlite: installation tree hash %d: %w", x, err)
				}
				if out[i], err = merkle.HashFromBytes(b); err != nil {
					return nil, err
				}
			}
			return out, nil
		})
		for _, e := range entries {
			res, err := tx.exec(`INSERT INTO installation_entries (idx, tenant, size, note) VALUES (?, ?, ?, ?)
				ON CONFLICT (tenant, size) DO NOTHING`, n, e.Tenant, e.Size, e.Note)
			if err != nil {
				return err
			}
			if k, _ := res.RowsAffected(); k != 1 {
				return hashtrail.Errorf(hashtrail.ECONFLICT, "the checkpoint of size %d of tenant %q is in the installation log already", e.Size, e.Tenant)
			}
			hs, err := merkle.StoredHashes(n, merkle.LeafHash(e.Note), r)
			if err != nil {
				return fmt.Errorf("sqlite: installation tree: %w", err)
			}
			base := merkle.StoredHashIndex(0, n)
			for i, h := range hs {
				fresh[base+int64(i)] = h
				if _, err := tx.exec(`INSERT INTO installation_hashes (idx, hash) VALUES (?, ?)`, base+int64(i), h[:]); err != nil {
					return err
				}
			}
			n++
		}
		return nil
	})
}

func installationSize(tx *wtx) (int64, error) {
	row, err := tx.queryRow(`SELECT COALESCE(MAX(idx) + 1, 0) FROM installation_entries`)
	if err != nil {
		return 0, err
	}
	var n int64
	if err := row.Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: installation size: %w", err)
	}
	return n, nil
}

// InstallationSize returns the number of entries of the installation log.
func (s *Store) InstallationSize(ctx context.Context) (int64, error) {
	var n int64
	if err := s.r.QueryRowContext(ctx, `SELECT COALESCE(MAX(idx) + 1, 0) FROM installation_entries`).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: installation size: %w", err)
	}
	return n, nil
}

// InstallationIndex returns the latest entry of tenant below index end.
func (s *Store) InstallationIndex(ctx context.Context, tenant string, end int64) (int64, *hashtrail.InstallationEntry, error) {
	e := &hashtrail.InstallationEntry{Tenant: tenant}
	var idx int64
	err := s.r.QueryRowContext(ctx, `SELECT idx, size, note FROM installation_entries
		WHERE tenant = ? AND idx < ? ORDER BY size DESC LIMIT 1`, tenant, end).Scan(&idx, &e.Size, &e.Note)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, hashtrail.Errorf(hashtrail.ENOTFOUND, "no checkpoint of tenant %q in the installation log below %d", tenant, end)
	}
	if err != nil {
		return 0, nil, fmt.Errorf("sqlite: installation index: %w", err)
	}
	return idx, e, nil
}

// HasInstallationEntry reports whether tenant's checkpoint of size is in the
// installation log.
func (s *Store) HasInstallationEntry(ctx context.Context, tenant string, size int64) (bool, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM installation_entries WHERE tenant = ? AND size = ?`, tenant, size).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("sqlite: installation entry: %w", err)
	}
	return n > 0, nil
}

// ReadInstallationHashes returns stored hashes of the installation log's
// tree, in the order asked; ENOTFOUND for one not stored.
func (s *Store) ReadInstallationHashes(ctx context.Context, indexes []int64) ([]merkle.Hash, error) {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("sqlite: installation hashes: %w", err)
	}
	defer tx.Rollback()
	out := make([]merkle.Hash, len(indexes))
	for i, x := range indexes {
		var b []byte
		err := tx.QueryRowContext(ctx, `SELECT hash FROM installation_hashes WHERE idx = ?`, x).Scan(&b)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, hashtrail.Errorf(hashtrail.ENOTFOUND, "installation tree hash %d not found", x)
		}
		if err != nil {
			return nil, fmt.Errorf("sqlite: installation hashes: %w", err)
		}
		if out[i], err = merkle.HashFromBytes(b); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// AddInstallationCheckpoint keeps a checkpoint of the installation log;
// the same size again is a no-op with the same root and ECONFLICT with
// another.
func (s *Store) AddInstallationCheckpoint(ctx context.Context, cp *hashtrail.SignedCheckpoint) error {
	if cp.Size < 0 || len(cp.Note) == 0 {
		return hashtrail.Errorf(hashtrail.EINVALID, "a checkpoint needs a size of at least 0 and a note")
	}
	if cp.CreatedAt.IsZero() {
		cp.CreatedAt = hashtrail.NewTime(s.now())
	}
	return s.write(ctx, func(tx *wtx) error {
		n, err := installationSize(tx)
		if err != nil {
			return err
		}
		if cp.Size > n {
			return hashtrail.Errorf(hashtrail.EINVALID, "a checkpoint of size %d for an installation log of size %d", cp.Size, n)
		}
		if _, err := tx.exec(`INSERT INTO installation_checkpoints (size, root, note, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (size) DO NOTHING`, cp.Size, cp.Root[:], cp.Note, cp.CreatedAt.Micros()); err != nil {
			return err
		}
		row, err := tx.queryRow(`SELECT root FROM installation_checkpoints WHERE size = ?`, cp.Size)
		if err != nil {
			return err
		}
		var root []byte
		if err := row.Scan(&root); err != nil {
			return fmt.Errorf("sqlite: add installation checkpoint: %w", err)
		}
		if !bytes.Equal(root, cp.Root[:]) {
			return hashtrail.Errorf(hashtrail.ECONFLICT, "the installation log already has a checkpoint of size %d with another root", cp.Size)
		}
		return nil
	})
}

// LatestInstallationCheckpoint returns the largest installation checkpoint
// (with cosigned, the largest with a cosignature), or ENOTFOUND.
func (s *Store) LatestInstallationCheckpoint(ctx context.Context, cosigned bool) (*hashtrail.SignedCheckpoint, error) {
	q := `SELECT size, root, note, created_at FROM installation_checkpoints ORDER BY size DESC LIMIT 1`
	if cosigned {
		q = `SELECT c.size, c.root, c.note, c.created_at FROM installation_checkpoints c
			WHERE EXISTS (SELECT 1 FROM installation_cosignatures w WHERE w.size = c.size) ORDER BY c.size DESC LIMIT 1`
	}
	cp, err := scanCheckpoint(s.r.QueryRowContext(ctx, q), "")
	if errors.Is(err, sql.ErrNoRows) {
		return nil, hashtrail.Errorf(hashtrail.ENOTFOUND, "the installation log has no checkpoint yet")
	}
	return cp, err
}

// AddCosignature keeps a witness's signature line for the installation
// checkpoint of size, replacing an older one of the same key.
func (s *Store) AddCosignature(ctx context.Context, size int64, line string) error {
	key, ok := storekit.CosignatureKey(line)
	if !ok {
		return hashtrail.Errorf(hashtrail.EINVALID, "%.100q is not a signature line", line)
	}
	return s.write(ctx, func(tx *wtx) error {
		row, err := tx.queryRow(`SELECT COUNT(*) FROM installation_checkpoints WHERE size = ?`, size)
		if err != nil {
			return err
		}
		var n int
		if err := row.Scan(&n); err != nil {
			return fmt.Errorf("sqlite: add cosignature: %w", err)
		}
		if n == 0 {
			return hashtrail.Errorf(hashtrail.ENOTFOUND, "no installation checkpoint of size %d", size)
		}
		_, err = tx.exec(`INSERT INTO installation_cosignatures (size, key, line, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (size, key) DO UPDATE SET line = excluded.line, created_at = excluded.created_at`,
			size, key, line, hashtrail.NewTime(s.now()).Micros())
		return err
	})
}

// Cosignatures returns the cosignature lines of the installation checkpoint
// of size, in key order.
func (s *Store) Cosignatures(ctx context.Context, size int64) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT line FROM installation_cosignatures WHERE size = ? ORDER BY key`, size)
	if err != nil {
		return nil, fmt.Errorf("sqlite: cosignatures: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			return nil, fmt.Errorf("sqlite: cosignatures: %w", err)
		}
		out = append(out, l)
	}
	return out, rows.Err()
}
