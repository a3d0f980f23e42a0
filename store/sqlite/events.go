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

// eventSelect is the columns an event is read from (events as e).
const eventSelect = `e.pos, e.id, e.time, e.received_at, e.action, e.category, e.severity, e.outcome,
	e.key_id, e.leaf_hash, e.body`

// Events returns the events of q.Tenant that match q, in q.Order by seq
// (newest first by default), at most q.Limit (DefaultLimit if unset, capped
// at MaxLimit+1, which the engine asks for to learn whether another page
// follows); ENOTFOUND if the tenant does not exist. The query scans the
// tenant's range of positions in order (or, with a target filter, that
// target's range in event_targets) and stops at the limit.
func (s *Store) Events(ctx context.Context, q *hashtrail.Query) ([]*hashtrail.Event, error) {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("sqlite: events: %w", err)
	}
	defer tx.Rollback()
	num, err := tenantNum(ctx, tx, q.Tenant)
	if err != nil {
		return nil, err
	}
	q, ok, err := narrowByTime(ctx, tx, num, q)
	if err != nil || !ok {
		return []*hashtrail.Event{}, err
	}
	query, args, ok, err := buildQuery(q, num)
	if err != nil || !ok {
		return []*hashtrail.Event{}, err
	}
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: events: %w", err)
	}
	defer rows.Close()
	events := []*hashtrail.Event{}
	for rows.Next() {
		e, err := scanEvent(rows, q.Tenant)
		if err != nil {
			return nil, err
		}
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: events: %w", err)
	}
	rows.Close()
	if err := joinPII(ctx, tx, num, events); err != nil {
		return nil, err
	}
	return events, nil
}

// Event returns the event of tenant with the given id, or ENOTFOUND. Like
// Events, it reads the event and its personal values in one snapshot.
func (s *Store) Event(ctx context.Context, tenant, id string) (*hashtrail.Event, error) {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("sqlite: event: %w", err)
	}
	defer tx.Rollback()
	num, err := tenantNum(ctx, tx, tenant)
	if hashtrail.ErrorCode(err) == hashtrail.ENOTFOUND {
		return nil, hashtrail.Errorf(hashtrail.ENOTFOUND, "event %q not found", id)
	} else if err != nil {
		return nil, err
	}
	e, err := scanEvent(tx.QueryRowContext(ctx, `SELECT `+eventSelect+` FROM events e WHERE e.tenant = ? AND e.id = ?`, num, id), tenant)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, hashtrail.Errorf(hashtrail.ENOTFOUND, "event %q not found", id)
	} else if err != nil {
		return nil, err
	}
	events := []*hashtrail.Event{e}
	if err := joinPII(ctx, tx, num, events); err != nil {
		return nil, err
	}
	return events[0], nil
}

// tenantNum returns the num of tenant id, or ENOTFOUND.
func tenantNum(ctx context.Context, tx *sql.Tx, id string) (int64, error) {
	var num int64
	err := tx.QueryRowContext(ctx, `SELECT num FROM tenants WHERE id = ?`, id).Scan(&num)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, hashtrail.Errorf(hashtrail.ENOTFOUND, "tenant %q not found", id)
	}
	if err != nil {
		return 0, fmt.Errorf("sqlite: tenant: %w", err)
	}
	return num, nil
}

// buildQuery returns the SQL and arguments for q on the tenant with num,
// and ok=false when the seq bounds leave nothing to find.
func buildQuery(q *hashtrail.Query, num int64) (query string, args []any, ok bool, err error) {
	lo, hi := int64(0), seqMask // seq bounds, inclusive
	if q.AfterSeq != nil {
		if *q.AfterSeq >= seqMask {
			return "", nil, false, nil
		}
		lo = max(lo, *q.AfterSeq+1)
	}
	if q.BeforeSeq != nil {
		if *q.BeforeSeq <= 0 {
			return "", nil, false, nil
		}
		hi = min(hi, *q.BeforeSeq-1)
	}
	if lo > hi {
		return "", nil, false, nil
	}
	if q.MinSeverity != "" && q.MinSeverity.Rank() < 0 {
		return "", nil, false, hashtrail.Errorf(hashtrail.EINVALID, "unknown severity %q", q.MinSeverity)
	}
	plo, phi := pos(num, lo), pos(num, hi)
	terms := q.AllTerms()
	var where []string
	var b strings.Builder
	b.WriteString(`SELECT ` + eventSelect)
	// The listing scans the tenant's positions in order, or, when a term
	// can drive it, the positions an index holds for that term, in order:
	// a target, else a tag, else the free text. Either way it stops at the
	// limit. CROSS JOIN makes the driving table the outer loop.
	col := "e.pos"
	d, terms, ok := driver(terms)
	switch {
	case !ok:
		b.WriteString(` FROM events e`)
	case d.field == hashtrail.TermTarget:
		b.WriteString(` FROM event_targets d CROSS JOIN events e ON e.pos = d.pos`)
		col = "d.pos"
		where, args = append(where, "d.target = ?"), append(args, d.value)
	case d.field == hashtrail.TermTag:
		b.WriteString(` FROM event_tags d CROSS JOIN events e ON e.pos = d.pos`)
		col = "d.pos"
		where, args = append(where, "d.tag = ?"), append(args, d.value)
	default: // free text: every positive text term, in one MATCH
		b.WriteString(` FROM event_text d CROSS JOIN events e ON e.pos = d.rowid`)
		col = "d.rowid"
		where, args = append(where, "event_text MATCH ?"), append(args, d.value)
	}
	where = append(where, col+" BETWEEN ? AND ?")
	args = append(args, plo, phi)
	for _, t := range terms {
		w, a, err := whereTerm(t, plo, phi)
		if err != nil {
			return "", nil, false, err
		}
		where, args = append(where, w), append(args, a...)
	}
	if !q.Since.IsZero() {
		where, args = append(where, "e.time >= ?"), append(args, q.Since.Micros())
	}
	if !q.Until.IsZero() {
		where, args = append(where, "e.time < ?"), append(args, q.Until.Micros())
	}
	b.WriteString(" WHERE " + strings.Join(where, " AND "))
	dir := "DESC"
	if q.Order == hashtrail.OrderAsc {
		dir = "ASC"
	}
	limit := q.Limit
	if limit <= 0 {
		limit = hashtrail.DefaultLimit
	}
	// The engine asks for one more than a page to know whether another
	// follows; anything larger is a caller's mistake, bounded all the same.
	limit = min(limit, hashtrail.MaxLimit+1)
	fmt.Fprintf(&b, " ORDER BY %s %s LIMIT %d", col, dir, limit)
	return b.String(), args, true, nil
}

// drive is what drives a listing.
type drive struct {
	field hashtrail.TermField
	value string // the target, the tag, or the FTS5 query
}

// driver picks what drives a listing: the first positive target term of
// one exact value, else such a tag term, else the free-text index with
// every positive free-text term and the prefilter of every actor and
// metadata term that has one (those terms stay in the WHERE clause, which
// checks them exactly). It returns the terms left for the WHERE clause.
func driver(terms []hashtrail.Term) (drive, []hashtrail.Term, bool) {
	for _, f := range []hashtrail.TermField{hashtrail.TermTarget, hashtrail.TermTag} {
		for i, t := range terms {
			if t.Field == f && !t.Not && len(t.Values) == 1 && t.Values[0] != "*" && !strings.HasSuffix(t.Values[0], "*") {
				return drive{f, t.Values[0]}, slices.Delete(slices.Clone(terms), i, i+1), true
			}
		}
	}
	var ands []string
	var rest []hashtrail.Term
	for _, t := range terms {
		if t.Field == hashtrail.TermText && !t.Not {
			m := textMatch(t.Values)
			if m == "" {
				return drive{}, terms, false // matches nothing; whereTerm says so
			}
			ands = append(ands, "("+m+")")
			continue
		}
		if m := prefilter(t); m != "" {
			ands = append(ands, "("+m+")")
		}
		rest = append(rest, t)
	}
	if len(ands) == 0 {
		return drive{}, terms, false
	}
	return drive{hashtrail.TermText, strings.Join(ands, " AND ")}, rest, true
}

// actionFilter returns the condition for the action filter: exact names
// with IN, prefixes ("user.*") as a range, so a prefix of "user." matches
// from "user." up to but excluding "user/" ('/' follows '.').
func actionFilter(actions []string) (string, []any) {
	var ors []string
	var args, exact []any
	for _, a := range actions {
		if p, ok := strings.CutSuffix(a, "*"); ok {
			if p == "" {
				return "", nil // "*" matches every action
			}
			ors = append(ors, "(e.action >= ? AND e.action < ?)")
			args = append(args, p, p[:len(p)-1]+string(p[len(p)-1]+1))
			continue
		}
		exact = append(exact, a)
	}
	if len(exact) > 0 {
		ors = append(ors, "e.action IN ("+placeholders(len(exact))+")")
		args = append(args, exact...)
	}
	if len(ors) == 0 {
		return "", nil
	}
	return "(" + strings.Join(ors, " OR ") + ")", args
}

func placeholders(n int) string { return strings.Repeat("?,", n-1) + "?" }

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// scanEvent reads an event selected with eventSelect.
func scanEvent(r scanner, tenant string) (*hashtrail.Event, error) {
	var (
		e             hashtrail.Event
		p, t, recv    int64
		sev           int
		cat, out      string
		leaf, bodyRaw []byte
	)
	if err := r.Scan(&p, &e.ID, &t, &recv, &e.Action, &cat, &sev, &out, &e.KeyID, &leaf, &bodyRaw); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		return nil, fmt.Errorf("sqlite: read event: %w", err)
	}
	e.Tenant, e.Seq = tenant, p&seqMask
	e.Time, e.ReceivedAt = hashtrail.TimeFromMicros(t), hashtrail.TimeFromMicros(recv)
	e.Category, e.Severity, e.Outcome = hashtrail.Category(cat), severityOf(sev), hashtrail.Outcome(out)
	e.LeafHash = leafString(leaf)
	if err := decodeBody(bodyRaw, &e); err != nil {
		return nil, err
	}
	return &e, nil
}
