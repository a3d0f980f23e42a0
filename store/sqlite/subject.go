package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hashtrail/hashtrail"
)

var _ hashtrail.SubjectStore = (*Store)(nil)

// tenantNum returns the num of tenant, or ENOTFOUND.
func (s *Store) tenantNum(ctx context.Context, tenant string) (int64, error) {
	var num int64
	err := s.r.QueryRowContext(ctx, `SELECT num FROM tenants WHERE id = ?`, tenant).Scan(&num)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, hashtrail.Errorf(hashtrail.ENOTFOUND, "tenant %q not found", tenant)
	}
	if err != nil {
		return 0, fmt.Errorf("sqlite: %w", err)
	}
	return num, nil
}

// SubjectRoles returns the roles of subject in tenant's events; see
// hashtrail.SubjectStore. A "type:id" subject is looked up in event_pii's
// subject index (0008) for users' actor and target roles, and by scanning
// the tenant's events for an actor of another type with that key and for
// an impersonator; an e-mail address by scanning for the actor's e-mail
// column (lower-case). Erased roles have lost their subject and e-mail,
// so only a scan by key or impersonator finds them again.
func (s *Store) SubjectRoles(ctx context.Context, tenant, subject string) ([]hashtrail.SubjectRole, error) {
	subject, email, err := hashtrail.ParseSubject(subject)
	if err != nil {
		return nil, err
	}
	num, err := s.tenantNum(ctx, tenant)
	if err != nil {
		return nil, err
	}
	lo, hi := pos(num, 0), pos(num, seqMask)
	var q string
	var args []any
	if email {
		q = `SELECT p.seq, p.role, p.erased_at IS NOT NULL FROM events e
			JOIN event_pii p ON p.tenant = ? AND p.seq = e.pos - ? AND p.role = '/actor'
			WHERE e.pos BETWEEN ? AND ? AND e.actor_email = ?`
		args = []any{num, lo, lo, hi, subject}
	} else {
		typ, id, _ := strings.Cut(subject, ":")
		q = `SELECT seq, role, erased_at IS NOT NULL FROM event_pii WHERE tenant = ? AND subject = ?
			UNION
			SELECT p.seq, p.role, p.erased_at IS NOT NULL FROM events e
			JOIN event_pii p ON p.tenant = ? AND p.seq = e.pos - ? AND p.role = '/actor'
			WHERE e.pos BETWEEN ? AND ? AND (e.actor = ? OR
				(json_extract(e.body, '$.actor.impersonator.type') = ? AND json_extract(e.body, '$.actor.impersonator.id') = ?))`
		args = []any{num, subject, num, lo, lo, hi, subject, typ, id}
	}
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: subject roles: %w", err)
	}
	defer rows.Close()
	var out []hashtrail.SubjectRole
	for rows.Next() {
		var r hashtrail.SubjectRole
		if err := rows.Scan(&r.Seq, &r.Role, &r.Erased); err != nil {
			return nil, fmt.Errorf("sqlite: subject roles: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: subject roles: %w", err)
	}
	sortRoles(out)
	return out, nil
}

// sortRoles sorts roles by seq, then "/actor" before targets by index.
func sortRoles(rs []hashtrail.SubjectRole) {
	slices.SortFunc(rs, func(a, b hashtrail.SubjectRole) int {
		if a.Seq != b.Seq {
			return int(min(max(a.Seq-b.Seq, -1), 1))
		}
		return hashtrail.CompareRoles(a.Role, b.Role)
	})
}

// eraseChunk is the most roles one erasure transaction erases.
const eraseChunk = 256

// ErasePersonal erases roles of tenant; see hashtrail.SubjectStore. Each
// chunk of roles is one write transaction that empties their event_pii
// rows (values, salt, subject; commitment kept, erased_at set), clears the
// personal filter columns of events whose actor role it erased (actor
// e-mail, ip, country, and the actor key when it is an e-mail), and
// rebuilds the events' free-text documents without the erased values
// (reindexForSearch). The writer runs with PRAGMA secure_delete on, so
// freed and rewritten pages are zeroed, and the full-text index with its
// own secure-delete option (0005). Last, compact runs VACUUM and a
// TRUNCATE checkpoint, so that neither stale copies in the database file
// nor old pages in the WAL remain (docs/security.md).
func (s *Store) ErasePersonal(ctx context.Context, tenant string, roles []hashtrail.SubjectRole) (int64, error) {
	num, err := s.tenantNum(ctx, tenant)
	if err != nil {
		return 0, err
	}
	for _, r := range roles {
		if r.Seq < 0 || r.Seq > seqMask || !validRoleName(r.Role) {
			return 0, hashtrail.Errorf(hashtrail.EINVALID, "invalid role %q of seq %d", r.Role, r.Seq)
		}
	}
	if err := s.secureDelete(ctx, true); err != nil {
		return 0, err
	}
	defer s.secureDelete(context.Background(), false)
	now := hashtrail.NewTime(s.now()).Micros()
	var total int64
	for len(roles) > 0 {
		chunk := roles[:min(len(roles), eraseChunk)]
		roles = roles[len(chunk):]
		err := s.write(ctx, func(tx *wtx) error {
			var seqs []int64
			for _, r := range chunk {
				// The erased values and salt no longer count (0011).
				if _, err := tx.exec(`UPDATE tenants SET storage_bytes = max(0, storage_bytes - coalesce((SELECT coalesce(length(values_jcs), 0) + coalesce(length(salt), 0)
					FROM event_pii WHERE tenant = ?1 AND seq = ?2 AND role = ?3 AND erased_at IS NULL), 0)) WHERE num = ?1`, num, r.Seq, r.Role); err != nil {
					return err
				}
				res, err := tx.exec(`UPDATE event_pii SET values_jcs = NULL, salt = NULL, subject = NULL, erased_at = ?
					WHERE tenant = ? AND seq = ? AND role = ? AND erased_at IS NULL`, now, num, r.Seq, r.Role)
				if err != nil {
					return err
				}
				n, _ := res.RowsAffected()
				if n == 0 {
					continue
				}
				total += n
				if r.Role == hashtrail.PIIRoleActor {
					if _, err := tx.exec(`UPDATE events SET actor_email = NULL, ip = NULL, country = NULL,
						actor = CASE WHEN actor LIKE 'email:%' THEN NULL ELSE actor END WHERE pos = ?`, pos(num, r.Seq)); err != nil {
						return err
					}
				}
				if len(seqs) == 0 || seqs[len(seqs)-1] != r.Seq {
					seqs = append(seqs, r.Seq)
				}
			}
			return reindexForSearch(tx, num, tenant, seqs)
		})
		if err != nil {
			return total, err
		}
	}
	if total > 0 {
		if err := s.compact(ctx); err != nil {
			return total, err
		}
	}
	return total, nil
}

// compact leaves no copy of erased values in the files: secure_delete
// zeroes what the erasure itself frees, but pages freed or rewritten
// before it (B-tree splits and rebalancing at ingest, with secure_delete
// off) may still hold old copies of the rows in free pages and in the
// unused space of pages. VACUUM rewrites the database from its live rows
// (its temporary copy in memory: the store opens with temp_store MEMORY), then a
// TRUNCATE checkpoint, which waits for readers (busy timeout), copies the
// WAL into the database and empties the WAL file. VACUUM holds the write
// lock for as long as rewriting the database takes (docs/security.md).
func (s *Store) compact(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.wc.ExecContext(ctx, "VACUUM"); err != nil {
		return fmt.Errorf("sqlite: erase: vacuum: %w", err)
	}
	var busy, logPages, done int
	if err := s.wc.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logPages, &done); err != nil {
		return fmt.Errorf("sqlite: erase: checkpoint: %w", err)
	}
	if busy != 0 {
		return fmt.Errorf("sqlite: erase: the WAL checkpoint was blocked by a reader; run the erasure again")
	}
	return nil
}

// validRoleName reports whether role is "/actor" or "/targets/<i>".
func validRoleName(role string) bool {
	if role == hashtrail.PIIRoleActor {
		return true
	}
	i, ok := strings.CutPrefix(role, "/targets/")
	if !ok || i == "" || (len(i) > 1 && i[0] == '0') {
		return false
	}
	for _, c := range i {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
