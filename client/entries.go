package client

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/merkle"
)

// treeEntry checks an entry of a complete source and adds it to the tree.
func (r *run) treeEntry(ctx context.Context, it *item, b *batch) error {
	e := it.e
	n := e.Seq
	switch {
	case n < r.next:
		r.failf(n, eventID(e), -1, "seq %d appears twice", n)
		return nil
	case n > r.next:
		r.failf(r.next, "", -1, "seq %d missing", r.next)
		return nil
	}
	stored, serr := r.storedFor(ctx, b, n)
	if serr != nil && hashtrail.ErrorCode(serr) != hashtrail.ENOTFOUND {
		return fmt.Errorf("reading the tree hashes of %s: %w", r.rep.Tenant, serr)
	}
	var lh merkle.Hash
	if e.Event != nil {
		if !r.body(it, stored) {
			return nil
		}
		lh = it.lh
		if serr != nil {
			r.failf(n, eventID(e), -1, "the tree hashes stored for seq %d are missing", n)
			return nil
		}
	} else {
		switch {
		case e.LeafHash != nil:
			lh = *e.LeafHash
		case serr == nil && stored != nil:
			lh = stored[0]
		default:
			// Neither body nor leaf hash: the tree cannot be recomputed.
			r.cov.needBody(n)
			if r.proofs == nil || serr != nil {
				covered := ""
				if n < r.latest.size {
					covered = fmt.Sprintf(", though checkpoint %d covers it", r.latest.size)
				}
				r.failf(n, "", -1, "seq %d missing: no event and no leaf hash%s", n, covered)
				return nil
			}
			return r.toProofs(ctx, n)
		}
		r.cov.needBody(n)
	}
	r.buf = r.cr.append(lh, r.buf[:0])
	r.next++
	if stored != nil {
		r.rep.StoredHashes += int64(len(stored))
		for k := 1; k < len(r.buf) && k < len(stored); k++ {
			if r.buf[k] != stored[k] {
				width := int64(1) << k
				first := (n + 1) - width
				r.failf(n, eventID(e), -1, "stored tree hash differs: the hash of leaves %d..%d (level %d) is not the one recomputed from the events", first, n, k)
				return nil
			}
		}
	}
	if n >= r.latest.size {
		r.rep.Unsigned++
	}
	for r.checkAt < len(r.checks) && r.checks[r.checkAt].size <= r.cr.n {
		c := r.checks[r.checkAt]
		r.checkAt++
		if c.size == r.cr.n && r.cr.root() != c.root {
			r.failf(-1, "", c.size, "%s root differs from the tree recomputed from the events", c.label)
			return nil
		}
	}
	return nil
}

// toProofs gives up recomputing the tree at seq g, which has neither body
// nor leaf hash: the entries before it are proved a prefix of the latest
// checkpoint, and the rest are checked with inclusion proofs.
func (r *run) toProofs(ctx context.Context, g int64) error {
	r.tree = false
	r.rep.Complete = false
	r.next = g + 1
	if g > 0 {
		// Checks at or below g were done while recomputing.
		root := r.cr.root()
		if _, ok := r.bySize[g]; !ok {
			if err := r.consistent(ctx, signedTree{size: g, root: root, label: fmt.Sprintf("the tree of the %d events before seq %d", g, g)}, r.latest); err != nil || r.fail != nil {
				return err
			}
		}
	}
	for _, c := range r.checks[r.checkAt:] {
		if c.size > g && c.size < r.latest.size {
			if err := r.consistent(ctx, c, r.latest); err != nil || r.fail != nil {
				return err
			}
		}
	}
	r.checkAt = len(r.checks)
	return nil
}

// proofEntry checks an entry with an inclusion proof.
func (r *run) proofEntry(ctx context.Context, it *item) error {
	e := it.e
	n := e.Seq
	if n < r.next {
		r.failf(n, eventID(e), -1, "seq %d appears twice or out of order", n)
		return nil
	}
	if r.src.Complete() {
		for s := r.next; s < n && s < r.latest.size; s++ {
			r.cov.needBody(s)
		}
	}
	r.next = n + 1
	if n >= r.latest.size {
		r.rep.Unsigned++
		return nil
	}
	var lh merkle.Hash
	if e.Event != nil {
		if !r.body(it, nil) {
			return nil
		}
		lh = it.lh
	} else {
		r.cov.needBody(n)
		if e.LeafHash == nil {
			return nil // nothing to prove; an announcement must cover it
		}
		lh = *e.LeafHash
	}
	proof, size := e.Proof, e.ProofSize
	root, ok := r.bySize[size]
	if proof == nil || !ok {
		switch {
		case it.perr != nil:
			return fmt.Errorf("asking for an inclusion proof of seq %d of %s: %w", n, r.rep.Tenant, it.perr)
		case it.proof != nil:
			proof, size, root = it.proof, r.latest.size, r.latest.root
		case r.proofs != nil:
			p, err := r.proofs.InclusionProof(ctx, n, r.latest.size)
			if err != nil {
				return fmt.Errorf("asking for an inclusion proof of seq %d of %s: %w", n, r.rep.Tenant, err)
			}
			proof, size, root = p, r.latest.size, r.latest.root
		case proof != nil:
			r.failf(n, eventID(e), -1, "the inclusion proof is against a tree of size %d, for which there is no signed checkpoint", size)
			return nil
		default:
			r.failf(n, eventID(e), -1, "no inclusion proof")
			return nil
		}
	}
	if err := merkle.CheckRecord(proof, size, root, n, lh); err != nil {
		r.failf(n, eventID(e), -1, "inclusion proof fails: the leaf is not at seq %d in checkpoint %d (leaf hash differs from the log's)", n, size)
		return nil
	}
	r.rep.Proved++
	return nil
}

// finish runs the checks left after the last entry.
func (r *run) finish(ctx context.Context) error {
	if r.fail != nil {
		return nil
	}
	if r.tree && len(r.cps) == 0 && r.cr.n > 0 {
		r.failf(-1, "", -1, "no checkpoint signed by the log key: nothing of the log is proved (%d events)", r.cr.n)
		return nil
	}
	if r.tree {
		for _, c := range r.checks[r.checkAt:] {
			if c.size > r.cr.n {
				r.failf(r.cr.n, "", c.size, "seq %d missing: %s covers %d events but the log holds %d", r.cr.n, c.label, c.size, r.cr.n)
				return nil
			}
		}
		return nil
	}
	if r.src.Complete() {
		for s := r.next; s < r.latest.size; s++ {
			r.cov.needBody(s)
		}
	}
	// Partial: the checkpoints, and the one seen before, must be prefixes
	// of the latest.
	for _, c := range r.checks {
		if c.size < r.latest.size {
			if _, ok := r.bySize[c.size]; ok && r.proofs == nil {
				continue // a bundle's other checkpoints are checked by their own proofs
			}
			if err := r.consistent(ctx, c, r.latest); err != nil || r.fail != nil {
				return err
			}
		}
	}
	return nil
}

// body checks an entry with an event: the leaf rebuilt from it against the
// leaf and leaf hashes the source keeps, and its personal-data roles. It
// reports whether the entry passed.
func (r *run) body(it *item, stored []merkle.Hash) bool {
	e := it.e
	ev := e.Event
	n := e.Seq
	if ev.Seq != n {
		r.failf(n, ev.ID, -1, "the event at seq %d says it is seq %d", n, ev.Seq)
		return false
	}
	if ev.Tenant != r.rep.Tenant {
		r.failf(n, ev.ID, -1, "the event at seq %d belongs to tenant %q", n, ev.Tenant)
		return false
	}
	if !r.rebuildOK(it) {
		return false
	}
	r.rep.Entries++
	if e.Leaf != nil && !bytes.Equal(e.Leaf, it.leaf) {
		what := "event body changed"
		if p := firstDiff(e.Leaf, it.leaf); p != "" {
			what = fmt.Sprintf("event body changed at %s", p)
		}
		r.failf(n, ev.ID, -1, "leaf hash differs: %s (the event no longer matches its leaf)", what)
		return false
	}
	var claimed *merkle.Hash
	if ev.LeafHash != "" {
		h, err := hex.DecodeString(ev.LeafHash)
		if err != nil || len(h) != merkle.HashSize {
			r.failf(n, ev.ID, -1, "the event's leaf_hash %.70q is not a hex SHA-256 hash", ev.LeafHash)
			return false
		}
		claimed = new(merkle.Hash)
		copy(claimed[:], h)
	}
	if e.LeafHash != nil && *e.LeafHash != it.lh {
		r.failf(n, ev.ID, -1, "leaf hash differs: event body changed (it no longer matches the leaf hash served with it)")
		return false
	}
	var tree *merkle.Hash
	if len(stored) > 0 {
		tree = &stored[0]
	}
	switch {
	case claimed != nil && *claimed != it.lh && tree != nil && *tree == it.lh:
		r.failf(n, ev.ID, -1, "the leaf_hash stored with the event was changed (the event and the tree agree)")
		return false
	case claimed != nil && *claimed != it.lh:
		r.failf(n, ev.ID, -1, "leaf hash differs: event body changed (it no longer matches the leaf hash stored with it)")
		return false
	case tree != nil && *tree != it.lh:
		r.failf(n, ev.ID, -1, "leaf hash differs: the tree's leaf hash is not the event's (stored tree hashes changed)")
		return false
	}
	// Personal data roles.
	roles := make([]string, 0, len(ev.PII))
	for role := range ev.PII {
		roles = append(roles, role)
	}
	slices.SortFunc(roles, func(a, b string) int { return roleOrder(a) - roleOrder(b) })
	erased := 0
	for _, role := range roles {
		c := ev.PII[role]
		shown := slices.ContainsFunc(it.roles, func(p hashtrail.PIIRole) bool { return p.Role == role && len(p.Values) > 0 })
		switch {
		case c.Erased:
			r.cov.needRole(n, role, ev.ID)
			erased++
		case c.Salt == nil && shown:
			r.failf(n, ev.ID, -1, "role %s shows personal values without their salt: they cannot be checked", role)
			return false
		case c.Salt == nil && r.expectPII:
			r.cov.needRole(n, role, ev.ID)
			erased++
		case c.Salt == nil:
			r.rep.Hidden++
		}
	}
	if erased > 0 {
		r.rep.Redacted++
	}
	r.cov.announce(ev)
	return true
}

// rebuildOK reports a rebuild failure as a divergence.
func (r *run) rebuildOK(it *item) bool {
	if it.err == nil {
		return true
	}
	msg := it.err.Error()
	if he := (*hashtrail.Error)(nil); errors.As(it.err, &he) {
		msg = he.Message
	}
	msg = strings.TrimPrefix(msg, "leaf: ")
	if strings.Contains(msg, "do not match its commitment") {
		msg = "personal values changed: " + msg
	}
	r.failf(it.e.Seq, it.e.Event.ID, -1, "the event cannot be its leaf: %s", msg)
	return false
}

func eventID(e *Entry) string {
	if e.Event != nil {
		return e.Event.ID
	}
	return ""
}
