package client

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hashtrail/hashtrail/checkpoint"
	"github.com/hashtrail/hashtrail/merkle"
)

// checkpoints opens every checkpoint the source has, checks that those of
// one size agree, and sets latest and prev.
func (r *run) checkpoints(ctx context.Context) error {
	notes, err := r.src.Checkpoints(ctx)
	if err != nil {
		return fmt.Errorf("reading the checkpoints of %s: %w", r.rep.Tenant, err)
	}
	origin := r.rep.Origin
	for _, n := range notes {
		c, err := checkpoint.Open(n, origin, r.v.Keys...)
		if err != nil {
			r.failf(-1, "", noteSize(n), "%s", checkpointError(n, origin, err))
			return nil
		}
		if root, ok := r.bySize[c.Size]; ok {
			if root != c.Root {
				r.failf(-1, "", c.Size, "two signed checkpoints of size %d have different roots (a split view)", c.Size)
				return nil
			}
			continue
		}
		r.bySize[c.Size] = c.Root
		r.cps = append(r.cps, signedTree{size: c.Size, root: c.Root, note: n, label: fmt.Sprintf("checkpoint %d", c.Size)})
	}
	slices.SortFunc(r.cps, func(a, b signedTree) int { return cmpInt(a.size, b.size) })
	r.rep.Checkpoints = len(r.cps)
	if len(r.cps) == 0 {
		if !r.src.Complete() {
			r.failf(-1, "", -1, "no checkpoint signed by the log key: nothing of the log is proved")
			return nil
		}
		// An empty log has nothing to sign; finish fails a log that is not
		// empty.
		r.latest = signedTree{size: 0, root: merkle.EmptyRoot, label: "the empty tree"}
		r.rep.Root = merkle.EmptyRoot
		if r.v.State != nil {
			r.rep.Previous = 0
			if seen := r.v.State.Seen(origin); seen != nil && seen.Size > 0 {
				r.failf(-1, "", 0, "the log was rolled back: it has no checkpoint, but one of size %d was seen before (%s)", seen.Size, r.v.State.Path())
			}
		}
		return nil
	}
	if root, ok := r.bySize[0]; ok && root != merkle.EmptyRoot {
		r.failf(-1, "", 0, "checkpoint 0 root differs from the empty tree's")
		return nil
	}
	r.latest = r.cps[len(r.cps)-1]
	r.rep.Size, r.rep.Root = r.latest.size, r.latest.root
	r.checks = slices.Clone(r.cps)
	if st := r.v.State; st != nil {
		r.rep.Previous = 0
		if seen := st.Seen(origin); seen != nil {
			r.rep.Previous = seen.Size
			if seen.Size > r.latest.size {
				r.failf(-1, "", r.latest.size, "the log was rolled back: its latest checkpoint has size %d, but one of size %d was seen before (%s)", r.latest.size, seen.Size, st.Path())
				return nil
			}
			if root, ok := r.bySize[seen.Size]; ok && root != seen.Root {
				r.failf(-1, "", seen.Size, "checkpoint %d root differs from the checkpoint of that size seen before: not consistent with the previously seen checkpoint (a rewritten history)", seen.Size)
				return nil
			}
			r.prev = &signedTree{size: seen.Size, root: seen.Root, label: fmt.Sprintf("the checkpoint of size %d seen before", seen.Size)}
			if _, ok := r.bySize[seen.Size]; !ok {
				r.checks = append(r.checks, *r.prev)
				slices.SortFunc(r.checks, func(a, b signedTree) int { return cmpInt(a.size, b.size) })
			}
		}
	}
	return nil
}

// checkpointError explains why a checkpoint did not open.
func checkpointError(note []byte, origin string, err error) string {
	switch {
	case errors.Is(err, checkpoint.ErrUnverified):
		return fmt.Sprintf("signature by unknown key: the checkpoint is signed by %s, not by a pinned log key for %s", signers(note), origin)
	case strings.Contains(err.Error(), "invalid signature"):
		return "invalid signature: the checkpoint was changed after it was signed"
	case strings.Contains(err.Error(), "origin"):
		return fmt.Sprintf("the checkpoint is not of this log: %v", err)
	}
	return fmt.Sprintf("the checkpoint cannot be read: %v", err)
}

// signers lists the key names and hashes on a signed note's signature lines.
func signers(note []byte) string {
	_, sigs, ok := bytes.Cut(note, []byte("\n\n"))
	if !ok {
		return "no key"
	}
	var out []string
	for _, line := range strings.Split(strings.TrimSuffix(string(sigs), "\n"), "\n") {
		rest, ok := strings.CutPrefix(line, "— ")
		if !ok {
			continue
		}
		name, sig, _ := strings.Cut(rest, " ")
		raw, err := base64.StdEncoding.DecodeString(sig)
		if err != nil || len(raw) < 4 {
			out = append(out, name)
			continue
		}
		out = append(out, fmt.Sprintf("%s (key hash %08x)", name, binary.BigEndian.Uint32(raw)))
	}
	if len(out) == 0 {
		return "no key"
	}
	return strings.Join(out, ", ")
}

// noteSize returns the tree size a note claims, unverified, or -1.
func noteSize(note []byte) int64 {
	text, _, _ := bytes.Cut(note, []byte("\n\n"))
	c, err := checkpoint.Parse(append(text, '\n'))
	if err != nil {
		return -1
	}
	return c.Size
}

// consistent checks with a consistency proof that a is a prefix of b.
func (r *run) consistent(ctx context.Context, a, b signedTree) error {
	if a.size == 0 || a.size == b.size {
		if a.size == b.size && a.root != b.root {
			r.failf(-1, "", b.size, "%s root differs from %s", a.label, b.label)
		}
		return nil
	}
	if r.proofs == nil {
		return fmt.Errorf("cannot check that %s is a prefix of %s: this source serves no consistency proofs", a.label, b.label)
	}
	p, err := r.proofs.ConsistencyProof(ctx, a.size, b.size)
	if err != nil {
		return fmt.Errorf("asking for a consistency proof of %s from %d to %d: %w", r.rep.Tenant, a.size, b.size, err)
	}
	if merkle.CheckTree(p, b.size, b.root, a.size, a.root) != nil {
		r.failf(-1, "", b.size, "consistency proof fails: %s is not a prefix of %s (a rewritten history)", a.label, b.label)
	}
	return nil
}
