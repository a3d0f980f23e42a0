package ledger

import (
	"bytes"
	"context"
	"fmt"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/merkle"
)

var _ hashtrail.Integrity = (*Ledger)(nil)

// MaxProofWait bounds how long EventProof and Receipt wait for a checkpoint.
const MaxProofWait = 30 * time.Second

// readLog authorizes a read of tenant's log.
func (l *Ledger) readLog(ctx context.Context, tenant string) (hashtrail.LogStore, error) {
	if err := l.authorize(hashtrail.PrincipalFrom(ctx), tenant, hashtrail.PermRead); err != nil {
		return nil, err
	}
	if err := notViewer(hashtrail.PrincipalFrom(ctx)); err != nil {
		return nil, err
	}
	return l.store, nil
}

// latest returns tenant's latest checkpoint, or ENOTFOUND for an unknown
// tenant or one whose log has no checkpoint yet. (A checkpoint implies the
// tenant, so the tenant is looked up only when there is none.)
func (l *Ledger) latest(ctx context.Context, ls hashtrail.LogStore, tenant string) (*hashtrail.SignedCheckpoint, error) {
	cp, err := ls.LatestCheckpoint(ctx, tenant)
	if hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
		return cp, err
	}
	if _, err := l.store.Tenant(ctx, tenant); err != nil {
		return nil, err
	}
	return nil, hashtrail.Errorf(hashtrail.ENOTFOUND, "no checkpoint of tenant %q was signed yet; retry in a second", tenant)
}

// readLatest authorizes a read of tenant's log and returns its latest
// checkpoint (see latest).
func (l *Ledger) readLatest(ctx context.Context, tenant string) (hashtrail.LogStore, *hashtrail.SignedCheckpoint, error) {
	ls, err := l.readLog(ctx, tenant)
	if err != nil {
		return nil, nil, err
	}
	cp, err := l.latest(ctx, ls, tenant)
	return ls, cp, err
}

// Checkpoint returns the latest signed checkpoint of a tenant's log.
func (l *Ledger) Checkpoint(ctx context.Context, tenant string) (*hashtrail.SignedCheckpoint, error) {
	_, cp, err := l.readLatest(ctx, tenant)
	return cp, err
}

// InclusionProof proves that the event at seq is in the tenant's tree of
// the given size, which must not exceed the latest checkpoint's; size 0
// means the latest checkpoint's size.
func (l *Ledger) InclusionProof(ctx context.Context, tenant string, seq, size int64) (*hashtrail.InclusionProof, error) {
	ls, cp, err := l.readLatest(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if size == 0 {
		size = cp.Size
	}
	if cp.Size == 0 {
		return nil, emptyLog(tenant)
	}
	var fields []hashtrail.FieldError
	if size < 1 || size > cp.Size {
		fields = append(fields, hashtrail.FieldError{Field: "size", Message: fmt.Sprintf("must be from 1 to %d, the size of the latest checkpoint", cp.Size)})
	}
	if seq < 0 || seq >= max(size, 1) && len(fields) == 0 {
		fields = append(fields, hashtrail.FieldError{Field: "seq", Message: fmt.Sprintf("must be from 0 to %d, below the tree size", max(size, 1)-1)})
	}
	if len(fields) > 0 {
		return nil, hashtrail.InvalidFields(fields)
	}
	p, err := merkle.ProveRecord(size, seq, hashReader(ctx, ls, tenant))
	if err != nil {
		return nil, fmt.Errorf("ledger: inclusion proof of %d in %d for %s: %w", seq, size, tenant, err)
	}
	return &hashtrail.InclusionProof{LeafIndex: seq, TreeSize: size, Hashes: hashBytes(p)}, nil
}

// ConsistencyProof proves that the tenant's tree of size from is a prefix of
// the tree of size to, 1 <= from <= to <= the latest checkpoint's size; to 0
// means the latest checkpoint's size.
func (l *Ledger) ConsistencyProof(ctx context.Context, tenant string, from, to int64) (*hashtrail.ConsistencyProof, error) {
	ls, cp, err := l.readLatest(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if cp.Size == 0 {
		return nil, emptyLog(tenant)
	}
	if to == 0 {
		to = cp.Size
	}
	var fields []hashtrail.FieldError
	switch {
	case to < 1 || to > cp.Size:
		fields = append(fields, hashtrail.FieldError{Field: "to", Message: fmt.Sprintf("must be from 1 to %d, the size of the latest checkpoint", cp.Size)})
	case from < 1 || from > to:
		fields = append(fields, hashtrail.FieldError{Field: "from", Message: fmt.Sprintf("must be from 1 to %d (to); every tree extends the empty one, which needs no proof", to)})
	}
	if len(fields) > 0 {
		return nil, hashtrail.InvalidFields(fields)
	}
	p, err := merkle.ProveTree(to, from, hashReader(ctx, ls, tenant))
	if err != nil {
		return nil, fmt.Errorf("ledger: consistency proof from %d to %d for %s: %w", from, to, tenant, err)
	}
	return &hashtrail.ConsistencyProof{From: from, To: to, Hashes: hashBytes(p)}, nil
}

// EventProof returns an event with its leaf, an inclusion proof and the
// latest checkpoint, which the proof is against. When no checkpoint covers
// the event yet it waits up to wait (at most MaxProofWait) for one, and then
// answers EUNAVAILABLE. It checks the proof before answering, so an event
// whose stored body no longer matches its leaf hash is an internal error
// (logged as such) rather than a proof that fails for the caller.
//
// A viewer token may prove the events it may read (ENOTFOUND outside its
// filter): the answer's event has its hidden fields removed, and when any of
// them is in the leaf (personal values are not: the leaf holds only their
// salted commitment) the leaf is withheld (Leaf nil) and the verifier proves
// the answer's leaf_hash instead, which shows that the event is in the log,
// not what its hidden fields held.
func (l *Ledger) EventProof(ctx context.Context, tenant, id string, wait time.Duration) (*hashtrail.EventProof, error) {
	who := hashtrail.PrincipalFrom(ctx)
	ls, err := l.proofLog(ctx, who, tenant)
	if err != nil {
		return nil, err
	}
	ev, err := l.visibleEvent(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	shown, err := viewerEvent(who, ev)
	if err != nil {
		return nil, err
	}
	cp, err := l.waitCovering(ctx, ls, tenant, ev.Seq, min(wait, MaxProofWait))
	if err != nil {
		return nil, err
	}
	// The leaf as the answer shows it: the stored event with its personal
	// values and commitments (DESIGN §2). Tenants have no personal-field
	// policy yet, so every leaf used the default fields.
	leaf, _, err := hashtrail.RebuildLeaf(ev, ev.PII, nil)
	if err != nil {
		l.log.Error("rebuilding a leaf failed", "tenant", tenant, "seq", ev.Seq, "err", err)
		return nil, fmt.Errorf("ledger: the stored event %s/%d does not make a leaf: %w", tenant, ev.Seq, err)
	}
	p, err := merkle.ProveRecord(cp.Size, ev.Seq, hashReader(ctx, ls, tenant))
	if err != nil {
		return nil, fmt.Errorf("ledger: inclusion proof of %d in %d for %s: %w", ev.Seq, cp.Size, tenant, err)
	}
	if err := merkle.CheckRecord(p, cp.Size, cp.Root, ev.Seq, merkle.LeafHash(leaf)); err != nil {
		l.log.Error("an event does not match its log: tampering or corruption; run hashtrail verify", "tenant", tenant, "seq", ev.Seq, "checkpoint_size", cp.Size)
		return nil, fmt.Errorf("ledger: event %s/%d does not match checkpoint %d: %w", tenant, ev.Seq, cp.Size, err)
	}
	if shown != ev && !leafShows(shown, leaf) {
		leaf = nil
	}
	return &hashtrail.EventProof{
		Event:      shown,
		Leaf:       leaf,
		Proof:      hashtrail.InclusionProof{LeafIndex: ev.Seq, TreeSize: cp.Size, Hashes: hashBytes(p)},
		Checkpoint: string(cp.Note),
	}, nil
}

// proofLog authorizes an event proof: as readLog, but a viewer token may
// too (EventProof scopes it to its filter and hidden fields).
func (l *Ledger) proofLog(ctx context.Context, p *hashtrail.Principal, tenant string) (hashtrail.LogStore, error) {
	if p == nil || p.Viewer == nil {
		return l.readLog(ctx, tenant)
	}
	if err := l.authorize(p, tenant, hashtrail.PermRead); err != nil {
		return nil, err
	}
	return l.store, nil
}

// leafShows reports whether the leaf reveals nothing that shown, an event
// with fields hidden from a viewer token, lacks: the leaf rebuilt from shown
// (its personal values taken on their commitments) is the leaf itself.
func leafShows(shown *hashtrail.Event, leaf []byte) bool {
	rebuilt, _, err := hashtrail.RebuildLeaf(shown, shown.PII, nil)
	return err == nil && bytes.Equal(rebuilt, leaf)
}

// waitCovering returns the latest checkpoint of tenant once it covers seq,
// waiting up to wait for the signer to make one.
func (l *Ledger) waitCovering(ctx context.Context, ls hashtrail.LogStore, tenant string, seq int64, wait time.Duration) (*hashtrail.SignedCheckpoint, error) {
	var deadline <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		deadline = t.C
	}
	for {
		var round <-chan struct{}
		if l.sig != nil {
			round = l.sig.next() // before reading, so no round is missed
		}
		cp, err := ls.LatestCheckpoint(ctx, tenant)
		if err == nil && cp.Size > seq {
			return cp, nil
		}
		if err != nil && hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
			return nil, err
		}
		if l.sig == nil {
			return nil, errNoSigning
		}
		if deadline == nil {
			return nil, retryLater{hashtrail.Errorf(hashtrail.EUNAVAILABLE, "no checkpoint covers this event yet; retry in a second, or pass wait=2s"), l.cfg.CheckpointInterval}
		}
		select {
		case <-round:
		case <-deadline:
			deadline = nil // look once more, then give up
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// retryLater is an expected failure that says when to retry (the HTTP API
// answers it with Retry-After).
type retryLater struct {
	err   *hashtrail.Error
	after time.Duration
}

func (e retryLater) Error() string             { return e.err.Error() }
func (e retryLater) Unwrap() error             { return e.err }
func (e retryLater) RetryAfter() time.Duration { return e.after }

func emptyLog(tenant string) error {
	return hashtrail.Errorf(hashtrail.EINVALID, "the latest checkpoint of tenant %q is of its empty log; there is nothing to prove yet", tenant)
}

func hashBytes(p []merkle.Hash) [][]byte {
	out := make([][]byte, len(p))
	for i := range p {
		out[i] = p[i][:]
	}
	return out
}
