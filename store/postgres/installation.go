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
	"github.com/hashtrail/hashtrail/store/internal/storekit"
)

var _ hashtrail.InstallationLogStore = (*Store)(nil)

// AppendInstallation appends entries to the installation log, whose size
// must be from, with their tree hashes, in one transaction that holds the
// installation log's advisory lock (nodes take turns).
func (s *Store) AppendInstallation(ctx context.Context, from int64, entries []*hashtrail.InstallationEntry) error {
	for _, e := range entries {
		if e == nil || e.Size < 0 || len(e.Note) == 0 || e.Tenant == "" {
			return hashtrail.Errorf(hashtrail.EINVALID, "an installation log entry needs a tenant, a size of at least 0 and a note")
		}
	}
	return s.tx(ctx, "append installation", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, s.lockKey("installation-log")); err != nil {
			return err
		}
		var n int64
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(idx) + 1, 0) FROM installation_entries`).Scan(&n); err != nil {
			return err
		}
		if n != from {
			return hashtrail.Errorf(hashtrail.ECONFLICT, "the installation log has %d entries, not %d", n, from)
		}
		fresh := map[int64]merkle.Hash{}
		r := merkle.HashReaderFunc(func(indexes []int64) ([]merkle.Hash, error) {
			var need []int64
			for _, x := range indexes {
				if _, ok := fresh[x]; !ok {
					need = append(need, x)
				}
			}
			if len(need) > 0 {
				rows, err := tx.Query(ctx, `SELECT 0::bigint, idx, hash FROM installation_hashes WHERE idx = ANY($1::bigint[])`, need)
				if err != nil {
					return nil, err
				}
				got, _, err := scanHashes(rows)
				if err != nil {
					return nil, err
				}
				for x, h := range got {
					fresh[x] = h
				}
			}
			return pick(fresh, indexes, "the installation log")
		})
		var idx, hidx []int64
		var tenants []string
		var sizes []int64
		var notes, hashes [][]byte
		for _, e := range entries {
			hs, err := merkle.StoredHashes(n, merkle.LeafHash(e.Note), r)
			if err != nil {
				return err
			}
			base := merkle.StoredHashIndex(0, n)
			for i, h := range hs {
				fresh[base+int64(i)] = h
				hidx, hashes = append(hidx, base+int64(i)), append(hashes, h[:])
			}
			idx, tenants, sizes, notes = append(idx, n), append(tenants, e.Tenant), append(sizes, e.Size), append(notes, e.Note)
			n++
		}
		tag, err := tx.Exec(ctx, `INSERT INTO installation_entries (idx, tenant, size, note)
			SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bytea[]) ON CONFLICT (tenant, size) DO NOTHING`,
			idx, tenants, sizes, notes)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != int64(len(entries)) {
			return hashtrail.Errorf(hashtrail.ECONFLICT, "a checkpoint is in the installation log already")
		}
		_, err = tx.Exec(ctx, `INSERT INTO installation_hashes (idx, hash) SELECT * FROM unnest($1::bigint[], $2::bytea[])`, hidx, hashes)
		return err
	})
}

// InstallationSize returns the number of entries of the installation log.
func (s *Store) InstallationSize(ctx context.Context) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT coalesce(max(idx) + 1, 0) FROM installation_entries`).Scan(&n)
	return n, wrap("installation size", err)
}

// InstallationIndex returns the latest entry of tenant below index end.
func (s *Store) InstallationIndex(ctx context.Context, tenant string, end int64) (int64, *hashtrail.InstallationEntry, error) {
	e := &hashtrail.InstallationEntry{Tenant: tenant}
	var idx int64
	err := s.pool.QueryRow(ctx, `SELECT idx, size, note FROM installation_entries
		WHERE tenant = $1 AND idx < $2 ORDER BY size DESC LIMIT 1`, tenant, end).Scan(&idx, &e.Size, &e.Note)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil, hashtrail.Errorf(hashtrail.ENOTFOUND, "no checkpoint of tenant %q in the installation log below %d", tenant, end)
	}
	if err != nil {
		return 0, nil, wrap("installation index", err)
	}
	return idx, e, nil
}

// HasInstallationEntry reports whether tenant's checkpoint of size is in the
// installation log.
func (s *Store) HasInstallationEntry(ctx context.Context, tenant string, size int64) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM installation_entries WHERE tenant = $1 AND size = $2)`, tenant, size).Scan(&ok)
	return ok, wrap("installation entry", err)
}

// ReadInstallationHashes returns stored hashes of the installation log's
// tree, in the order asked; ENOTFOUND for one not stored.
func (s *Store) ReadInstallationHashes(ctx context.Context, indexes []int64) ([]merkle.Hash, error) {
	want := slices.Compact(slices.Sorted(slices.Values(indexes)))
	rows, err := s.pool.Query(ctx, `SELECT 0::bigint, idx, hash FROM installation_hashes WHERE idx = ANY($1::bigint[])`, want)
	if err != nil {
		return nil, wrap("installation hashes", err)
	}
	got, _, err := scanHashes(rows)
	if err != nil {
		return nil, wrap("installation hashes", err)
	}
	return pick(got, indexes, "the installation log")
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
	return s.tx(ctx, "add installation checkpoint", func(tx pgx.Tx) error {
		var n int64
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(idx) + 1, 0) FROM installation_entries`).Scan(&n); err != nil {
			return err
		}
		if cp.Size > n {
			return hashtrail.Errorf(hashtrail.EINVALID, "a checkpoint of size %d for an installation log of size %d", cp.Size, n)
		}
		var root []byte
		err := tx.QueryRow(ctx, `WITH ins AS (INSERT INTO installation_checkpoints (size, root, note, created_at)
			VALUES ($1, $2, $3, $4) ON CONFLICT (size) DO NOTHING RETURNING root)
			SELECT root FROM ins UNION ALL SELECT root FROM installation_checkpoints WHERE size = $1 LIMIT 1`,
			cp.Size, cp.Root[:], cp.Note, cp.CreatedAt.Time).Scan(&root)
		if errors.Is(err, pgx.ErrNoRows) {
			return errRetry
		} else if err != nil {
			return err
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
	cp := &hashtrail.SignedCheckpoint{}
	var root []byte
	var created time.Time
	err := s.pool.QueryRow(ctx, q).Scan(&cp.Size, &root, &cp.Note, &created)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, hashtrail.Errorf(hashtrail.ENOTFOUND, "the installation log has no checkpoint yet")
	}
	if err != nil {
		return nil, wrap("installation checkpoint", err)
	}
	if cp.Root, err = merkle.HashFromBytes(root); err != nil {
		return nil, wrap("installation checkpoint", err)
	}
	cp.CreatedAt = hashtrail.NewTime(created)
	return cp, nil
}

// AddCosignature keeps a witness's signature line for the installation
// checkpoint of size, replacing an older one of the same key.
func (s *Store) AddCosignature(ctx context.Context, size int64, line string) error {
	key, ok := storekit.CosignatureKey(line)
	if !ok {
		return hashtrail.Errorf(hashtrail.EINVALID, "%.100q is not a signature line", line)
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO installation_cosignatures (size, key, line, created_at)
		SELECT size, $2, $3, $4 FROM installation_checkpoints WHERE size = $1
		ON CONFLICT (size, key) DO UPDATE SET line = excluded.line, created_at = excluded.created_at`,
		size, key, line, hashtrail.NewTime(s.now()).Time)
	if err != nil {
		return wrap("add cosignature", err)
	}
	if tag.RowsAffected() == 0 {
		return hashtrail.Errorf(hashtrail.ENOTFOUND, "no installation checkpoint of size %d", size)
	}
	return nil
}

// Cosignatures returns the cosignature lines of the installation checkpoint
// of size, in key order.
func (s *Store) Cosignatures(ctx context.Context, size int64) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT line FROM installation_cosignatures WHERE size = $1 ORDER BY key`, size)
	if err != nil {
		return nil, wrap("cosignatures", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if out == nil {
		out = []string{}
	}
	return out, wrap("cosignatures", err)
}
