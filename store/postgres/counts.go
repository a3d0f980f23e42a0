package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hashtrail/hashtrail"
)

// hourOf is the event_counts hour of the events' time column (migration
// 0006): whole hours since the epoch, rounded down.
const hourOf = "floor(extract(epoch FROM time) / 3600)::bigint"

// countRows adds the events of rows (a relation with tenant, time,
// action and facet) to event_counts, with sign "" or "-".
func countRows(sign, rows string) string {
	return `INSERT INTO event_counts (tenant, hour, action, facet, n)
		SELECT tenant, ` + hourOf + `, action, facet, ` + sign + `count(*) FROM ` + rows + ` GROUP BY 1, 2, 3, 4
		ON CONFLICT (tenant, hour, action, facet) DO UPDATE SET n = event_counts.n + excluded.n`
}

// writeCounts adds the new events of w to event_counts, in tx.
func (w *writeRows) writeCounts(ctx context.Context, tx pgx.Tx) error {
	if len(w.eSeq) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, countRows("", `unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::smallint[]) AS u (tenant, time, action, facet)`),
		w.eTenant, w.eTime, w.eAction, w.eFacet)
	return err
}

// deleteCounted runs del, a DELETE of events rows (without RETURNING)
// whose first argument is the tenant's num, subtracting the rows it deletes from event_counts in the same
// statement; it returns how many it deleted.
func deleteCounted(ctx context.Context, tx pgx.Tx, del string, args ...any) (int64, error) {
	var n int64
	err := tx.QueryRow(ctx, `WITH d AS (`+del+` RETURNING tenant, time, action, facet),
		c AS (`+countRows("-", "d")+`)
		SELECT count(*) FROM d`, args...).Scan(&n)
	if err != nil {
		return 0, err
	}
	_, err = tx.Exec(ctx, `DELETE FROM event_counts WHERE tenant = $1 AND n <= 0`, args[0])
	return n, err
}

// uncountPartition subtracts every row of partition id (quoted), all of
// tenant num, from event_counts, before it is dropped whole.
func uncountPartition(ctx context.Context, tx pgx.Tx, num int64, id string) error {
	if _, err := tx.Exec(ctx, countRows("-", id)); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `DELETE FROM event_counts WHERE tenant = $1 AND n <= 0`, num)
	return err
}

// countable reports whether event_counts answers sq exactly: no
// exclusion or seq bound, every term and the grouping on action,
// category, severity or outcome, buckets of an hour or more, and a time
// range on whole hours.
func countable(sq *hashtrail.StatsQuery) bool {
	q := &sq.Query
	if len(sq.Exclude) > 0 || q.AfterSeq != nil || q.BeforeSeq != nil || sq.Bucket == hashtrail.BucketMinute {
		return false
	}
	switch sq.GroupBy {
	case "", hashtrail.StatsAction, hashtrail.StatsCategory, hashtrail.StatsSeverity, hashtrail.StatsOutcome:
	default:
		return false
	}
	for _, t := range []hashtrail.Time{q.Since, q.Until} {
		if !t.IsZero() && !t.Equal(t.Truncate(time.Hour)) {
			return false
		}
	}
	for _, t := range q.AllTerms() {
		switch t.Field {
		case hashtrail.TermAction, hashtrail.TermCategory, hashtrail.TermSeverity, hashtrail.TermOutcome:
		default:
			return false
		}
	}
	return true
}

// countStats answers sq from event_counts (countable must hold) for the
// tenant with num.
func countStats(ctx context.Context, tx pgx.Tx, st *hashtrail.Stats, sq *hashtrail.StatsQuery, num int64) error {
	q := &sq.Query
	var a args
	where := []string{"e.tenant = " + a.add(num)}
	if !q.Since.IsZero() {
		where = append(where, "e.hour >= "+a.add(q.Since.Unix()/3600))
	}
	if !q.Until.IsZero() {
		where = append(where, "e.hour < "+a.add(q.Until.Unix()/3600))
	}
	c, err := termsCond(q.AllTerms(), num, &a)
	if err != nil {
		return err
	}
	if c != "true" {
		where = append(where, c)
	}
	bucket := "NULL::timestamp"
	if sq.Bucket.Valid() {
		bucket = "date_trunc('" + string(sq.Bucket) + "', to_timestamp(e.hour * 3600) AT TIME ZONE 'UTC')"
	}
	return scanStats(ctx, tx, st, sq, `SELECT (`+pgGroup(sq.GroupBy)+`)::text, `+bucket+`, sum(e.n)::bigint FROM event_counts e WHERE `+
		strings.Join(where, " AND ")+` GROUP BY 1, 2`, a, true)
}
