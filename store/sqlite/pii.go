package sqlite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf16"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/hashtrail/hashtrail"
)

// piiCols is the column count of the multi-row INSERT into event_pii.
const piiCols = 7

// piiRows appends to rows the event_pii rows of a sealed event's roles:
// tenant, seq, role, subject, values_jcs, salt, commitment. It checks that
// commitment = SHA-256(salt || values_jcs), the invariant the table
// documents for verifiers.
func piiRows(rows []any, num, seq int64, roles []hashtrail.PIIRole) ([]any, error) {
	for _, r := range roles {
		c, err := hex.DecodeString(r.Commitment)
		if err != nil || len(c) != sha256.Size {
			return nil, fmt.Errorf("sqlite: seq %d role %s: commitment %q is not hex SHA-256", seq, r.Role, r.Commitment)
		}
		vals, err := jcsObject(r.Values)
		if err != nil {
			return nil, fmt.Errorf("sqlite: seq %d role %s: %w", seq, r.Role, err)
		}
		h := sha256.New()
		h.Write(r.Salt)
		h.Write(vals)
		if !bytes.Equal(h.Sum(nil), c) {
			return nil, fmt.Errorf("sqlite: seq %d role %s: the stored values would not match the commitment", seq, r.Role)
		}
		var subject any
		if r.Subject != "" {
			subject = r.Subject
		}
		rows = append(rows, num, seq, r.Role, subject, vals, r.Salt, c)
	}
	return rows, nil
}

// jcsObject returns the RFC 8785 form of a JSON object whose member values
// are already canonical, as PIIRole.Values are: members sorted by the UTF-16
// code units of their names, names escaped as RFC 8785 does (which is how
// the JSON v2 encoder writes strings by default).
func jcsObject(m map[string]json.RawMessage) ([]byte, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareUTF16)
	size := 2
	for k, v := range m {
		size += len(k) + len(v) + 4
	}
	b := make([]byte, 0, size)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		if plainName(k) {
			b = append(b, '"')
			b = append(b, k...)
			b = append(b, '"')
		} else {
			name, err := jsonv2.Marshal(k)
			if err != nil {
				return nil, fmt.Errorf("personal value name %q: %w", k, err)
			}
			b = append(b, name...)
		}
		b = append(b, ':')
		b = append(b, m[k]...)
	}
	return append(b, '}'), nil
}

// plainName reports whether JSON writes s between quotes as it is, as it
// does JSON Pointers such as "/actor/email".
func plainName(s string) bool {
	for i := range len(s) {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// compareUTF16 orders strings by their UTF-16 code units (RFC 8785 §3.2.3).
func compareUTF16(a, b string) int {
	if isASCII(a) && isASCII(b) {
		return strings.Compare(a, b)
	}
	return slices.Compare(utf16.Encode([]rune(a)), utf16.Encode([]rune(b)))
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
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
func joinPII(ctx context.Context, tx *sql.Tx, num int64, events []*hashtrail.Event) error {
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

// joinRoles returns e with the values of rs put back and PII set.
func joinRoles(e *hashtrail.Event, rs []piiRow) (*hashtrail.Event, error) {
	pii := make(map[string]hashtrail.PIICommitment, len(rs))
	roles := make([]hashtrail.PIIRole, 0, len(rs))
	for _, r := range rs {
		c := hashtrail.PIICommitment{Commitment: hex.EncodeToString(r.commitment), Erased: r.erased}
		if !r.erased && r.values != nil && r.salt != nil {
			var vals map[string]json.RawMessage
			if err := jsonv2.Unmarshal(r.values, &vals, jsonOpts); err != nil {
				return nil, fmt.Errorf("sqlite: event %s role %s: personal values: %w", e.ID, r.role, err)
			}
			roles = append(roles, hashtrail.PIIRole{Role: r.role, Values: vals})
			c.Salt = r.salt
		}
		pii[r.role] = c
	}
	out, err := hashtrail.JoinPII(e, roles)
	if err != nil {
		return nil, fmt.Errorf("sqlite: event %s: %w", e.ID, err)
	}
	out.PII = pii
	return out, nil
}
