package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/hashtrail/hashtrail"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

var _ hashtrail.SubjectStore = (*Store)(nil)

// SubjectRoles returns the roles of subject in tenant's events; see
// hashtrail.SubjectStore. A "type:id" subject is looked up in event_pii's
// subject index (0004) for users' actor and target roles, in events_actor
// for an actor of another type, and by reading the bodies of the tenant's
// events for an impersonator; an e-mail address in events_email.
func (s *Store) SubjectRoles(ctx context.Context, tenant, subject string) ([]hashtrail.SubjectRole, error) {
	subject, email, err := hashtrail.ParseSubject(subject)
	if err != nil {
		return nil, err
	}
	var out []hashtrail.SubjectRole
	err = s.tx(ctx, "subject roles", func(tx pgx.Tx) error {
		num, err := tenantNum(ctx, tx, tenant)
		if err != nil {
			return err
		}
		var rows pgx.Rows
		if email {
			rows, err = tx.Query(ctx, `SELECT p.seq, p.role, p.erased_at IS NOT NULL FROM events e
				JOIN event_pii p ON p.tenant = e.tenant AND p.seq = e.seq AND p.role = '/actor'
				WHERE e.tenant = $1 AND e.actor_email = $2`, num, subject)
		} else {
			typ, id, _ := strings.Cut(subject, ":")
			rows, err = tx.Query(ctx, `SELECT seq, role, erased_at IS NOT NULL FROM event_pii WHERE tenant = $1 AND subject = $2
				UNION
				SELECT p.seq, p.role, p.erased_at IS NOT NULL FROM events e
				JOIN event_pii p ON p.tenant = e.tenant AND p.seq = e.seq AND p.role = '/actor'
				WHERE e.tenant = $1 AND e.actor = $2
				UNION
				SELECT p.seq, p.role, p.erased_at IS NOT NULL FROM events e
				JOIN event_pii p ON p.tenant = e.tenant AND p.seq = e.seq AND p.role = '/actor'
				WHERE e.tenant = $1 AND e.body IS NOT NULL AND length(e.body) > 0
				AND convert_from(e.body, 'UTF8')::jsonb #>> '{actor,impersonator,type}' = $3
				AND convert_from(e.body, 'UTF8')::jsonb #>> '{actor,impersonator,id}' = $4`, num, subject, typ, id)
		}
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (hashtrail.SubjectRole, error) {
			var sr hashtrail.SubjectRole
			return sr, r.Scan(&sr.Seq, &sr.Role, &sr.Erased)
		})
		return err
	})
	if err != nil {
		if hashtrail.ErrorCode(err) != hashtrail.EINTERNAL {
			return nil, err
		}
		return nil, fmt.Errorf("postgres: subject roles: %w", err)
	}
	slices.SortFunc(out, func(a, b hashtrail.SubjectRole) int {
		if a.Seq != b.Seq {
			return int(min(max(a.Seq-b.Seq, -1), 1))
		}
		return hashtrail.CompareRoles(a.Role, b.Role)
	})
	return out, nil
}

// eraseChunk is the most roles one erasure transaction erases.
const eraseChunk = 512

// ErasePersonal erases roles of tenant; see hashtrail.SubjectStore. Each
// chunk of roles is one transaction that empties their event_pii rows
// (values, salt, subject; commitment kept, erased_at set), clears the
// personal filter columns of events whose actor role it erased (actor
// e-mail, ip, country, and the actor key when it is an e-mail), and
// rebuilds the events' doc (free text) and actor_type from the events as
// they are after the erasure. PostgreSQL keeps the old row versions in
// the table and index files until VACUUM removes them, and their bytes
// until the pages are rewritten: docs/security.md says what to run.
func (s *Store) ErasePersonal(ctx context.Context, tenant string, roles []hashtrail.SubjectRole) (int64, error) {
	for _, r := range roles {
		if r.Seq < 0 || !validRoleName(r.Role) {
			return 0, hashtrail.Errorf(hashtrail.EINVALID, "invalid role %q of seq %d", r.Role, r.Seq)
		}
	}
	var total int64
	first := true
	for first || len(roles) > 0 {
		first = false
		chunk := roles[:min(len(roles), eraseChunk)]
		roles = roles[len(chunk):]
		err := s.tx(ctx, "erase", func(tx pgx.Tx) error {
			num, err := tenantNum(ctx, tx, tenant)
			if err != nil {
				return err
			}
			if len(chunk) == 0 {
				return nil
			}
			seqs := make([]int64, len(chunk))
			names := make([]string, len(chunk))
			for i, r := range chunk {
				seqs[i], names[i] = r.Seq, r.Role
			}
			// The erased values and salts no longer count (0007).
			if _, err := tx.Exec(ctx, `UPDATE tenants SET storage_bytes = greatest(0, storage_bytes - (SELECT coalesce(sum(coalesce(octet_length(p.values_jcs), 0) + coalesce(octet_length(p.salt), 0)), 0)
				FROM event_pii p JOIN unnest($2::bigint[], $3::text[]) AS u (seq, role) ON p.seq = u.seq AND p.role = u.role
				WHERE p.tenant = $1 AND p.erased_at IS NULL)) WHERE num = $1`, num, seqs, names); err != nil {
				return err
			}
			rows, err := tx.Query(ctx, `UPDATE event_pii p SET values_jcs = NULL, salt = NULL, subject = NULL, erased_at = now()
				FROM unnest($2::bigint[], $3::text[]) AS u (seq, role)
				WHERE p.tenant = $1 AND p.seq = u.seq AND p.role = u.role AND p.erased_at IS NULL
				RETURNING p.seq, p.role`, num, seqs, names)
			if err != nil {
				return err
			}
			done, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (hashtrail.SubjectRole, error) {
				var sr hashtrail.SubjectRole
				return sr, r.Scan(&sr.Seq, &sr.Role)
			})
			if err != nil || len(done) == 0 {
				return err
			}
			total += int64(len(done))
			var actors, touched []int64
			for _, r := range done {
				if r.Role == hashtrail.PIIRoleActor {
					actors = append(actors, r.Seq)
				}
				if !slices.Contains(touched, r.Seq) {
					touched = append(touched, r.Seq)
				}
			}
			if _, err := tx.Exec(ctx, `UPDATE events SET actor_email = NULL, ip = NULL, country = NULL,
				actor = CASE WHEN actor LIKE 'email:%' THEN NULL ELSE actor END
				WHERE tenant = $1 AND seq = ANY($2)`, num, actors); err != nil {
				return err
			}
			return reindexErased(ctx, tx, num, tenant, touched)
		})
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// reindexErased rebuilds doc, actor_type and country of the events of the
// tenant with num at seqs from the events as they are now.
func reindexErased(ctx context.Context, tx pgx.Tx, num int64, tenant string, seqs []int64) error {
	rows, err := tx.Query(ctx, `SELECT `+eventSelect+` FROM events e`+piiJoin+`
		WHERE e.tenant = $1 AND e.seq = ANY($2)`, num, seqs)
	if err != nil {
		return err
	}
	events, err := scanEvents(rows, tenant)
	if err != nil {
		return err
	}
	var ss []int64
	var types, countries []*string
	var docs []pgtype.TSVector
	for _, e := range events {
		c := searchColumns(e)
		ss, types, countries, docs = append(ss, e.Seq), append(types, c.actorType), append(countries, c.country), append(docs, c.doc)
	}
	_, err = tx.Exec(ctx, `UPDATE events SET actor_type = u.actor_type, country = u.country, doc = u.doc
		FROM unnest($2::bigint[], $3::text[], $4::text[], $5::tsvector[]) AS u (seq, actor_type, country, doc)
		WHERE events.tenant = $1 AND events.seq = u.seq`, num, ss, types, countries, docs)
	return err
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
