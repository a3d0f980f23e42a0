package export

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	hashtrail "github.com/hashtrail/hashtrail"
)

// Evidence bundles written by the server (GET .../export?format=bundle):
// the same hashtrail-bundle/v1 document the CLI assembles (client.Bundle,
// docs/integrity.md), for the same offline check, `hashtrail verify
// --bundle`. The package imports only the root, so the format is written
// here from its specification; the tests check that the client reads and
// verifies what this writes.

// BundleFormatV1 names the bundle format.
const BundleFormatV1 = "hashtrail-bundle/v1"

// BundleSource is what a bundle is assembled from: the listing, the latest
// checkpoint, inclusion proofs and the log keys. hashtrail.LogService
// implements it, authorizing the caller in ctx.
type BundleSource interface {
	Events(ctx context.Context, q *hashtrail.Query) (*hashtrail.EventList, error)
	Checkpoint(ctx context.Context, tenant string) (*hashtrail.SignedCheckpoint, error)
	InclusionProof(ctx context.Context, tenant string, seq, size int64) (*hashtrail.InclusionProof, error)
	LogKeys(ctx context.Context) (*hashtrail.LogKeys, error)
}

// BundleOptions describe a bundle.
type BundleOptions struct {
	// PersonalFields are the tenant's personal change fields, nil for the
	// default (they decide how each leaf is rebuilt).
	PersonalFields []string
	// Query describes the selection, as URL query parameters.
	Query string
	// Now stamps created_at.
	Now hashtrail.Time
}

type bundleHeader struct {
	Format         string         `json:"format"`
	CreatedAt      hashtrail.Time `json:"created_at"`
	Tenant         string         `json:"tenant"`
	Origin         string         `json:"origin"`
	LogKeys        []string       `json:"log_keys"`
	PersonalFields []string       `json:"personal_fields,omitempty"`
	Query          string         `json:"query,omitempty"`
	Checkpoint     string         `json:"checkpoint"`
}

type bundleEntry struct {
	Seq      int64                    `json:"seq"`
	Event    *hashtrail.Event         `json:"event,omitempty"`
	Leaf     []byte                   `json:"leaf,omitempty"`
	LeafHash string                   `json:"leaf_hash"`
	Proof    hashtrail.InclusionProof `json:"proof"`
}

// erasedRole is one role of a system.subject_erased announcement.
type erasedRole struct {
	Seq  int64  `json:"seq"`
	Role string `json:"role"`
}

// WriteBundle writes an evidence bundle of the events q selects (q.Tenant,
// any filters; its order, limit and seq bounds are set here), proved against
// the tenant's latest checkpoint, streaming page by page. Events after the
// checkpoint are left out and counted in left. The system.subject_erased
// announcements that cover an erased value of a written event are added,
// so the bundle verifies on its own. An error before anything was written
// is returned as is (with nothing written), so a caller can still answer
// it properly.
func WriteBundle(ctx context.Context, w io.Writer, src BundleSource, q *hashtrail.Query, opt BundleOptions) (n, left int, err error) {
	cp, err := src.Checkpoint(ctx, q.Tenant)
	if err != nil {
		return 0, 0, err
	}
	keys, err := src.LogKeys(ctx)
	if err != nil {
		return 0, 0, err
	}
	origin, _, _ := strings.Cut(string(cp.Note), "\n")
	announcers, err := erasureAnnouncers(ctx, src, q.Tenant, cp.Size)
	if err != nil {
		return 0, 0, err
	}
	hdr, err := json.Marshal(bundleHeader{
		Format: BundleFormatV1, CreatedAt: opt.Now, Tenant: q.Tenant, Origin: origin, LogKeys: keys.All,
		PersonalFields: opt.PersonalFields, Query: opt.Query, Checkpoint: string(cp.Note),
	})
	if err != nil {
		return 0, 0, err
	}
	bw := bufio.NewWriterSize(w, 256<<10)
	bw.Write(hdr[:len(hdr)-1])
	bw.WriteString(",\"entries\":[\n")
	written := map[int64]bool{}
	var pending []*hashtrail.Event // announcements needed, not yet written
	add := func(e *hashtrail.Event) error {
		if written[e.Seq] {
			return nil
		}
		written[e.Seq] = true
		leaf, _, err := hashtrail.RebuildLeaf(e, e.PII, opt.PersonalFields)
		if err != nil {
			return fmt.Errorf("event %s (seq %d) cannot be rebuilt into its leaf: %w", e.ID, e.Seq, err)
		}
		proof, err := src.InclusionProof(ctx, q.Tenant, e.Seq, cp.Size)
		if err != nil {
			return fmt.Errorf("the inclusion proof of seq %d: %w", e.Seq, err)
		}
		lh := sha256.Sum256(append([]byte{0}, leaf...)) // RFC 6962 leaf hash
		raw, err := json.Marshal(bundleEntry{Seq: e.Seq, Event: e, Leaf: leaf, LeafHash: hex.EncodeToString(lh[:]), Proof: *proof})
		if err != nil {
			return err
		}
		if n > 0 {
			bw.WriteString(",\n")
		}
		n++
		_, err = bw.Write(raw)
		return err
	}
	flush := func(before int64) error {
		slices.SortFunc(pending, func(a, b *hashtrail.Event) int { return int(a.Seq - b.Seq) })
		for len(pending) > 0 && pending[0].Seq < before {
			if err := add(pending[0]); err != nil {
				return err
			}
			pending = pending[1:]
		}
		return nil
	}
	sel := *q
	sel.Order, sel.Limit = hashtrail.OrderAsc, hashtrail.MaxLimit
	end := cp.Size
	if sel.BeforeSeq == nil || *sel.BeforeSeq > end {
		sel.BeforeSeq = &end
	}
	err = eachEvent(ctx, src, &sel, func(e *hashtrail.Event) error {
		if err := flush(e.Seq); err != nil {
			return err
		}
		if err := add(e); err != nil {
			return err
		}
		for role, c := range e.PII {
			if c.Erased || c.Salt == nil {
				if a := announcers[erasedRole{e.Seq, role}]; a != nil && !written[a.Seq] && !slices.Contains(pending, a) {
					pending = append(pending, a)
				}
			}
		}
		return nil
	})
	if err == nil {
		err = flush(cp.Size)
	}
	if err != nil {
		return n, 0, err
	}
	// Events the checkpoint does not cover yet.
	rest := *q
	rest.Order, rest.Limit = hashtrail.OrderAsc, hashtrail.MaxLimit
	after := cp.Size - 1
	if rest.AfterSeq == nil || *rest.AfterSeq < after {
		rest.AfterSeq = &after
	}
	if err := eachEvent(ctx, src, &rest, func(*hashtrail.Event) error { left++; return nil }); err != nil {
		return n, 0, err
	}
	bw.WriteString("\n]}\n")
	return n, left, bw.Flush()
}

// erasureAnnouncers maps each erased role below size to the first
// system.subject_erased event that announced it.
func erasureAnnouncers(ctx context.Context, src BundleSource, tenant string, size int64) (map[erasedRole]*hashtrail.Event, error) {
	out := map[erasedRole]*hashtrail.Event{}
	end := size
	q := &hashtrail.Query{Tenant: tenant, Actions: []string{"system.subject_erased"}, Order: hashtrail.OrderAsc, Limit: hashtrail.MaxLimit, BeforeSeq: &end}
	err := eachEvent(ctx, src, q, func(e *hashtrail.Event) error {
		var m struct {
			Roles []erasedRole `json:"roles"`
		}
		if len(bytes.TrimSpace(e.Metadata)) == 0 || json.Unmarshal(e.Metadata, &m) != nil {
			return nil // not an announcement a verifier would accept either
		}
		for _, r := range m.Roles {
			if r.Seq >= 0 && r.Seq < e.Seq && out[r] == nil {
				out[r] = e
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("the erasure announcements: %w", err)
	}
	return out, nil
}

// eachEvent calls fn on every event of q (asc order) page by page.
func eachEvent(ctx context.Context, src BundleSource, q *hashtrail.Query, fn func(*hashtrail.Event) error) error {
	for {
		list, err := src.Events(ctx, q)
		if err != nil {
			return err
		}
		for _, e := range list.Events {
			if err := fn(e); err != nil {
				return err
			}
		}
		if list.NextCursor == "" || len(list.Events) == 0 {
			return nil
		}
		last := list.Events[len(list.Events)-1].Seq
		q.AfterSeq = &last
	}
}
