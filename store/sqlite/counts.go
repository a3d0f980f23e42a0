package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/hashtrail/hashtrail"
)

// countKey is one row of event_counts (migration 0010).
type countKey struct {
	num, hour                 int64
	action, category, outcome string
	severity                  int
}

// eventCounts collects how many new events each event_counts row gains.
type eventCounts map[countKey]int64

// floorDiv divides rounding down, so that times before 1970 fall in the
// right hour.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func (c eventCounts) add(num int64, e *hashtrail.Event) {
	c[countKey{num, floorDiv(e.Time.Micros(), hourMicros), e.Action, string(e.Category), string(e.Outcome), e.Severity.Rank()}]++
}

// write adds the collected counts to event_counts in tx.
func (c eventCounts) write(tx *wtx) error {
	for k, n := range c {
		if _, err := tx.exec(`INSERT INTO event_counts (tenant, hour, action, category, severity, outcome, n) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (tenant, hour, action, category, severity, outcome) DO UPDATE SET n = n + excluded.n`,
			k.num, k.hour, k.action, k.category, k.severity, k.outcome, n); err != nil {
			return err
		}
	}
	return nil
}

// uncount subtracts from event_counts the events at positions first..last
// that are about to be deleted (a retention purge), in tx.
func uncount(tx *wtx, first, last int64) error {
	if _, err := tx.exec(`UPDATE event_counts AS c SET n = c.n - d.n
		FROM (SELECT tenant, `+floorHour+` AS hour, action, category, severity, outcome, count(*) AS n
			FROM events WHERE pos BETWEEN ? AND ? GROUP BY 1, 2, 3, 4, 5, 6) AS d
		WHERE c.tenant = d.tenant AND c.hour = d.hour AND c.action = d.action AND c.category = d.category
			AND c.severity = d.severity AND c.outcome = d.outcome`, first, last); err != nil {
		return fmt.Errorf("sqlite: purge: event counts: %w", err)
	}
	if _, err := tx.exec(`DELETE FROM event_counts WHERE tenant = ? AND n <= 0`, first>>seqBits); err != nil {
		return fmt.Errorf("sqlite: purge: event counts: %w", err)
	}
	return nil
}

// floorHour is the hour of event time of events (no alias), as
// event_counts keys it.
const floorHour = "(time - ((time % 3600000000) + 3600000000) % 3600000000) / 3600000000"

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
		if !t.IsZero() && t.Micros()%hourMicros != 0 {
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
func (s *Store) countStats(ctx context.Context, tx *sql.Tx, st *hashtrail.Stats, sq *hashtrail.StatsQuery, num int64) error {
	q := &sq.Query
	conds := []string{"e.tenant = ?"}
	args := []any{num}
	if !q.Since.IsZero() {
		conds, args = append(conds, "e.hour >= ?"), append(args, q.Since.Micros()/hourMicros)
	}
	if !q.Until.IsZero() {
		conds, args = append(conds, "e.hour < ?"), append(args, q.Until.Micros()/hourMicros)
	}
	c, a, err := termsCond(q.AllTerms(), 0, 0)
	if err != nil {
		return err
	}
	if c != "1" {
		conds, args = append(conds, c), append(args, a...)
	}
	bucket := strings.ReplaceAll(bucketExpr(sq.Bucket), "e.time", "(e.hour * 3600000000)")
	query := `SELECT ` + groupExpr(sq.GroupBy) + `, ` + bucket + `, sum(e.n) FROM event_counts e WHERE ` +
		strings.Join(conds, " AND ") + ` GROUP BY 1, 2`
	return s.scanStats(ctx, tx, st, sq, query, args, true)
}
