package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/hashtrail/hashtrail"
)

var _ hashtrail.TenantEraser = (*Store)(nil)

// deleteChunk is the most events one deletion transaction deletes: the
// full-text index's secure delete costs about 0.4 ms an event, and
// appends wait for the writer meanwhile: 16 keeps their p99 near 30 ms
// during a deletion (docs/benchmarks.md) for 15% less deletion speed than 64.
const deleteChunk = 16

// deleteRowsChunk is the most rows of one table (other than events) one
// deletion transaction deletes.
const deleteRowsChunk = 2000

// BeginTenantDeletion moves tenant id, whose log must hold size events, to
// hashtrail.TenantDeleting; see hashtrail.TenantEraser. Appends take the
// same writer lock, so none lands between the size check and the change.
func (s *Store) BeginTenantDeletion(ctx context.Context, id string, size int64) error {
	return s.write(ctx, func(tx *wtx) error {
		row, err := tx.queryRow(`SELECT next_seq, state FROM tenants WHERE id = ?`, id)
		if err != nil {
			return err
		}
		var next int64
		var state string
		if err := row.Scan(&next, &state); errors.Is(err, sql.ErrNoRows) || state == hashtrail.TenantDeleted {
			return hashtrail.Errorf(hashtrail.ENOTFOUND, "tenant %q not found", id)
		} else if err != nil {
			return fmt.Errorf("sqlite: begin tenant deletion: %w", err)
		}
		if next != size {
			return hashtrail.Errorf(hashtrail.ECONFLICT, "tenant %q has %d events, not %d: take a final export of all %d, then confirm size=%d", id, next, size, next, next)
		}
		if state == hashtrail.TenantDeleting {
			return nil
		}
		_, err = tx.exec(`UPDATE tenants SET state = ? WHERE id = ?`, hashtrail.TenantDeleting, id)
		return err
	})
}

// DeletingTenants returns the ids of the tenants being deleted.
func (s *Store) DeletingTenants(ctx context.Context) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id FROM tenants WHERE state = ? ORDER BY id`, hashtrail.TenantDeleting)
	if err != nil {
		return nil, fmt.Errorf("sqlite: deleting tenants: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("sqlite: deleting tenants: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// DeleteTenantData deletes the rows of up to limit events of tenant id
// (being deleted), deleteChunk events a transaction with secure_delete on,
// and once none are left compacts the database (compact) and deletes the
// rest of the tenant's rows; see
// hashtrail.TenantEraser. Kept: the tenants row (id, created_at,
// next_seq; name cleared), tree_hashes, checkpoints and
// installation_entries.
func (s *Store) DeleteTenantData(ctx context.Context, id string, limit int) (int64, bool, error) {
	var num int64
	var state string
	err := s.r.QueryRowContext(ctx, `SELECT num, state FROM tenants WHERE id = ?`, id).Scan(&num, &state)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, false, hashtrail.Errorf(hashtrail.ENOTFOUND, "tenant %q not found", id)
	case err != nil:
		return 0, false, fmt.Errorf("sqlite: delete tenant: %w", err)
	case state == hashtrail.TenantDeleted:
		return 0, true, nil
	case state != hashtrail.TenantDeleting:
		return 0, false, hashtrail.Errorf(hashtrail.ECONFLICT, "tenant %q is not being deleted", id)
	}
	if err := s.secureDelete(ctx, true); err != nil {
		return 0, false, err
	}
	defer s.secureDelete(context.Background(), false)
	var total int64
	for {
		n := min(deleteChunk, limit-int(total))
		if n <= 0 {
			return total, false, nil
		}
		var got int
		err := s.write(ctx, func(tx *wtx) error {
			events, err := tenantEvents(tx, num, n)
			if err != nil || len(events) == 0 {
				return err
			}
			got = len(events)
			return deleteEventRows(tx, num, events)
		})
		if err != nil {
			return total, false, err
		}
		total += int64(got)
		if got < n {
			break
		}
	}
	// No events left: the tenant's other rows, in bounded chunks.
	for _, q := range []string{
		`DELETE FROM event_pii WHERE tenant = ?1 AND seq IN (SELECT seq FROM event_pii WHERE tenant = ?1 LIMIT ?2)`,
		`DELETE FROM purged_events WHERE tenant = ?1 AND id IN (SELECT id FROM purged_events WHERE tenant = ?1 LIMIT ?2)`,
		`DELETE FROM event_counts WHERE tenant = ?1 AND hour IN (SELECT hour FROM event_counts WHERE tenant = ?1 LIMIT ?2)`,
		`DELETE FROM event_hours WHERE tenant = ?1 AND hour IN (SELECT hour FROM event_hours WHERE tenant = ?1 LIMIT ?2)`,
	} {
		for {
			var n int64
			err := s.write(ctx, func(tx *wtx) error {
				res, err := tx.exec(q, num, deleteRowsChunk)
				if err != nil {
					return err
				}
				n, err = res.RowsAffected()
				return err
			})
			if err != nil {
				return total, false, err
			}
			if n < deleteRowsChunk {
				break
			}
		}
	}
	// No copy of the deleted rows left in free pages or the WAL (as after an
	// erasure): VACUUM and a TRUNCATE checkpoint. It holds the write lock
	// while it rewrites the database (docs/security.md); a failure leaves
	// the tenant deleting, and the next call compacts again.
	if err := s.compact(ctx); err != nil {
		return total, false, err
	}
	err = s.write(ctx, func(tx *wtx) error {
		for _, q := range []string{
			`DELETE FROM api_keys WHERE tenant = ?1`,
			`DELETE FROM tenant_configs WHERE tenant = ?1`,
			`DELETE FROM sink_cursors WHERE tenant = ?1 OR sink IN (SELECT id FROM sinks WHERE tenant = ?1)`,
			`DELETE FROM sinks WHERE tenant = ?1`,
			// Per-tenant jobs name their leases and settings "<job>/<tenant>".
			`DELETE FROM leases WHERE substr(name, -length(?1) - 1) = '/' || ?1`,
			`DELETE FROM settings WHERE substr(name, -length(?1) - 1) = '/' || ?1`,
		} {
			if _, err := tx.exec(q, id); err != nil {
				return err
			}
		}
		_, err := tx.exec(`UPDATE tenants SET state = ?, name = '', storage_bytes = 0 WHERE num = ?`, hashtrail.TenantDeleted, num)
		return err
	})
	if err != nil {
		return total, false, err
	}
	return total, true, nil
}

// tenantEvents returns up to n events of tenant num, oldest first.
func tenantEvents(tx *wtx, num int64, n int) ([]*hashtrail.Event, error) {
	rows, err := tx.query(`SELECT `+eventSelect+` FROM events e WHERE e.pos BETWEEN ? AND ? ORDER BY e.pos LIMIT ?`, pos(num, 0), pos(num, seqMask), n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var events []*hashtrail.Event
	for rows.Next() {
		e, err := scanEvent(rows, "")
		if err != nil {
			return nil, err
		}
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: delete tenant: %w", err)
	}
	return events, nil
}
