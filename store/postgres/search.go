package postgres

import (
	"context"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/hashtrail/hashtrail"
)

// searchVersion is the migration that brought search; events stored before
// it are indexed when a schema is upgraded past it.
const searchVersion = 2

// Limits of a tsvector (PostgreSQL's MAXSTRLEN, MAXENTRYPOS, MAXNUMPOS):
// longer words are not indexed, later positions count as the last one, and
// a word keeps its first 256 positions.
const (
	maxWordBytes    = 2046
	maxWordPosition = 16383
	maxPositions    = 256
)

// searchCols are the search columns of one event (migration 0002).
type searchCols struct {
	actorType, country *string
	tags               []string
	doc                pgtype.TSVector
}

// searchColumns returns the search columns of event e read whole (with its
// personal values).
func searchColumns(e *hashtrail.Event) searchCols {
	var c searchCols
	if e.Actor != nil && e.Actor.Type != "" {
		c.actorType = nullString(string(e.Actor.Type))
	}
	if e.Context != nil && e.Context.Location != nil && e.Context.Location.Country != "" {
		c.country = nullString(strings.ToUpper(e.Context.Location.Country))
	}
	for i, t := range e.Tags {
		if !slices.Contains(e.Tags[:i], t) {
			c.tags = append(c.tags, t)
		}
	}
	c.doc = docOf(hashtrail.SearchText(e))
	return c
}

// docOf returns the tsvector of text: its words (hashtrail.SearchTokens)
// as lexemes at their positions, from 1; NULL for text without words.
func docOf(text string) pgtype.TSVector {
	words := hashtrail.SearchTokens(text)
	if len(words) == 0 {
		return pgtype.TSVector{}
	}
	pos := map[string][]pgtype.TSVectorPosition{}
	for i, w := range words {
		if len(w) > maxWordBytes {
			continue
		}
		p := uint16(min(i+1, maxWordPosition))
		ps := pos[w]
		if len(ps) >= maxPositions || len(ps) > 0 && ps[len(ps)-1].Position == p {
			continue
		}
		pos[w] = append(ps, pgtype.TSVectorPosition{Position: p, Weight: pgtype.TSVectorWeightD})
	}
	v := pgtype.TSVector{Valid: true, Lexemes: make([]pgtype.TSVectorLexeme, 0, len(pos))}
	for w, ps := range pos {
		v.Lexemes = append(v.Lexemes, pgtype.TSVectorLexeme{Word: w, Positions: ps})
	}
	slices.SortFunc(v.Lexemes, func(a, b pgtype.TSVectorLexeme) int { return strings.Compare(a.Word, b.Word) })
	return v
}

// textQuery returns the tsquery of free-text values (alternatives): each a
// phrase of its words, the last a prefix when the value ends in "*"; "" when
// no value has a word. Words are letters and digits only, so quoting them
// is safe.
func textQuery(values []string) string {
	var ors []string
	for _, v := range values {
		p, prefix := strings.CutSuffix(v, "*")
		toks := hashtrail.SearchTokens(p)
		if len(toks) == 0 {
			continue
		}
		parts := make([]string, len(toks))
		for i, t := range toks {
			parts[i] = "'" + t + "'"
		}
		if prefix {
			parts[len(parts)-1] += ":*"
		}
		ors = append(ors, "("+strings.Join(parts, " <-> ")+")")
	}
	return strings.Join(ors, " | ")
}

// prefixEnd returns the least string above every string that starts with
// p, for a range scan of a COLLATE "C" column: p followed by the largest
// code point.
func prefixEnd(p string) string { return p + "\U0010FFFF" }

// bodyJSON reads the event's body (compact JSON) as jsonb.
const bodyJSON = "convert_from(e.body, 'UTF8')::jsonb"

// termWhere returns the SQL condition of search term t on events e of the
// tenant with num. The condition is never NULL, so NOT inverts it exactly.
func termWhere(t hashtrail.Term, num int64, a *args) (string, error) {
	var ors []string
	or := func(cond string) { ors = append(ors, cond) }
	present := slices.Contains(t.Values, "*")
	switch t.Field {
	case hashtrail.TermAction:
		if present {
			or("true")
		} else if w := actionFilter(t.Values, a); w != "" {
			or(w)
		}
	case hashtrail.TermActor:
		var exact, emails []string
		for _, v := range t.Values {
			p, prefix := strings.CutSuffix(v, "*")
			email := strings.Contains(v, "@") && !strings.Contains(v, ":")
			switch {
			case v == "*":
				or("e.actor IS NOT NULL")
			case email && prefix:
				p = strings.ToLower(p)
				or("(e.actor_email >= " + a.add(p) + " AND e.actor_email < " + a.add(prefixEnd(p)) + ")")
			case email:
				emails = append(emails, strings.ToLower(v))
			case prefix:
				or("(e.actor >= " + a.add(p) + " AND e.actor < " + a.add(prefixEnd(p)) + ")")
			default:
				exact = append(exact, v)
			}
		}
		if len(exact) > 0 {
			or("e.actor = ANY(" + a.add(exact) + "::text[])")
		}
		if len(emails) > 0 {
			or("e.actor_email = ANY(" + a.add(emails) + "::text[])")
		}
	case hashtrail.TermActorType:
		if present {
			or("e.actor_type IS NOT NULL")
		} else {
			or("e.actor_type = ANY(" + a.add(t.Values) + "::text[])")
		}
	case hashtrail.TermTarget, hashtrail.TermTargetType:
		termMany(t, "event_targets", "target", num, a, or)
	case hashtrail.TermTag:
		termMany(t, "event_tags", "tag", num, a, or)
	case hashtrail.TermCategory, hashtrail.TermSeverity, hashtrail.TermOutcome:
		codes, err := termFacets(t)
		if err != nil {
			return "", err
		}
		or("e.facet = ANY(" + a.add(codes) + "::smallint[])")
	case hashtrail.TermIP:
		for _, v := range t.Values {
			if v == "*" {
				or("e.ip IS NOT NULL")
				continue
			}
			p, err := hashtrail.ParseIPFilter(v)
			if err != nil {
				return "", hashtrail.Errorf(hashtrail.EINVALID, "ip %q: %v", v, err)
			}
			or("e.ip <<= " + a.add(ipPrefix(p)) + "::inet")
		}
	case hashtrail.TermCountry:
		if present {
			or("e.country IS NOT NULL")
			break
		}
		up := make([]string, len(t.Values))
		for i, v := range t.Values {
			up[i] = strings.ToUpper(v)
		}
		or("e.country = ANY(" + a.add(up) + "::text[])")
	case hashtrail.TermID:
		var exact []string
		for _, v := range t.Values {
			p, prefix := strings.CutSuffix(v, "*")
			switch {
			case v == "*":
				or("true")
			case prefix:
				or("(e.id >= " + a.add(p) + " AND e.id < " + a.add(prefixEnd(p)) + ")")
			default:
				exact = append(exact, v)
			}
		}
		if len(exact) > 0 {
			or("e.id = ANY(" + a.add(exact) + "::text[])")
		}
	case hashtrail.TermMeta:
		path, err := metaPath(t.Key)
		if err != nil {
			return "", err
		}
		for _, v := range t.Values {
			or(metaCond(a.add(path)+"::text[]", v, a))
		}
	case hashtrail.TermText:
		if q := textQuery(t.Values); q != "" {
			or("e.doc @@ " + a.add(q) + "::tsquery")
		} else {
			or("false")
		}
	default:
		return "", hashtrail.Errorf(hashtrail.EINVALID, "unknown search field %q", t.Field)
	}
	if len(ors) == 0 {
		return "", hashtrail.Errorf(hashtrail.EINVALID, "a %s term without values", t.Field)
	}
	cond := "(" + strings.Join(ors, " OR ") + ")"
	if t.Not {
		cond = "NOT coalesce(" + cond + ", false)"
	}
	return cond, nil
}

// termMany adds the conditions of a term on what an event has any number
// of (targets in event_targets, tags in event_tags; column col), each row
// keyed (tenant, col, seq): exact values are one probe of that key per
// event; a prefix (or a target type, "type:") a range of the key, read once
// (an InitPlan) into the array of seqs it holds, which the (tenant, seq)
// index of events is then probed with (a semi-join instead tempts the
// planner into scanning the tenant's events when the range is small); "*"
// whether the event's body lists any.
func termMany(t hashtrail.Term, table, col string, num int64, a *args, or func(string)) {
	var exact []string
	for _, v := range t.Values {
		p, prefix := strings.CutSuffix(v, "*")
		switch {
		case v == "*":
			member := "targets"
			if table == "event_tags" {
				member = "tags"
			}
			or(bodyJSON + " ? '" + member + "'")
		case t.Field == hashtrail.TermTargetType || prefix:
			if t.Field == hashtrail.TermTargetType {
				p = v + ":"
			}
			or("e.seq = ANY (ARRAY(SELECT x.seq FROM " + table + " x WHERE x.tenant = " + a.add(num) +
				" AND x." + col + " >= " + a.add(p) + " AND x." + col + " < " + a.add(prefixEnd(p)) + "))")
		default:
			exact = append(exact, v)
		}
	}
	if len(exact) > 0 {
		or("EXISTS (SELECT 1 FROM " + table + " x WHERE x.tenant = e.tenant AND x." + col + " = ANY(" +
			a.add(exact) + "::text[]) AND x.seq = e.seq)")
	}
}

// termFacets returns the facet codes a category, severity or outcome term
// matches (its values alternatives, the other two any); EINVALID for an
// unknown severity.
func termFacets(t hashtrail.Term) ([]int16, error) {
	codes := []int16{}
	for c, cat := range hashtrail.Categories {
		for s, sev := range hashtrail.Severities {
			for o, out := range outcomes {
				var v string
				switch t.Field {
				case hashtrail.TermCategory:
					v = string(cat)
				case hashtrail.TermSeverity:
					v = string(sev)
				default:
					v = string(out)
				}
				if slices.Contains(t.Values, v) {
					codes = append(codes, int16(c*facetCategory+s*facetSeverity+o))
				}
			}
		}
	}
	if t.Field == hashtrail.TermSeverity {
		for _, v := range t.Values {
			if hashtrail.Severity(v).Rank() < 0 && v != "*" {
				return nil, hashtrail.Errorf(hashtrail.EINVALID, "unknown severity %q", v)
			}
		}
	}
	if slices.Contains(t.Values, "*") {
		codes = codes[:0]
		for f := range len(hashtrail.Categories) * facetCategory {
			codes = append(codes, int16(f))
		}
	}
	return codes, nil
}

// metaPath returns the jsonb path of metadata member path key.
func metaPath(key string) ([]string, error) {
	path := []string{"metadata"}
	for part := range strings.SplitSeq(key, ".") {
		if part == "" {
			return nil, hashtrail.Errorf(hashtrail.EINVALID, "metadata path %q is not member names separated by dots", key)
		}
		path = append(path, part)
	}
	return path, nil
}

// metaCond returns the condition that the metadata member at path (an SQL
// text[] expression) matches value v (hashtrail.TermMeta): a string equal
// to v (or starting with it, for a prefix), a number numerically equal to
// it, or the literal true, false or null.
func metaCond(path, v string, a *args) string {
	val := "(" + bodyJSON + " #> " + path + ")"
	typ := "jsonb_typeof" + val
	if v == "*" {
		return val + " IS NOT NULL"
	}
	if p, ok := strings.CutSuffix(v, "*"); ok {
		return "(" + typ + " = 'string' AND starts_with(" + val + " #>> '{}', " + a.add(p) + "))"
	}
	ors := []string{"(" + typ + " = 'string' AND " + val + " #>> '{}' = " + a.add(v) + ")"}
	switch v {
	case "true", "false", "null":
		ors = append(ors, val+" = '"+v+"'::jsonb")
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
		ors = append(ors, "("+typ+" = 'number' AND ("+val+" #>> '{}')::numeric = "+a.add(v)+"::numeric)")
	}
	return "(" + strings.Join(ors, " OR ") + ")"
}

// indexForSearch fills the search columns and tags of the events stored
// before migration 0002, in its transaction, from each event read whole.
func (s *Store) indexForSearch(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, `SELECT num, id, next_seq FROM tenants WHERE next_seq > 0 ORDER BY num`)
	if err != nil {
		return err
	}
	type tenant struct {
		num, size int64
		id        string
	}
	ts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (tenant, error) {
		var t tenant
		return t, r.Scan(&t.num, &t.id, &t.size)
	})
	if err != nil {
		return err
	}
	const chunk = 512
	for _, t := range ts {
		for lo := int64(0); lo < t.size; lo += chunk {
			rows, err := tx.Query(ctx, `SELECT `+eventSelect+` FROM events e`+piiJoin+`
				WHERE e.tenant = $1 AND e.seq >= $2 AND e.seq < $3`, t.num, lo, lo+chunk)
			if err != nil {
				return err
			}
			events, err := scanEvents(rows, t.id)
			if err != nil {
				return err
			}
			var seqs, tagSeqs []int64
			var types, countries []*string
			var docs []pgtype.TSVector
			var tags []string
			for _, e := range events {
				c := searchColumns(e)
				seqs, types, countries, docs = append(seqs, e.Seq), append(types, c.actorType), append(countries, c.country), append(docs, c.doc)
				for _, tg := range c.tags {
					tags, tagSeqs = append(tags, tg), append(tagSeqs, e.Seq)
				}
			}
			b := &pgx.Batch{}
			b.Queue(`UPDATE events SET actor_type = u.actor_type, country = u.country, doc = u.doc
				FROM unnest($2::bigint[], $3::text[], $4::text[], $5::tsvector[]) AS u (seq, actor_type, country, doc)
				WHERE events.tenant = $1 AND events.seq = u.seq`, t.num, seqs, types, countries, docs)
			b.Queue(`INSERT INTO event_tags (tenant, tag, seq) SELECT $1, * FROM unnest($2::text[], $3::bigint[])`, t.num, tags, tagSeqs)
			if err := tx.SendBatch(ctx, b).Close(); err != nil {
				return err
			}
		}
		s.log.Info("postgres: indexed for search the events of a tenant stored before search", "tenant", t.id, "events", t.size)
	}
	return nil
}
