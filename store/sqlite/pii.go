package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/store/internal/ingest"
)

// piiCols is the column count of the multi-row INSERT into event_pii.
const piiCols = 7

// piiRows appends to rows the event_pii rows of a sealed event's roles:
// tenant, seq, role, subject, values_jcs, salt, commitment. ingest.PIIRows
// checks that commitment = SHA-256(salt || values_jcs), the invariant the
// table documents for verifiers.
func piiRows(rows []any, num, seq int64, roles []hashtrail.PIIRole) ([]any, error) {
	rs, err := ingest.PIIRows(seq, roles)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	for _, r := range rs {
		var subject any
		if r.Subject != "" {
			subject = r.Subject
		}
		rows = append(rows, num, seq, r.Role, subject, r.Values, r.Salt, r.Commitment)
	}
	return rows, nil
}

// piiRow is one row of event_pii as reads use it.
type piiRow struct {
	role       string
	values     []byte // nil when erased or missing
	salt       []byte
	commitment []byte
	erased     bool
}

// joinPII reads the event_pii rows of the events (all of the tenant with
// num, as scanned from events) and returns the events with their personal
// values put back and PII set: {commitment, salt} for a role with values,
// {commitment, erased} for an erased one, and {commitment} alone for a row
// that lost its values without being erased (which a verifier reports).
func joinPII(ctx context.Context, tx queryer, num int64, events []*hashtrail.Event) error {
	if len(events) == 0 {
		return nil
	}
	bySeq := make(map[int64][]piiRow, len(events))
	scan := func(query string, args ...any) error {
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("sqlite: read personal values: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var seq int64
			var r piiRow
			var erased sql.NullInt64
			if err := rows.Scan(&seq, &r.role, &r.values, &r.salt, &r.commitment, &erased); err != nil {
				return fmt.Errorf("sqlite: read personal values: %w", err)
			}
			r.erased = erased.Valid
			bySeq[seq] = append(bySeq[seq], r)
		}
		return rows.Err()
	}
	const sel = `SELECT seq, role, values_jcs, salt, commitment, erased_at FROM event_pii WHERE tenant = ? AND `
	lo, hi := events[0].Seq, events[0].Seq
	for _, e := range events {
		lo, hi = min(lo, e.Seq), max(hi, e.Seq)
	}
	var err error
	if hi-lo < 4*int64(len(events)) {
		// A page without filters, or with filters that match most events:
		// one range read.
		err = scan(sel+`seq BETWEEN ? AND ?`, num, lo, hi)
	} else {
		seqs := make([]int64, len(events))
		for i, e := range events {
			seqs[i] = e.Seq
		}
		err = inChunks(seqs, func(list string, args []any) error {
			return scan(sel+`seq IN (`+list+`)`, append([]any{num}, args...)...)
		})
	}
	if err != nil {
		return err
	}
	for i, e := range events {
		rs := bySeq[e.Seq]
		if len(rs) == 0 {
			continue
		}
		if events[i], err = joinRoles(e, rs); err != nil {
			return err
		}
	}
	return nil
}

// queryer is a *sql.Tx, or the writer's *sql.Conn inside a write transaction.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// joinRoles returns e with the values of rs put back and PII set (see
// ingest.JoinRoles).
func joinRoles(e *hashtrail.Event, rs []piiRow) (*hashtrail.Event, error) {
	rows := make([]ingest.PIIRow, len(rs))
	for i, r := range rs {
		rows[i] = ingest.PIIRow{Role: r.role, Values: r.values, Salt: r.salt, Commitment: r.commitment, Erased: r.erased}
	}
	out, err := ingest.JoinRoles(e, rows)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return out, nil
}
