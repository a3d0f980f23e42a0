package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/hashtrail/hashtrail"
)

// Micros in the fixed-width buckets.
const (
	minuteMicros = int64(time.Minute / time.Microsecond)
	dayMicros    = 24 * hourMicros
	weekMicros   = 7 * dayMicros
	// mondayMicros is the offset of the first Monday after the epoch
	// (1970-01-05), where weeks start.
	mondayMicros = 4 * dayMicros
)

// Stats implements hashtrail.StatsStore. It counts in one read snapshot
// with GROUP BY over the tenant's range of positions, narrowed by
// event_hours to the stretch of the log that the time range covers (as
// the listing does). Grouping by target scans event_targets for the
// tenant's positions and joins each row to its event; the totals then
// come from a second query over events alone, so that events without a
// target still count.
func (s *Store) Stats(ctx context.Context, sq *hashtrail.StatsQuery) (*hashtrail.Stats, error) {
	if err := sq.Check(); err != nil {
		return nil, err
	}
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("sqlite: stats: %w", err)
	}
	defer tx.Rollback()
	num, err := tenantNum(ctx, tx, sq.Query.Tenant)
	if err != nil {
		return nil, err
	}
	st := &hashtrail.Stats{Groups: []hashtrail.StatsGroup{}, Buckets: []hashtrail.StatsBucketCount{}}
	if countable(sq) {
		if err := s.countStats(ctx, tx, st, sq, num); err != nil {
			return nil, err
		}
		hashtrail.SortGroups(st.Groups)
		return st, nil
	}
	q, ok, err := narrowByTime(ctx, tx, num, &sq.Query)
	if err != nil || !ok {
		return st, err
	}
	from, where, args, ok, err := statsWhere(q, sq.Exclude, num, sq.GroupBy != hashtrail.StatsTarget)
	if err != nil || !ok {
		return st, err
	}
	bucket := bucketExpr(sq.Bucket)
	key := groupExpr(sq.GroupBy)
	if sq.GroupBy == hashtrail.StatsTarget {
		// Totals and buckets over events, then the groups over targets.
		if err := s.statsRows(ctx, tx, st, sq, "NULL", bucket, from, where, args); err != nil {
			return nil, err
		}
		if err := s.statsRows(ctx, tx, st, sq, key, bucket,
			"event_targets x CROSS JOIN events e ON e.pos = x.pos", strings.Replace(where, "e.pos BETWEEN", "x.pos BETWEEN", 1), args); err != nil {
			return nil, err
		}
	} else if err := s.statsRows(ctx, tx, st, sq, key, bucket, from, where, args); err != nil {
		return nil, err
	}
	hashtrail.SortGroups(st.Groups)
	return st, nil
}

// statsRows runs one GROUP BY (key, bucket) and adds its rows to st: to
// Total and the buckets when key is "NULL" or the query is not by target,
// to the groups (and each bucket's groups) for rows with a key.
func (s *Store) statsRows(ctx context.Context, tx *sql.Tx, st *hashtrail.Stats, sq *hashtrail.StatsQuery,
	key, bucket, from, where string, args []any) error {
	query := `SELECT ` + key + `, ` + bucket + `, count(*) FROM ` + from + ` WHERE ` + where + ` GROUP BY 1, 2`
	return s.scanStats(ctx, tx, st, sq, query, args, key == "NULL" || sq.GroupBy != hashtrail.StatsTarget)
}

// scanStats runs query, whose rows are (group key, bucket, count), and
// adds them to st: to Total and the buckets when totals is set, to the
// groups (and each bucket's groups) for rows with a key.
func (s *Store) scanStats(ctx context.Context, tx *sql.Tx, st *hashtrail.Stats, sq *hashtrail.StatsQuery,
	query string, args []any, totals bool) error {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("sqlite: stats: %w", err)
	}
	defer rows.Close()
	groups := map[string]int{}
	buckets := map[int64]int{}
	for i, b := range st.Buckets {
		buckets[b.Start.Micros()] = i
	}
	for rows.Next() {
		var k, b sql.NullString
		var n int64
		if err := rows.Scan(&k, &b, &n); err != nil {
			return fmt.Errorf("sqlite: stats: %w", err)
		}
		bi := -1
		if sq.Bucket != "" {
			start, err := bucketStart(sq.Bucket, b.String)
			if err != nil {
				return err
			}
			i, ok := buckets[start.Micros()]
			if !ok {
				i = len(st.Buckets)
				buckets[start.Micros()] = i
				st.Buckets = append(st.Buckets, hashtrail.StatsBucketCount{Start: start})
			}
			bi = i
		}
		if totals {
			st.Total += n
			if bi >= 0 {
				st.Buckets[bi].Count += n
			}
		}
		if !k.Valid || sq.GroupBy == "" {
			continue
		}
		name := k.String
		if sq.GroupBy == hashtrail.StatsSeverity {
			var r int
			fmt.Sscan(k.String, &r)
			name = string(severityOf(r))
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
		return fmt.Errorf("sqlite: stats: %w", err)
	}
	sortBuckets(st.Buckets)
	return nil
}

func sortBuckets(bs []hashtrail.StatsBucketCount) {
	for i := 1; i < len(bs); i++ {
		for j := i; j > 0 && bs[j].Start.Before(bs[j-1].Start.Time); j-- {
			bs[j], bs[j-1] = bs[j-1], bs[j]
		}
	}
}

// statsWhere returns the FROM and WHERE clauses of a count over q (its
// terms, time range and seq bounds) on the tenant with num, leaving out
// the events of every exclusion; ok=false when nothing can match. With
// drive, a selective term drives the count as it drives a listing
// (driver: a target, a tag, the free-text index with actor and metadata
// prefilters), so counting one actor's or one object's events reads
// those events only.
func statsWhere(q *hashtrail.Query, exclude []hashtrail.Exclusion, num int64, drive bool) (from, where string, args []any, ok bool, err error) {
	lo, hi := int64(0), seqMask
	if q.AfterSeq != nil {
		lo = max(lo, *q.AfterSeq+1)
	}
	if q.BeforeSeq != nil {
		hi = min(hi, *q.BeforeSeq-1)
	}
	if lo > hi || lo > seqMask || hi < 0 {
		return "", "", nil, false, nil
	}
	plo, phi := pos(num, lo), pos(num, hi)
	from = "events e"
	conds := []string{"e.pos BETWEEN ? AND ?"}
	args = []any{plo, phi}
	terms := q.AllTerms()
	if d, rest, ok := driver(terms); drive && ok {
		terms = rest
		switch d.field {
		case hashtrail.TermTarget:
			from, conds = "event_targets d CROSS JOIN events e ON e.pos = d.pos", []string{"d.target = ?", "d.pos BETWEEN ? AND ?"}
		case hashtrail.TermTag:
			from, conds = "event_tags d CROSS JOIN events e ON e.pos = d.pos", []string{"d.tag = ?", "d.pos BETWEEN ? AND ?"}
		default:
			from, conds = "event_text d CROSS JOIN events e ON e.pos = d.rowid", []string{"event_text MATCH ?", "d.rowid BETWEEN ? AND ?"}
		}
		args = []any{d.value, plo, phi}
	}
	c, a, err := termsCond(terms, plo, phi)
	if err != nil {
		return "", "", nil, false, err
	}
	if c != "1" {
		conds, args = append(conds, c), append(args, a...)
	}
	if !q.Since.IsZero() {
		conds, args = append(conds, "e.time >= ?"), append(args, q.Since.Micros())
	}
	if !q.Until.IsZero() {
		conds, args = append(conds, "e.time < ?"), append(args, q.Until.Micros())
	}
	for _, x := range exclude {
		c, a, err := exclusionCond(x, plo, phi)
		if err != nil {
			return "", "", nil, false, err
		}
		conds, args = append(conds, "NOT "+c), append(args, a...)
	}
	return from, strings.Join(conds, " AND "), args, true, nil
}

// termsCond returns the condition that every term holds ("1" for none).
func termsCond(terms []hashtrail.Term, plo, phi int64) (string, []any, error) {
	if len(terms) == 0 {
		return "1", nil, nil
	}
	var conds []string
	var args []any
	for _, t := range terms {
		w, a, err := whereTerm(t, plo, phi)
		if err != nil {
			return "", nil, err
		}
		conds, args = append(conds, w), append(args, a...)
	}
	return "(" + strings.Join(conds, " AND ") + ")", args, nil
}

// exclusionCond returns the condition that an event is one x excludes,
// never NULL.
func exclusionCond(x hashtrail.Exclusion, plo, phi int64) (string, []any, error) {
	c, args, err := termsCond(x.Match.AllTerms(), plo, phi)
	if err != nil {
		return "", nil, err
	}
	conds := []string{c}
	if !x.ReceivedBefore.IsZero() {
		conds, args = append(conds, "e.received_at < ?"), append(args, x.ReceivedBefore.Micros())
	}
	for _, u := range x.Unless {
		uc, ua, err := termsCond(u.AllTerms(), plo, phi)
		if err != nil {
			return "", nil, err
		}
		conds, args = append(conds, "NOT coalesce("+uc+", 0)"), append(args, ua...)
	}
	return "coalesce((" + strings.Join(conds, " AND ") + "), 0)", args, nil
}

// groupExpr returns the SQL of a group's key (NULL for no group).
func groupExpr(f hashtrail.StatsField) string {
	switch f {
	case hashtrail.StatsAction:
		return "e.action"
	case hashtrail.StatsCategory:
		return "e.category"
	case hashtrail.StatsOutcome:
		return "e.outcome"
	case hashtrail.StatsSeverity:
		return "e.severity"
	case hashtrail.StatsActor:
		return "e.actor"
	case hashtrail.StatsCountry:
		return "e.country"
	case hashtrail.StatsTarget:
		return "x.target"
	}
	return "NULL"
}

// bucketExpr returns the SQL of an event's bucket: the start in micros of
// a fixed-width bucket (floored, so times before 1970 fall right), or
// "YYYY-MM" for a month; NULL for no bucket.
func bucketExpr(b hashtrail.StatsBucket) string {
	floor := func(w, off int64) string {
		return fmt.Sprintf("(e.time - (((e.time - %d) %% %d) + %d) %% %d)", off, w, w, w)
	}
	switch b {
	case hashtrail.BucketMinute:
		return floor(minuteMicros, 0)
	case hashtrail.BucketHour:
		return floor(hourMicros, 0)
	case hashtrail.BucketDay:
		return floor(dayMicros, 0)
	case hashtrail.BucketWeek:
		return floor(weekMicros, mondayMicros)
	case hashtrail.BucketMonth:
		return "strftime('%Y-%m', " + floor(1000000, 0) + " / 1000000, 'unixepoch')"
	}
	return "NULL"
}

// bucketStart reads a bucket of bucketExpr.
func bucketStart(b hashtrail.StatsBucket, s string) (hashtrail.Time, error) {
	if b == hashtrail.BucketMonth {
		t, err := time.Parse("2006-01", s)
		if err != nil {
			return hashtrail.Time{}, fmt.Errorf("sqlite: stats: month %q: %w", s, err)
		}
		return hashtrail.NewTime(t), nil
	}
	var us int64
	if _, err := fmt.Sscan(s, &us); err != nil {
		return hashtrail.Time{}, fmt.Errorf("sqlite: stats: bucket %q: %w", s, err)
	}
	return hashtrail.TimeFromMicros(us), nil
}
