package sqlite

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"net/netip"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/store/internal/ingest"
)

// Event positions: pos = tenant num << seqBits | seq.
const (
	seqBits  = 40
	seqLimit = int64(1) << seqBits // seqs are below it
	seqMask  = seqLimit - 1
	numLimit = int64(1) << 23 // tenant nums are below it
)

// pos returns the position of a tenant's event.
func pos(num, seq int64) int64 { return num<<seqBits | seq }

// encodeBody returns the body of e as events.body keeps it
// (ingest.EncodeBody: compact JSON of every field that is not a column).
func encodeBody(_ *bytes.Buffer, e *hashtrail.Event) ([]byte, error) {
	b, err := ingest.EncodeBody(e)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return b, nil
}

// decodeBody fills e's body fields from b.
func decodeBody(b []byte, e *hashtrail.Event) error {
	if err := ingest.DecodeBody(b, e); err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	return nil
}

// actorColumns returns the actor and actor_email column values of e.
func actorColumns(e *hashtrail.Event) (actor, email any) {
	k, m := ingest.Actor(e)
	if k != "" {
		actor = k
	}
	if m != "" {
		email = m
	}
	return actor, email
}

// ipColumn returns context.ip as 16 bytes (IPv4 in its IPv4-mapped IPv6
// form, zone dropped), or nil when absent or unparsable.
func ipColumn(e *hashtrail.Event) any {
	a, ok := ingest.IP(e)
	if !ok {
		return nil
	}
	b := a.As16()
	return b[:]
}

// ipRange returns the inclusive 16-byte bounds of prefix p, in the form of
// ipColumn: an IPv4 prefix covers the IPv4-mapped addresses.
func ipRange(p netip.Prefix) (lo, hi []byte) {
	p = p.Masked()
	a := p.Addr()
	bits := p.Bits()
	if a.Is4() {
		bits += 96
	}
	l := a.As16()
	h := l
	for i := bits; i < 128; i++ {
		h[i/8] |= 0x80 >> (i % 8)
	}
	return l[:], h[:]
}

// leafColumn returns the leaf hash as raw bytes, or nil when not set.
func leafColumn(e *hashtrail.Event) (any, error) {
	if e.LeafHash == "" {
		return nil, nil
	}
	b, err := hex.DecodeString(e.LeafHash)
	if err != nil {
		return nil, fmt.Errorf("sqlite: event %s: leaf hash is not hex: %w", e.ID, err)
	}
	return b, nil
}

// leafString returns the leaf hash column as lowercase hex.
func leafString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return hex.EncodeToString(b)
}

// severityOf returns the severity of rank r.
func severityOf(r int) hashtrail.Severity {
	if r < 0 || r >= len(hashtrail.Severities) {
		return ""
	}
	return hashtrail.Severities[r]
}
