package postgres

import (
	"context"
	"errors"
	"math"

	"github.com/jackc/pgx/v5"

	"github.com/hashtrail/hashtrail"
)

var _ hashtrail.TenantEraser = (*Store)(nil)

// deleteRowsChunk is the most rows of one table (other than events) one
// deletion transaction deletes.
const deleteRowsChunk = 5000

// BeginTenantDeletion moves tenant id, whose log must hold size events, to
// hashtrail.TenantDeleting; see hashtrail.TenantEraser. It locks the log
// head as Append does, so no append lands between the check and the
// change.
func (s *Store) BeginTenantDeletion(ctx context.Context, id string, size int64) error {
	return s.tx(ctx, "begin tenant deletion", func(tx pgx.Tx) error {
		var next int64
		var state string
		err := tx.QueryRow(ctx, `SELECT next_seq, state FROM tenants WHERE id = $1 FOR UPDATE`, id).Scan(&next, &state)
		if errors.Is(err, pgx.ErrNoRows) || err == nil && state == hashtrail.TenantDeleted {
			return hashtrail.Errorf(hashtrail.ENOTFOUND, "tenant %q not found", id)
		} else if err != nil {
			return err
		}
		if next != size {
			return hashtrail.Errorf(hashtrail.ECONFLICT, "tenant %q has %d events, not %d: take a final export of all %d, then confirm size=%d", id, next, size, next, next)
		}
		if state == hashtrail.TenantDeleting {
			return nil
		}
		_, err = tx.Exec(ctx, `UPDATE tenants SET state = $2 WHERE id = $1`, id, hashtrail.TenantDeleting)
		return err
	})
}

// DeletingTenants returns the ids of the tenants being deleted.
func (s *Store) DeletingTenants(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT id FROM tenants WHERE state = $1 ORDER BY id`, hashtrail.TenantDeleting)
	if err != nil {
		return nil, wrap("deleting tenants", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, wrap("deleting tenants", err)
}

// DeleteTenantData deletes the rows of up to limit events of tenant id
// (being deleted), purgeChunk events a transaction, and once none are left
// the rest of the tenant's rows; see hashtrail.TenantEraser. Kept: the
// tenants row (id, created_at, next_seq and edge; name cleared),
// tree_hashes, checkpoints and installation_entries. Deleted rows are dead
// tuples until VACUUM reclaims them (autovacuum, or VACUUM FULL to
// rewrite the table files; docs/security.md).
func (s *Store) DeleteTenantData(ctx context.Context, id string, limit int) (int64, bool, error) {
	var num int64
	var state string
	err := s.pool.QueryRow(ctx, `SELECT num, state FROM tenants WHERE id = $1`, id).Scan(&num, &state)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return 0, false, hashtrail.Errorf(hashtrail.ENOTFOUND, "tenant %q not found", id)
	case err != nil:
		return 0, false, wrap("delete tenant", err)
	case state == hashtrail.TenantDeleted:
		return 0, true, nil
	case state != hashtrail.TenantDeleting:
		return 0, false, hashtrail.Errorf(hashtrail.ECONFLICT, "tenant %q is not being deleted", id)
	}
	var total int64
	for total < int64(limit) {
		var n, found int64
		err := s.tx(ctx, "delete tenant", func(tx pgx.Tx) error {
			// At most limit - total events: up to the seq of that one.
			hi := int64(math.MaxInt64)
			if left := int64(limit) - total; left < purgeChunk {
				err := tx.QueryRow(ctx, `SELECT seq FROM events WHERE tenant = $1 ORDER BY seq OFFSET $2 LIMIT 1`, num, left-1).Scan(&hi)
				if err != nil && !errors.Is(err, pgx.ErrNoRows) {
					return err
				}
				if err != nil {
					hi = math.MaxInt64
				}
			}
			var err error
			n, found, _, err = purgeRows(ctx, tx, num, 0, hi, nil)
			if hi != math.MaxInt64 && found < purgeChunk {
				found = purgeChunk // more may follow the limit
			}
			return err
		})
		if err != nil {
			return total, false, err
		}
		total += n
		if found < purgeChunk {
			break
		}
	}
	if total >= int64(limit) {
		var more bool
		if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM events WHERE tenant = $1)`, num).Scan(&more); err != nil {
			return total, false, wrap("delete tenant", err)
		}
		if more {
			return total, false, nil
		}
	}
	// No events left: the tenant's other rows, in bounded chunks.
	for _, q := range []string{
		`DELETE FROM event_pii WHERE ctid = ANY (ARRAY(SELECT ctid FROM event_pii WHERE tenant = $1 LIMIT $2))`,
		`DELETE FROM event_targets WHERE ctid = ANY (ARRAY(SELECT ctid FROM event_targets WHERE tenant = $1 LIMIT $2))`,
		`DELETE FROM event_tags WHERE ctid = ANY (ARRAY(SELECT ctid FROM event_tags WHERE tenant = $1 LIMIT $2))`,
		`DELETE FROM event_ids WHERE ctid = ANY (ARRAY(SELECT ctid FROM event_ids WHERE tenant = $1 LIMIT $2))`,
		`DELETE FROM event_counts WHERE ctid = ANY (ARRAY(SELECT ctid FROM event_counts WHERE tenant = $1 LIMIT $2))`,
		`DELETE FROM event_months WHERE ctid = ANY (ARRAY(SELECT ctid FROM event_months WHERE tenant = $1 LIMIT $2))`,
	} {
		for {
			tag, err := s.pool.Exec(ctx, q, num, deleteRowsChunk)
			if err != nil {
				return total, false, wrap("delete tenant", err)
			}
			if tag.RowsAffected() < deleteRowsChunk {
				break
			}
		}
	}
	s.forgetMonths()
	err = s.tx(ctx, "delete tenant", func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(`DELETE FROM api_keys WHERE tenant = $1`, id)
		b.Queue(`DELETE FROM tenant_configs WHERE tenant = $1`, num)
		b.Queue(`DELETE FROM sink_cursors WHERE tenant = $1 OR sink IN (SELECT id FROM sinks WHERE tenant = $1)`, id)
		b.Queue(`DELETE FROM sinks WHERE tenant = $1`, id)
		// Per-tenant jobs name their leases and settings "<job>/<tenant>".
		b.Queue(`DELETE FROM leases WHERE right(name, length($1) + 1) = '/' || $1`, id)
		b.Queue(`DELETE FROM settings WHERE right(name, length($1) + 1) = '/' || $1`, id)
		b.Queue(`UPDATE tenants SET state = $2, name = '', storage_bytes = 0 WHERE num = $1`, num, hashtrail.TenantDeleted)
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return total, false, wrap("delete tenant", err)
	}
	return total, true, nil
}
