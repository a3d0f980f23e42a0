package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/merkle"
)

// ReadHashes returns the stored hashes of tenant's tree at the given
// stored-hash indexes, in the same order, read in one snapshot; ENOTFOUND
// for an unknown tenant or a hash that is not stored (an index at or past
// StoredHashCount of the log size). Indexes that are dense (as for a hash
// tile) or few (as for a proof) take one statement; others a read
// transaction.
func (s *Store) ReadHashes(ctx context.Context, tenant string, indexes []int64) ([]merkle.Hash, error) {
	want := slices.Clone(indexes)
	slices.Sort(want)
	want = slices.Compact(want)
	if len(want) == 0 {
		if _, err := s.Tenant(ctx, tenant); err != nil {
			return nil, err
		}
		return []merkle.Hash{}, nil
	}
	got := make(map[int64]merkle.Hash, len(want))
	scan := func(q querier, query string, args ...any) error {
		rows, err := q.QueryContext(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("sqlite: read hashes: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var idx int64
			var b []byte
			if err := rows.Scan(&idx, &b); err != nil {
				return fmt.Errorf("sqlite: read hashes: %w", err)
			}
			h, err := merkle.HashFromBytes(b)
			if err != nil {
				return fmt.Errorf("sqlite: tree hash %d of tenant %q: %w", idx, tenant, err)
			}
			got[idx] = h
		}
		return rows.Err()
	}
	const sel = `SELECT h.idx, h.hash FROM tenants t JOIN tree_hashes h ON h.tenant = t.num WHERE t.id = ? AND `
	var err error
	switch lo, hi := want[0], want[len(want)-1]; {
	case hi-lo < 4*int64(len(want)):
		err = scan(s.r, sel+`h.idx BETWEEN ? AND ?`, tenant, lo, hi)
	case len(want) <= maxChunk:
		err = inChunks(want, func(list string, args []any) error {
			return scan(s.r, sel+`h.idx IN (`+list+`)`, append([]any{tenant}, args...)...)
		})
	default:
		var tx *sql.Tx
		if tx, err = s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true}); err != nil {
			return nil, fmt.Errorf("sqlite: read hashes: %w", err)
		}
		defer tx.Rollback()
		err = inChunks(want, func(list string, args []any) error {
			return scan(tx, sel+`h.idx IN (`+list+`)`, append([]any{tenant}, args...)...)
		})
	}
	if err != nil {
		return nil, err
	}
	out := make([]merkle.Hash, len(indexes))
	for i, x := range indexes {
		h, ok := got[x]
		if !ok {
			return nil, hashtrail.Errorf(hashtrail.ENOTFOUND, "tree hash %d of tenant %q not found", x, tenant)
		}
		out[i] = h
	}
	return out, nil
}

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// AddCheckpoint keeps a published checkpoint, setting cp.CreatedAt if zero.
// Adding the same size again with the same root is a no-op that keeps the
// first note; with another root it is ECONFLICT. ENOTFOUND for an unknown
// tenant; EINVALID for a size below zero or above the log's size, or an
// empty note.
func (s *Store) AddCheckpoint(ctx context.Context, cp *hashtrail.SignedCheckpoint) error {
	if cp.Size < 0 || len(cp.Note) == 0 {
		return hashtrail.Errorf(hashtrail.EINVALID, "a checkpoint needs a size of at least 0 and a note")
	}
	if cp.CreatedAt.IsZero() {
		cp.CreatedAt = hashtrail.NewTime(s.now())
	}
	return s.write(ctx, func(tx *wtx) error {
		row, err := tx.queryRow(`SELECT num, next_seq FROM tenants WHERE id = ?`, cp.Tenant)
		if err != nil {
			return err
		}
		var num, size int64
		if err := row.Scan(&num, &size); errors.Is(err, sql.ErrNoRows) {
			return hashtrail.Errorf(hashtrail.ENOTFOUND, "tenant %q not found", cp.Tenant)
		} else if err != nil {
			return fmt.Errorf("sqlite: add checkpoint: %w", err)
		}
		if cp.Size > size {
			return hashtrail.Errorf(hashtrail.EINVALID, "a checkpoint of size %d for a log of size %d", cp.Size, size)
		}
		res, err := tx.exec(`INSERT INTO checkpoints (tenant, size, root, note, created_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (tenant, size) DO NOTHING`, num, cp.Size, cp.Root[:], cp.Note, cp.CreatedAt.Micros())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		row, err = tx.queryRow(`SELECT root FROM checkpoints WHERE tenant = ? AND size = ?`, num, cp.Size)
		if err != nil {
			return err
		}
		var root []byte
		if err := row.Scan(&root); err != nil {
			return fmt.Errorf("sqlite: add checkpoint: %w", err)
		}
		if !bytes.Equal(root, cp.Root[:]) {
			return hashtrail.Errorf(hashtrail.ECONFLICT, "tenant %q already has a checkpoint of size %d with another root", cp.Tenant, cp.Size)
		}
		return nil
	})
}

// checkpointSelect reads checkpoints of the tenant with id ? (tenants as t,
// checkpoints as c).
const checkpointSelect = `SELECT c.size, c.root, c.note, c.created_at FROM tenants t
	JOIN checkpoints c ON c.tenant = t.num WHERE t.id = ?`

// LatestCheckpoint returns the largest checkpoint of tenant, or ENOTFOUND
// (also for an unknown tenant).
func (s *Store) LatestCheckpoint(ctx context.Context, tenant string) (*hashtrail.SignedCheckpoint, error) {
	cp, err := scanCheckpoint(s.r.QueryRowContext(ctx, checkpointSelect+` ORDER BY c.size DESC LIMIT 1`, tenant), tenant)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, hashtrail.Errorf(hashtrail.ENOTFOUND, "tenant %q has no checkpoint", tenant)
	}
	return cp, err
}

// CheckpointCovering returns the smallest checkpoint of tenant whose size is
// greater than seq, or ENOTFOUND if none covers it yet (or the tenant is
// unknown); EINVALID for a negative seq.
func (s *Store) CheckpointCovering(ctx context.Context, tenant string, seq int64) (*hashtrail.SignedCheckpoint, error) {
	if seq < 0 {
		return nil, hashtrail.Errorf(hashtrail.EINVALID, "seq %d is negative", seq)
	}
	cp, err := scanCheckpoint(s.r.QueryRowContext(ctx, checkpointSelect+` AND c.size > ? ORDER BY c.size LIMIT 1`, tenant, seq), tenant)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, hashtrail.Errorf(hashtrail.ENOTFOUND, "no checkpoint of tenant %q covers seq %d yet", tenant, seq)
	}
	return cp, err
}

// Checkpoints returns every checkpoint of tenant, smallest first (an empty
// list when there is none yet); ENOTFOUND for an unknown tenant.
func (s *Store) Checkpoints(ctx context.Context, tenant string) ([]*hashtrail.SignedCheckpoint, error) {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("sqlite: checkpoints: %w", err)
	}
	defer tx.Rollback()
	if _, err := tenantNum(ctx, tx, tenant); err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, checkpointSelect+` ORDER BY c.size`, tenant)
	if err != nil {
		return nil, fmt.Errorf("sqlite: checkpoints: %w", err)
	}
	defer rows.Close()
	cps := []*hashtrail.SignedCheckpoint{}
	for rows.Next() {
		cp, err := scanCheckpoint(rows, tenant)
		if err != nil {
			return nil, err
		}
		cps = append(cps, cp)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: checkpoints: %w", err)
	}
	return cps, nil
}

func scanCheckpoint(r scanner, tenant string) (*hashtrail.SignedCheckpoint, error) {
	cp := &hashtrail.SignedCheckpoint{Tenant: tenant}
	var root []byte
	var created int64
	if err := r.Scan(&cp.Size, &root, &cp.Note, &created); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		return nil, fmt.Errorf("sqlite: read checkpoint: %w", err)
	}
	var err error
	if cp.Root, err = merkle.HashFromBytes(root); err != nil {
		return nil, fmt.Errorf("sqlite: checkpoint %d of tenant %q: %w", cp.Size, tenant, err)
	}
	cp.CreatedAt = hashtrail.TimeFromMicros(created)
	return cp, nil
}
