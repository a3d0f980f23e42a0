package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/hashtrail/hashtrail"
)

// textWindow is how many of the newest seqs a free-text listing reads
// first (textEvents).
var textWindow int64 = 50_000

// windowed reports whether q is a newest-first listing with a positive
// free-text term and no target to drive it, which textEvents serves.
func windowed(q *hashtrail.Query) bool {
	if q.Order == hashtrail.OrderAsc || q.Target != "" || q.AfterSeq != nil {
		return false
	}
	for _, t := range q.Terms {
		if t.Field == hashtrail.TermText && !t.Not {
			return true
		}
		if t.Field == hashtrail.TermTarget && !t.Not {
			return false // targetDriven may drive it
		}
	}
	return false
}

// textEvents serves a free-text listing (windowed) in two steps, because
// PostgreSQL cannot know how rare a word is: for a word outside its
// statistics it assumes a frequency that makes walking the tenant's events
// newest first look cheap, and a rare word then reads millions of rows
// (docs/benchmarks.md). The first step reads only the newest textWindow
// seqs, where a common word fills the page at once; when they hold less
// than a page, the second step asks for the rest below the window with
// plain index scans turned off, so that the GIN index of words finds the
// few matches (a bitmap scan) and they are sorted. The result is the
// listing's, in order.
func textEvents(ctx context.Context, tx pgx.Tx, q *hashtrail.Query) ([]*hashtrail.Event, error) {
	top := int64(0)
	if q.BeforeSeq != nil {
		top = *q.BeforeSeq
	} else if err := tx.QueryRow(ctx, `SELECT next_seq FROM tenants WHERE id = $1`, q.Tenant).Scan(&top); err != nil {
		return nil, err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = hashtrail.DefaultLimit
	}
	limit = min(limit, hashtrail.MaxLimit+1)
	split := top - textWindow
	first := *q
	first.Limit = limit
	if split > 0 {
		after := split - 1
		first.AfterSeq = &after
	}
	events, err := runQuery(ctx, tx, &first)
	if err != nil || split <= 0 || len(events) >= limit {
		return events, err
	}
	rest := *q
	rest.BeforeSeq, rest.Limit = &split, limit-len(events)
	if _, err := tx.Exec(ctx, `SET LOCAL enable_indexscan = off`); err != nil {
		return nil, err
	}
	more, err := runQuery(ctx, tx, &rest)
	if err != nil {
		return nil, err
	}
	return append(events, more...), nil
}

// runQuery plans and runs one listing query in tx.
func runQuery(ctx context.Context, tx pgx.Tx, q *hashtrail.Query) ([]*hashtrail.Event, error) {
	sql, args, ok, err := planQuery(ctx, tx, q)
	if err != nil || !ok {
		return nil, err
	}
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return scanEvents(rows, q.Tenant)
}
