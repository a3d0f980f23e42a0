package sqlite

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashtrail/hashtrail"
)

// searchVersion is the migration that brought search; events stored before
// it are indexed when a database is upgraded past it.
const searchVersion = 5

// Column counts of the search rows' multi-row INSERTs.
const (
	tagCols  = 2
	textCols = 3
)

// actorTypeColumn returns the actor_type column value of e.
func actorTypeColumn(e *hashtrail.Event) any {
	if e.Actor == nil || e.Actor.Type == "" {
		return nil
	}
	return string(e.Actor.Type)
}

// countryColumn returns the country column value of e.
func countryColumn(e *hashtrail.Event) any {
	if e.Context == nil || e.Context.Location == nil || e.Context.Location.Country == "" {
		return nil
	}
	return strings.ToUpper(e.Context.Location.Country)
}

// searchRows appends the event_tags and event_text rows of event e at p.
// The text row has the event's free text (SearchText) and, in the column
// keys, its actor's key, which only actor: terms search.
func searchRows(tags, text []any, e *hashtrail.Event, p int64) ([]any, []any) {
	for i, t := range e.Tags {
		if !slices.Contains(e.Tags[:i], t) {
			tags = append(tags, t, p)
		}
	}
	doc, keys := hashtrail.SearchText(e), keysDoc(e)
	if doc != "" || keys != "" {
		text = append(text, p, doc, nullIfEmpty(keys))
	}
	return tags, text
}

// keysDoc returns the keys column of an event's free-text document: its
// actor's key and email (lower-cased), each one word of hex digits ("k"
// and "e" prefixed), so that an exact actor is one word of the index and a
// prefix of it a prefix of that word.
func keysDoc(e *hashtrail.Event) string {
	var w []string
	if k := e.ActorKey(); k != "" {
		w = append(w, keyWord("k", k))
	}
	if e.Actor != nil && e.Actor.Email != "" {
		w = append(w, keyWord("e", strings.ToLower(e.Actor.Email)))
	}
	return strings.Join(w, " ")
}

func keyWord(kind, s string) string { return kind + hex.EncodeToString([]byte(s)) }

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// indexForSearch indexes the events stored before migration 0005, in its
// transaction: actor_type, country, tags and text, from each event read
// whole.
func (s *Store) indexForSearch(tx *wtx) error {
	ts, err := tenantsWithEvents(tx)
	if err != nil {
		return fmt.Errorf("sqlite: index for search: %w", err)
	}
	for _, t := range ts {
		for lo := int64(0); lo < t.size; lo += backfillChunk {
			if err := indexChunk(tx, t.num, t.id, lo, min(lo+backfillChunk, t.size)-1); err != nil {
				return err
			}
		}
		s.log.Info("sqlite: indexed for search the events of a tenant stored before search", "tenant", t.id, "events", t.size)
	}
	return nil
}

// indexChunk indexes for search the events of one tenant in seqs lo..hi.
func indexChunk(tx *wtx, num int64, id string, lo, hi int64) error {
	rows, err := tx.query(`SELECT `+eventSelect+` FROM events e WHERE e.pos BETWEEN ? AND ? ORDER BY e.pos`,
		pos(num, lo), pos(num, hi))
	if err != nil {
		return err
	}
	var events []*hashtrail.Event
	for rows.Next() {
		ev, err := scanEvent(rows, id)
		if err != nil {
			rows.Close()
			return err
		}
		events = append(events, ev)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: index for search: %w", err)
	}
	if err := joinPII(tx.ctx, tx.conn, num, events); err != nil {
		return err
	}
	var tags, text []any
	for _, ev := range events {
		p := pos(num, ev.Seq)
		if _, err := tx.exec(`UPDATE events SET actor_type = ?, country = ? WHERE pos = ?`,
			actorTypeColumn(ev), countryColumn(ev), p); err != nil {
			return err
		}
		tags, text = searchRows(tags, text, ev, p)
	}
	if err := tx.insertRows(`INSERT INTO event_tags (tag, pos) VALUES `, tagCols, tags); err != nil {
		return err
	}
	return tx.insertRows(`INSERT INTO event_text (rowid, text, keys) VALUES `, textCols, text)
}

// whereTerm returns the SQL condition of term t on events e of the tenant
// whose positions are lo..hi, and its arguments. The condition is never
// NULL, so NOT inverts it exactly.
func whereTerm(t hashtrail.Term, lo, hi int64) (string, []any, error) {
	var ors []string
	var args []any
	or := func(cond string, a ...any) {
		ors = append(ors, cond)
		args = append(args, a...)
	}
	const body = "CAST(e.body AS TEXT)"
	switch t.Field {
	case hashtrail.TermAction:
		if slices.Contains(t.Values, "*") {
			or("1")
			break
		}
		if w, a := actionFilter(t.Values); w != "" {
			or(w, a...)
		}
	case hashtrail.TermActor:
		for _, v := range t.Values {
			p, prefix := strings.CutSuffix(v, "*")
			switch {
			case v == "*":
				or("e.actor IS NOT NULL")
			case strings.Contains(v, "@") && !strings.Contains(v, ":"):
				if prefix {
					or("(e.actor_email >= ? AND e.actor_email < ?)", strings.ToLower(p), strings.ToLower(p)+"\xff")
				} else {
					or("e.actor_email = ?", strings.ToLower(v))
				}
			case prefix:
				or("(e.actor >= ? AND e.actor < ?)", p, p+"\xff")
			default:
				or("e.actor = ?", v)
			}
		}
	case hashtrail.TermActorType:
		if slices.Contains(t.Values, "*") {
			or("e.actor_type IS NOT NULL")
			break
		}
		or("e.actor_type IN ("+placeholders(len(t.Values))+")", anys(t.Values)...)
	case hashtrail.TermTarget, hashtrail.TermTargetType:
		var exact []any
		for _, v := range t.Values {
			p, prefix := strings.CutSuffix(v, "*")
			switch {
			case v == "*":
				or("json_type(" + body + ", '$.targets') IS NOT NULL")
			case t.Field == hashtrail.TermTargetType:
				or("e.pos IN (SELECT pos FROM event_targets WHERE target >= ? AND target < ? AND pos BETWEEN ? AND ?)",
					v+":", v+";", lo, hi)
			case prefix:
				or("e.pos IN (SELECT pos FROM event_targets WHERE target >= ? AND target < ? AND pos BETWEEN ? AND ?)",
					p, p+"\xff", lo, hi)
			default:
				exact = append(exact, v)
			}
		}
		if len(exact) > 0 {
			or("EXISTS (SELECT 1 FROM event_targets x WHERE x.target IN ("+placeholders(len(exact))+") AND x.pos = e.pos)", exact...)
		}
	case hashtrail.TermTag:
		var exact []any
		for _, v := range t.Values {
			p, prefix := strings.CutSuffix(v, "*")
			switch {
			case v == "*":
				or("json_type(" + body + ", '$.tags') IS NOT NULL")
			case prefix:
				or("e.pos IN (SELECT pos FROM event_tags WHERE tag >= ? AND tag < ? AND pos BETWEEN ? AND ?)",
					p, p+"\xff", lo, hi)
			default:
				exact = append(exact, v)
			}
		}
		if len(exact) > 0 {
			or("EXISTS (SELECT 1 FROM event_tags x WHERE x.tag IN ("+placeholders(len(exact))+") AND x.pos = e.pos)", exact...)
		}
	case hashtrail.TermCategory:
		or("e.category IN ("+placeholders(len(t.Values))+")", anys(t.Values)...)
	case hashtrail.TermOutcome:
		or("e.outcome IN ("+placeholders(len(t.Values))+")", anys(t.Values)...)
	case hashtrail.TermSeverity:
		var ranks []any
		for _, v := range t.Values {
			r := hashtrail.Severity(v).Rank()
			if r < 0 {
				return "", nil, hashtrail.Errorf(hashtrail.EINVALID, "unknown severity %q", v)
			}
			ranks = append(ranks, r)
		}
		or("e.severity IN ("+placeholders(len(ranks))+")", ranks...)
	case hashtrail.TermIP:
		for _, v := range t.Values {
			if v == "*" {
				or("e.ip IS NOT NULL")
				continue
			}
			p, err := hashtrail.ParseIPFilter(v)
			if err != nil {
				return "", nil, hashtrail.Errorf(hashtrail.EINVALID, "ip %q: %v", v, err)
			}
			l, h := ipRange(p)
			or("e.ip BETWEEN ? AND ?", l, h)
		}
	case hashtrail.TermCountry:
		if slices.Contains(t.Values, "*") {
			or("e.country IS NOT NULL")
			break
		}
		up := make([]any, len(t.Values))
		for i, v := range t.Values {
			up[i] = strings.ToUpper(v)
		}
		or("e.country IN ("+placeholders(len(up))+")", up...)
	case hashtrail.TermID:
		for _, v := range t.Values {
			p, prefix := strings.CutSuffix(v, "*")
			switch {
			case v == "*":
				or("1")
			case prefix:
				or("(e.id >= ? AND e.id < ?)", p, p+"\xff")
			default:
				or("e.id = ?", v)
			}
		}
	case hashtrail.TermMeta:
		path, err := metaPath(t.Key)
		if err != nil {
			return "", nil, err
		}
		for _, v := range t.Values {
			c, a := metaCond(body, path, v)
			or(c, a...)
		}
	case hashtrail.TermText:
		if m := textMatch(t.Values); m != "" {
			or("e.pos IN (SELECT rowid FROM event_text WHERE event_text MATCH ? AND rowid BETWEEN ? AND ?)", m, lo, hi)
		} else {
			or("0")
		}
	default:
		return "", nil, hashtrail.Errorf(hashtrail.EINVALID, "unknown search field %q", t.Field)
	}
	if len(ors) == 0 {
		return "", nil, hashtrail.Errorf(hashtrail.EINVALID, "a %s term without values", t.Field)
	}
	cond := "(" + strings.Join(ors, " OR ") + ")"
	if t.Not {
		cond = "NOT coalesce(" + cond + ", 0)"
	}
	return cond, args, nil
}

// metaPath returns the SQLite JSON path of metadata member path key.
func metaPath(key string) (string, error) {
	var b strings.Builder
	b.WriteString("$.metadata")
	for part := range strings.SplitSeq(key, ".") {
		if part == "" || strings.ContainsAny(part, `"\`) {
			return "", hashtrail.Errorf(hashtrail.EINVALID, "metadata path %q is not member names separated by dots", key)
		}
		b.WriteString(`."` + part + `"`)
	}
	return b.String(), nil
}

// metaCond returns the condition that the member at path of body matches
// value v (hashtrail.TermMeta).
func metaCond(body, path, v string) (string, []any) {
	typ := "json_type(" + body + ", '" + path + "')"
	val := "json_extract(" + body + ", '" + path + "')"
	if v == "*" {
		return typ + " IS NOT NULL", nil
	}
	if p, ok := strings.CutSuffix(v, "*"); ok {
		return "(" + typ + " = 'text' AND " + val + " >= ? AND " + val + " < ?)", []any{p, p + "\xff"}
	}
	ors := []string{"(" + typ + " = 'text' AND " + val + " = ?)"}
	args := []any{v}
	switch v {
	case "true", "false", "null":
		ors = append(ors, typ+" = '"+v+"'")
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
		ors = append(ors, "("+typ+" IN ('integer', 'real') AND "+val+" = ?)")
		args = append(args, f)
	}
	return "(" + strings.Join(ors, " OR ") + ")", args
}

// textMatch returns the FTS5 query of free-text values (alternatives) in
// the text column: each a phrase of its words (hashtrail.SearchTokens), a
// prefix phrase when it ends in "*"; "" when no value has a word.
func textMatch(values []string) string {
	var ors []string
	for _, v := range values {
		p, prefix := strings.CutSuffix(v, "*")
		if ph := phrase(p, prefix); ph != "" {
			ors = append(ors, ph)
		}
	}
	if len(ors) == 0 {
		return ""
	}
	return "text : (" + strings.Join(ors, " OR ") + ")"
}

// phrase returns the FTS5 phrase of the words of s, the last one a prefix
// if prefix is set, or "" if s has no words. Words are letters and digits
// only, so quoting them is safe.
func phrase(s string, prefix bool) string {
	toks := hashtrail.SearchTokens(s)
	if len(toks) == 0 {
		return ""
	}
	ph := `"` + strings.Join(toks, " ") + `"`
	if prefix {
		ph += "*"
	}
	return ph
}

// prefilter returns an FTS5 query that every event matching the positive
// term t matches too (and others may), or "": the actor's key or email
// (one word each in the column keys), or the words of a metadata string. It lets the
// free-text index drive a listing that the term then filters exactly.
func prefilter(t hashtrail.Term) string {
	if t.Not {
		return ""
	}
	var ors []string
	for _, v := range t.Values {
		p, prefix := strings.CutSuffix(v, "*")
		ph := ""
		switch t.Field {
		case hashtrail.TermActor:
			switch {
			case v == "*":
			case strings.Contains(v, "@") && !strings.Contains(v, ":"):
				ph = "keys : " + keyWord("e", strings.ToLower(p))
			default:
				ph = "keys : " + keyWord("k", p)
			}
			if ph != "" && prefix {
				ph += "*"
			}
		case hashtrail.TermMeta:
			if _, err := strconv.ParseFloat(v, 64); err == nil || v == "*" || v == "true" || v == "false" || v == "null" {
				break // numbers and literals are not words of the text
			}
			if ph = phrase(p, prefix); ph != "" {
				ph = "text : " + ph
			}
		}
		if ph == "" {
			return ""
		}
		ors = append(ors, ph)
	}
	if len(ors) == 0 {
		return ""
	}
	return strings.Join(ors, " OR ")
}

func anys(vs []string) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}

// reindexForSearch rebuilds the search rows of events of the tenant with
// num and id from what the store holds now: their free-text documents (the
// old one deleted, with secure-delete, and the new one inserted) and their
// actor_type and country columns. An erasure (DESIGN §1, §2) calls it in
// its transaction after erasing personal values, so that the erased values
// leave the full-text index too: the new document is made from the body
// and the personal values of the roles not erased. Tags are not personal
// and stay.
func reindexForSearch(tx *wtx, num int64, id string, seqs []int64) error {
	for _, seq := range seqs {
		p := pos(num, seq)
		row, err := tx.queryRow(`SELECT `+eventSelect+` FROM events e WHERE e.pos = ?`, p)
		if err != nil {
			return err
		}
		ev, err := scanEvent(row, id)
		if err != nil {
			return err
		}
		events := []*hashtrail.Event{ev}
		if err := joinPII(tx.ctx, tx.conn, num, events); err != nil {
			return err
		}
		ev = events[0]
		if _, err := tx.exec(`DELETE FROM event_text WHERE rowid = ?`, p); err != nil {
			return err
		}
		_, text := searchRows(nil, nil, ev, p)
		if err := tx.insertRows(`INSERT INTO event_text (rowid, text, keys) VALUES `, textCols, text); err != nil {
			return err
		}
		if _, err := tx.exec(`UPDATE events SET actor_type = ?, country = ? WHERE pos = ?`,
			actorTypeColumn(ev), countryColumn(ev), p); err != nil {
			return err
		}
	}
	return nil
}

// hourMicros is the width of the time buckets of event_hours.
const hourMicros = int64(time.Hour / time.Microsecond)

// hourKey is a tenant's hour of event time.
type hourKey struct{ num, hour int64 }

// hourBounds collects the positions of new events by tenant and hour of
// their time, for event_hours.
type hourBounds map[hourKey][2]int64

func (h hourBounds) add(num int64, t hashtrail.Time, p int64) {
	k := hourKey{num, t.Micros() / hourMicros}
	b, ok := h[k]
	if !ok {
		h[k] = [2]int64{p, p}
		return
	}
	h[k] = [2]int64{min(b[0], p), max(b[1], p)}
}

// write widens the rows of event_hours to cover the positions collected.
func (h hourBounds) write(tx *wtx) error {
	for k, b := range h {
		if _, err := tx.exec(`INSERT INTO event_hours (tenant, hour, lo, hi) VALUES (?, ?, ?, ?)
			ON CONFLICT (tenant, hour) DO UPDATE SET lo = min(lo, excluded.lo), hi = max(hi, excluded.hi)`,
			k.num, k.hour, b[0], b[1]); err != nil {
			return err
		}
	}
	return nil
}

// hoursSelect reads the stretch of the log that a range of hours covers.
const hoursSelect = `SELECT min(lo), max(hi) FROM event_hours WHERE tenant = ? AND hour BETWEEN ? AND ?`

// narrowByTime returns q with its seq bounds narrowed to the positions
// that event_hours says events of its Since..Until time range can have
// (a superset of them), so that a time range over old events scans only
// their stretch of the log; ok is false when no event can match. q is
// returned unchanged without a time bound.
func narrowByTime(ctx context.Context, tx *sql.Tx, num int64, q *hashtrail.Query) (*hashtrail.Query, bool, error) {
	if q.Since.IsZero() && q.Until.IsZero() {
		return q, true, nil
	}
	first, last := int64(0), int64(math.MaxInt64)
	if !q.Since.IsZero() {
		first = max(0, q.Since.Micros()/hourMicros)
	}
	if !q.Until.IsZero() {
		last = (q.Until.Micros() - 1) / hourMicros
	}
	var lo, hi sql.NullInt64
	err := tx.QueryRowContext(ctx, hoursSelect, num, first, last).Scan(&lo, &hi)
	if err != nil {
		return nil, false, fmt.Errorf("sqlite: events: %w", err)
	}
	if !lo.Valid {
		return q, false, nil
	}
	qq := *q
	after, before := lo.Int64&seqMask-1, hi.Int64&seqMask+1
	if qq.AfterSeq == nil || *qq.AfterSeq < after {
		qq.AfterSeq = &after
	}
	if qq.BeforeSeq == nil || *qq.BeforeSeq > before {
		qq.BeforeSeq = &before
	}
	return &qq, true, nil
}
