package ingest

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"

	"github.com/hashtrail/hashtrail"
)

// body is the part of an event a store keeps as its body: every field that
// is not a column of its own. All members are omitted when empty, which
// keeps the encoding compact.
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

// EncodeBody returns the body of e (every field but id, tenant, seq, time,
// received_at, action, category, severity, outcome, key_id and leaf_hash,
// which stores keep as columns) as compact JSON without HTML escaping, so
// strings and raw JSON (metadata, changes) come back byte for byte (raw JSON
// is compacted). It uses the v2 JSON implementation, which is faster in both
// directions; the v1 struct tags keep their meaning.
func EncodeBody(e *hashtrail.Event) ([]byte, error) {
	b, err := jsonv2.Marshal(body{
		Reason: e.Reason, Error: e.Error, Description: e.Description,
		Actor: e.Actor, Targets: e.Targets, Context: e.Context, Service: e.Service,
		Changes: e.Changes, Metadata: e.Metadata, Tags: e.Tags, Output: e.Output,
	}, jsonOpts)
	if err != nil {
		return nil, fmt.Errorf("encode event %s: %w", e.ID, err)
	}
	return b, nil
}

// DecodeBody fills e's body fields from b.
func DecodeBody(b []byte, e *hashtrail.Event) error {
	var v body
	if err := jsonv2.Unmarshal(b, &v, jsonOpts); err != nil {
		return fmt.Errorf("decode event %s: %w", e.ID, err)
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

// Actor returns the actor filter columns of e: its key (Event.ActorKey)
// and its email address lower-cased, each "" when absent.
func Actor(e *hashtrail.Event) (key, email string) {
	if e.Actor != nil && e.Actor.Email != "" {
		email = strings.ToLower(e.Actor.Email)
	}
	return e.ActorKey(), email
}

// IP returns context.ip without zone, or false when absent or unparsable.
func IP(e *hashtrail.Event) (netip.Addr, bool) {
	if e.Context == nil || e.Context.IP == "" {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(e.Context.IP)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.WithZone(""), true
}

// TargetKeys returns the distinct Target.Keys of e, in order.
func TargetKeys(e *hashtrail.Event) []string {
	var keys []string
	for i, t := range e.Targets {
		k := t.Key()
		dup := false
		for _, u := range e.Targets[:i] {
			if u.Key() == k {
				dup = true
				break
			}
		}
		if !dup {
			keys = append(keys, k)
		}
	}
	return keys
}
