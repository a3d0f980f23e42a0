package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hashtrail/hashtrail"
)

// Stats implements hashtrail.StatsStore with one GROUP BY over the
// tenant's events in a read-only snapshot. A time range is bounded in
// received_at by event_months (timeSpan), which PostgreSQL prunes
// partitions by, as the listing does; the filters are the listing's
// conditions (termWhere). Grouping by target joins event_targets, and the
// totals come from a second GROUP BY over events alone, so that events
// without a target still count.
func (s *Store) Stats(ctx context.Context, sq *hashtrail.StatsQuery) (*hashtrail.Stats, error) {
	if err := sq.Check(); err != nil {
		return nil, err
	}
	st := &hashtrail.Stats{Groups: []hashtrail.StatsGroup{}, Buckets: []hashtrail.StatsBucketCount{}}
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		q := &sq.Query
		num, err := tenantNum(ctx, tx, q.Tenant)
		if err != nil {
			return err
		}
		if countable(sq) {
			return countStats(ctx, tx, st, sq, num)
		}
		var span *monthSpan
		if !q.Since.IsZero() || !q.Until.IsZero() {
			if span, err = timeSpan(ctx, tx, num, q.Since, q.Until); err != nil || span == nil {
				return err
			}
		}
		var a args
		where, err := statsWhere(sq, num, span, &a)
		if err != nil {
			return err
		}
		bucket := pgBucket(sq.Bucket)
		if sq.GroupBy != hashtrail.StatsTarget {
			return statsRows(ctx, tx, st, sq, pgGroup(sq.GroupBy), bucket, "events e", where, a, true)
		}
		if err := statsRows(ctx, tx, st, sq, "NULL::text", bucket, "events e", where, a, true); err != nil {
			return err
		}
		return statsRows(ctx, tx, st, sq, "x.target", bucket,
			"events e JOIN event_targets x ON x.tenant = e.tenant AND x.seq = e.seq AND x.received_at = e.received_at", where, a, false)
	})
	if err != nil {
		return nil, wrap("stats", err)
	}
	hashtrail.SortGroups(st.Groups)
	return st, nil
}

// statsWhere returns the WHERE clause of a count over sq on the tenant
// with num.
func statsWhere(sq *hashtrail.StatsQuery, num int64, span *monthSpan, a *args) (string, error) {
	q := &sq.Query
	where := []string{"e.tenant = " + a.add(num)}
	c, err := termsCond(q.AllTerms(), num, a)
	if err != nil {
		return "", err
	}
	if c != "true" {
		where = append(where, c)
	}
	if span != nil {
		where = append(where, "e.received_at >= "+a.add(span.lo), "e.received_at < "+a.add(span.hi))
	}
	if !q.Since.IsZero() {
		where = append(where, "e.time >= "+a.add(q.Since.Time))
	}
	if !q.Until.IsZero() {
		where = append(where, "e.time < "+a.add(q.Until.Time))
	}
	for _, x := range sq.Exclude {
		c, err := termsCond(x.Match.AllTerms(), num, a)
		if err != nil {
			return "", err
		}
		conds := []string{c}
		if !x.ReceivedBefore.IsZero() {
			conds = append(conds, "e.received_at < "+a.add(x.ReceivedBefore.Time))
		}
		for _, u := range x.Unless {
			uc, err := termsCond(u.AllTerms(), num, a)
			if err != nil {
				return "", err
			}
			conds = append(conds, "NOT coalesce("+uc+", false)")
		}
		where = append(where, "NOT coalesce(("+strings.Join(conds, " AND ")+"), false)")
	}
	return strings.Join(where, " AND "), nil
}

// termsCond returns the condition that every term holds ("true" for none).
func termsCond(terms []hashtrail.Term, num int64, a *args) (string, error) {
	if len(terms) == 0 {
		return "true", nil
	}
	conds := make([]string, 0, len(terms))
	for _, t := range terms {
		w, err := termWhere(t, num, a)
		if err != nil {
			return "", err
		}
		conds = append(conds, w)
	}
	return "(" + strings.Join(conds, " AND ") + ")", nil
}

// statsRows runs one GROUP BY (key, bucket) and adds its rows to st: to
// Total and the buckets when totals is set, to the groups (and each
// bucket's groups) for rows with a key.
func statsRows(ctx context.Context, tx pgx.Tx, st *hashtrail.Stats, sq *hashtrail.StatsQuery,
	key, bucket, from, where string, a args, totals bool) error {
	return scanStats(ctx, tx, st, sq, `SELECT (`+key+`)::text, `+bucket+`, count(*) FROM `+from+` WHERE `+where+` GROUP BY 1, 2`, a, totals)
}

// scanStats runs query, whose rows are (group key, bucket, count), and
// adds them to st: to Total and the buckets when totals is set, to the
// groups (and each bucket's groups) for rows with a key.
func scanStats(ctx context.Context, tx pgx.Tx, st *hashtrail.Stats, sq *hashtrail.StatsQuery, query string, a args, totals bool) error {
	rows, err := tx.Query(ctx, query, a...)
	if err != nil {
		return err
	}
	defer rows.Close()
	groups := map[string]int{}
	buckets := map[time.Time]int{}
	for i, b := range st.Buckets {
		buckets[b.Start.Time] = i
	}
	for rows.Next() {
		var k *string
		var b *time.Time
		var n int64
		if err := rows.Scan(&k, &b, &n); err != nil {
			return err
		}
		bi := -1
		if b != nil {
			start := b.UTC()
			i, ok := buckets[start]
			if !ok {
				i = len(st.Buckets)
				buckets[start] = i
				st.Buckets = append(st.Buckets, hashtrail.StatsBucketCount{Start: hashtrail.NewTime(start)})
			}
			bi = i
		}
		if totals {
			st.Total += n
			if bi >= 0 {
				st.Buckets[bi].Count += n
			}
		}
		if k == nil || sq.GroupBy == "" {
			continue
		}
		name, err := groupName(sq.GroupBy, *k)
		if err != nil {
			return err
		}
		gi, ok := groups[name]
		if !ok {
			gi = len(st.Groups)
			groups[name] = gi
			st.Groups = append(st.Groups, hashtrail.StatsGroup{Key: name})
		}
		st.Groups[gi].Count += n
		if bi >= 0 {
			st.Buckets[bi].Groups = append(st.Buckets[bi].Groups, hashtrail.StatsGroup{Key: name, Count: n})
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for i := 1; i < len(st.Buckets); i++ {
		for j := i; j > 0 && st.Buckets[j].Start.Before(st.Buckets[j-1].Start.Time); j-- {
			st.Buckets[j], st.Buckets[j-1] = st.Buckets[j-1], st.Buckets[j]
		}
	}
	return nil
}

// pgGroup returns the SQL of a group's key: a column, or the part of the
// facet code (facet.go) that holds a category, severity or outcome.
func pgGroup(f hashtrail.StatsField) string {
	switch f {
	case hashtrail.StatsAction:
		return "e.action"
	case hashtrail.StatsCategory:
		return fmt.Sprintf("e.facet / %d", facetCategory)
	case hashtrail.StatsSeverity:
		return fmt.Sprintf("e.facet %% %d / %d", facetCategory, facetSeverity)
	case hashtrail.StatsOutcome:
		return fmt.Sprintf("e.facet %% %d", facetSeverity)
	case hashtrail.StatsActor:
		return "e.actor"
	case hashtrail.StatsCountry:
		return "e.country"
	}
	return "NULL::text"
}

// groupName turns a key of pgGroup into the group's name.
func groupName(f hashtrail.StatsField, k string) (string, error) {
	var names []string
	switch f {
	case hashtrail.StatsCategory:
		names = enumNames(hashtrail.Categories)
	case hashtrail.StatsSeverity:
		names = enumNames(hashtrail.Severities)
	case hashtrail.StatsOutcome:
		names = enumNames(outcomes)
	default:
		return k, nil
	}
	i, err := strconv.Atoi(k)
	if err != nil || i < 0 || i >= len(names) {
		return "", fmt.Errorf("facet part %q of %s out of range", k, f)
	}
	return names[i], nil
}

func enumNames[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

// pgBucket returns the SQL of an event's bucket start (a timestamp in
// UTC; date_trunc's weeks start on Monday), or NULL.
func pgBucket(b hashtrail.StatsBucket) string {
	if !b.Valid() {
		return "NULL::timestamp"
	}
	return "date_trunc('" + string(b) + "', e.time AT TIME ZONE 'UTC')"
}
