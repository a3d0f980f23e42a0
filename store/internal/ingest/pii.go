package ingest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf16"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/hashtrail/hashtrail"
)

// PIIRow is one role's personal values as a store keeps them (DESIGN §2):
// whom they are about, JCS(P_R), the salt and the commitment, with
// commitment = SHA-256(salt || values).
type PIIRow struct {
	Role       string
	Subject    string // "" when the role has none
	Values     []byte // JCS(P_R); nil once erased
	Salt       []byte // S_R; nil once erased
	Commitment []byte // C_R, 32 raw bytes
	Erased     bool
}

// PIIRows returns the rows of a sealed event's roles. It checks that
// commitment = SHA-256(salt || values), the invariant stores document for
// verifiers.
func PIIRows(seq int64, roles []hashtrail.PIIRole) ([]PIIRow, error) {
	rows := make([]PIIRow, 0, len(roles))
	for _, r := range roles {
		c, err := hex.DecodeString(r.Commitment)
		if err != nil || len(c) != sha256.Size {
			return nil, fmt.Errorf("seq %d role %s: commitment %q is not hex SHA-256", seq, r.Role, r.Commitment)
		}
		vals, err := JCSObject(r.Values)
		if err != nil {
			return nil, fmt.Errorf("seq %d role %s: %w", seq, r.Role, err)
		}
		h := sha256.New()
		h.Write(r.Salt)
		h.Write(vals)
		if !bytes.Equal(h.Sum(nil), c) {
			return nil, fmt.Errorf("seq %d role %s: the stored values would not match the commitment", seq, r.Role)
		}
		rows = append(rows, PIIRow{Role: r.Role, Subject: r.Subject, Values: vals, Salt: r.Salt, Commitment: c})
	}
	return rows, nil
}

// JCSObject returns the RFC 8785 form of a JSON object whose member values
// are already canonical, as PIIRole.Values are: members sorted by the UTF-16
// code units of their names, names escaped as RFC 8785 does (which is how
// the JSON v2 encoder writes strings by default).
func JCSObject(m map[string]json.RawMessage) ([]byte, error) {
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

// JoinRoles returns e with the values of the stored rows rs put back and PII
// set: {commitment, salt} for a role with values, {commitment, erased} for an
// erased one, and {commitment} alone for a row that lost its values without
// being erased (which a verifier reports).
func JoinRoles(e *hashtrail.Event, rs []PIIRow) (*hashtrail.Event, error) {
	if len(rs) == 0 {
		return e, nil
	}
	pii := make(map[string]hashtrail.PIICommitment, len(rs))
	roles := make([]hashtrail.PIIRole, 0, len(rs))
	for _, r := range rs {
		c := hashtrail.PIICommitment{Commitment: hex.EncodeToString(r.Commitment), Erased: r.Erased}
		if !r.Erased && r.Values != nil && r.Salt != nil {
			var vals map[string]json.RawMessage
			if err := jsonv2.Unmarshal(r.Values, &vals, jsonOpts); err != nil {
				return nil, fmt.Errorf("event %s role %s: personal values: %w", e.ID, r.Role, err)
			}
			roles = append(roles, hashtrail.PIIRole{Role: r.Role, Values: vals})
			c.Salt = r.Salt
		}
		pii[r.Role] = c
	}
	out, err := hashtrail.JoinPII(e, roles)
	if err != nil {
		return nil, fmt.Errorf("event %s: %w", e.ID, err)
	}
	out.PII = pii
	return out, nil
}
