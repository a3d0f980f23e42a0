package postgres

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/merkle"
)

// ReadHashes returns the stored hashes of tenant's tree at the given
// stored-hash indexes, in the same order, read by one statement (one
// snapshot); ENOTFOUND for an unknown tenant or a hash that is not stored.
func (s *Store) ReadHashes(ctx context.Context, tenant string, indexes []int64) ([]merkle.Hash, error) {
	want := slices.Clone(indexes)
	slices.Sort(want)
	want = slices.Compact(want)
	rows, err := s.pool.Query(ctx, `SELECT t.num, h.idx, h.hash FROM tenants t
		LEFT JOIN tree_hashes h ON h.tenant = t.num AND h.idx = ANY($2::bigint[]) WHERE t.id = $1`, tenant, want)
	if err != nil {
		return nil, wrap("read hashes", err)
	}
	got, found, err := scanHashes(rows)
	if err != nil {
		return nil, wrap("read hashes", err)
	}
	if !found {
		return nil, hashtrail.Errorf(hashtrail.ENOTFOUND, "tenant %q not found", tenant)
	}
	return pick(got, indexes, "tenant "+tenant)
}

// scanHashes reads (num, idx, hash) rows whose idx and hash may be NULL
// (an outer join), and reports whether there was any row.
func scanHashes(rows pgx.Rows) (map[int64]merkle.Hash, bool, error) {
	defer rows.Close()
	got := map[int64]merkle.Hash{}
	found := false
	for rows.Next() {
		var num int64
		var idx *int64
		var b []byte
		if err := rows.Scan(&num, &idx, &b); err != nil {
			return nil, false, err
		}
		found = true
		if idx == nil {
			continue
		}
		h, err := merkle.HashFromBytes(b)
		if err != nil {
			return nil, false, err
		}
		got[*idx] = h
	}
	return got, found, rows.Err()
}

// pick returns the hashes of indexes, in order, or ENOTFOUND naming what.
func pick(got map[int64]merkle.Hash, indexes []int64, what string) ([]merkle.Hash, error) {
	out := make([]merkle.Hash, len(indexes))
	for i, x := range indexes {
		h, ok := got[x]
		if !ok {
			return nil, hashtrail.Errorf(hashtrail.ENOTFOUND, "tree hash %d of %s not found", x, what)
		}
		out[i] = h
	}
	return out, nil
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
	return s.tx(ctx, "add checkpoint", func(tx pgx.Tx) error {
		var num, size int64
		err := tx.QueryRow(ctx, `SELECT num, next_seq FROM tenants WHERE id = $1`, cp.Tenant).Scan(&num, &size)
		if errors.Is(err, pgx.ErrNoRows) {
			return hashtrail.Errorf(hashtrail.ENOTFOUND, "tenant %q not found", cp.Tenant)
		} else if err != nil {
			return err
		}
		if cp.Size > size {
			return hashtrail.Errorf(hashtrail.EINVALID, "a checkpoint of size %d for a log of size %d", cp.Size, size)
		}
		var root []byte
		err = tx.QueryRow(ctx, `WITH ins AS (INSERT INTO checkpoints (tenant, size, root, note, created_at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant, size) DO NOTHING RETURNING root)
			SELECT root FROM ins UNION ALL SELECT root FROM checkpoints WHERE tenant = $1 AND size = $2 LIMIT 1`,
			num, cp.Size, cp.Root[:], cp.Note, cp.CreatedAt.Time).Scan(&root)
		if errors.Is(err, pgx.ErrNoRows) {
			return errRetry // another node's insert committed after this statement's snapshot
		} else if err != nil {
			return err
		}
		if !bytes.Equal(root, cp.Root[:]) {
			return hashtrail.Errorf(hashtrail.ECONFLICT, "tenant %q already has a checkpoint of size %d with another root", cp.Tenant, cp.Size)
		}
		return nil
	})
}

// checkpointSelect reads checkpoints of the tenant with id $1 (tenants as
// t, checkpoints as c).
const checkpointSelect = `SELECT c.size, c.root, c.note, c.created_at FROM tenants t
	JOIN checkpoints c ON c.tenant = t.num WHERE t.id = $1`

// LatestCheckpoint returns the largest checkpoint of tenant, or ENOTFOUND
// (also for an unknown tenant).
func (s *Store) LatestCheckpoint(ctx context.Context, tenant string) (*hashtrail.SignedCheckpoint, error) {
	cps, err := s.checkpoints(ctx, tenant, checkpointSelect+` ORDER BY c.size DESC LIMIT 1`, tenant)
	if err != nil {
		return nil, err
	}
	if len(cps) == 0 {
		return nil, hashtrail.Errorf(hashtrail.ENOTFOUND, "tenant %q has no checkpoint", tenant)
	}
	return cps[0], nil
}

// CheckpointCovering returns the smallest checkpoint of tenant whose size is
// greater than seq, or ENOTFOUND if none covers it yet (or the tenant is
// unknown); EINVALID for a negative seq.
func (s *Store) CheckpointCovering(ctx context.Context, tenant string, seq int64) (*hashtrail.SignedCheckpoint, error) {
	if seq < 0 {
		return nil, hashtrail.Errorf(hashtrail.EINVALID, "seq %d is negative", seq)
	}
	cps, err := s.checkpoints(ctx, tenant, checkpointSelect+` AND c.size > $2 ORDER BY c.size LIMIT 1`, tenant, seq)
	if err != nil {
		return nil, err
	}
	if len(cps) == 0 {
		return nil, hashtrail.Errorf(hashtrail.ENOTFOUND, "no checkpoint of tenant %q covers seq %d yet", tenant, seq)
	}
	return cps[0], nil
}

// Checkpoints returns every checkpoint of tenant, smallest first (an empty
// list when there is none yet); ENOTFOUND for an unknown tenant.
func (s *Store) Checkpoints(ctx context.Context, tenant string) ([]*hashtrail.SignedCheckpoint, error) {
	cps, err := s.checkpoints(ctx, tenant, `SELECT c.size, c.root, c.note, c.created_at FROM tenants t
		LEFT JOIN checkpoints c ON c.tenant = t.num WHERE t.id = $1 ORDER BY c.size`, tenant)
	if err != nil {
		return nil, err
	}
	if cps == nil {
		return nil, hashtrail.Errorf(hashtrail.ENOTFOUND, "tenant %q not found", tenant)
	}
	return cps, nil
}

// checkpoints runs a checkpoint query; a row of NULLs (an outer join of a
// tenant without checkpoints) makes the list empty, not nil, and no row at
// all nil.
func (s *Store) checkpoints(ctx context.Context, tenant, query string, args ...any) ([]*hashtrail.SignedCheckpoint, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, wrap("checkpoints", err)
	}
	defer rows.Close()
	var cps []*hashtrail.SignedCheckpoint
	for rows.Next() {
		if cps == nil {
			cps = []*hashtrail.SignedCheckpoint{}
		}
		var size *int64
		var root, note []byte
		var created *time.Time
		if err := rows.Scan(&size, &root, &note, &created); err != nil {
			return nil, wrap("checkpoints", err)
		}
		if size == nil {
			continue
		}
		cp := &hashtrail.SignedCheckpoint{Tenant: tenant, Size: *size, Note: note, CreatedAt: hashtrail.NewTime(*created)}
		if cp.Root, err = merkle.HashFromBytes(root); err != nil {
			return nil, wrap("checkpoints", err)
		}
		cps = append(cps, cp)
	}
	return cps, wrap("checkpoints", rows.Err())
}
