package sqlite

import (
	"bytes"
	"encoding/hex"
	"encoding/json"

	"fmt"
	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"
	"net/netip"
	"strings"

	"github.com/hashtrail/hashtrail"
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

// body is the part of an event kept in events.body: every field that is not
// a column of its own. All members are omitted when empty, which keeps the
// encoding compact.
type body struct {
	Reason      string             `json:"reason,omitempty"`
	Error       string             `json:"error,omitempty"`
	Description string             `json:"description,omitempty"`
	Actor       *hashtrail.Actor   `json:"actor,omitempty"`
	Targets     []hashtrail.Target `json:"targets,omitempty"`
	Context     *hashtrail.Context `json:"context,omitempty"`
	Service     *hashtrail.Service `json:"service,omitempty"`
	Changes     []hashtrail.Change `json:"changes,omitempty"`
	Metadata    json.RawMessage    `json:"metadata,omitempty"`
	Tags        []string           `json:"tags,omitempty"`
	Output      *hashtrail.Output  `json:"output,omitempty"`
}

// encodeBody returns the body of e as compact JSON without HTML escaping, so
// strings and raw JSON (metadata, changes) come back byte for byte (raw JSON
// is compacted). It uses the v2 JSON implementation, which is faster in both
// directions; the v1 struct tags keep their meaning.
func encodeBody(buf *bytes.Buffer, e *hashtrail.Event) ([]byte, error) {
	b, err := jsonv2.Marshal(body{
		Reason: e.Reason, Error: e.Error, Description: e.Description,
		Actor: e.Actor, Targets: e.Targets, Context: e.Context, Service: e.Service,
		Changes: e.Changes, Metadata: e.Metadata, Tags: e.Tags, Output: e.Output,
	}, jsonOpts)
	if err != nil {
		return nil, fmt.Errorf("sqlite: encode event %s: %w", e.ID, err)
	}
	return b, nil
}

// decodeBody fills e's body fields from b.
func decodeBody(b []byte, e *hashtrail.Event) error {
	var v body
	if err := jsonv2.Unmarshal(b, &v, jsonOpts); err != nil {
		return fmt.Errorf("sqlite: decode event %s: %w", e.ID, err)
	}
	e.Reason, e.Error, e.Description = v.Reason, v.Error, v.Description
	e.Actor, e.Targets, e.Context, e.Service = v.Actor, v.Targets, v.Context, v.Service
	e.Changes, e.Metadata, e.Tags, e.Output = v.Changes, v.Metadata, v.Tags, v.Output
	return nil
}

// jsonOpts gives v1 semantics (omitempty, nil slices, raw messages) to the
// v2 implementation, without v1's HTML escaping, which would change the
// bytes of raw JSON (metadata, changes).
var jsonOpts = jsonv2.JoinOptions(jsonv1.DefaultOptionsV1(), jsontext.EscapeForHTML(false))

// actorColumns returns the actor and actor_email column values of e.
func actorColumns(e *hashtrail.Event) (actor, email any) {
	if k := e.ActorKey(); k != "" {
		actor = k
	}
	if e.Actor != nil && e.Actor.Email != "" {
		email = strings.ToLower(e.Actor.Email)
	}
	return actor, email
}

// ipColumn returns context.ip as 16 bytes (IPv4 in its IPv4-mapped IPv6
// form, zone dropped), or nil when absent or unparsable.
func ipColumn(e *hashtrail.Event) any {
	if e.Context == nil || e.Context.IP == "" {
		return nil
	}
	a, err := netip.ParseAddr(e.Context.IP)
	if err != nil {
		return nil
	}
	b := a.WithZone("").As16()
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
