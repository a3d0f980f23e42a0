package client

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/checkpoint"
	"github.com/hashtrail/hashtrail/merkle"
)

// Verifier checks tenant logs against the installation's pinned log keys
// (see the package documentation). Its fields are read-only during Verify;
// one Verifier may check several logs one after the other.
type Verifier struct {
	// ServerName is the installation's server name: the checkpoints of
	// tenant T are signed under the key name (and origin) "<ServerName>/T".
	ServerName string
	// Keys are the installation's log public keys a checkpoint may be signed
	// by: every key ever used (GET /v1/log/keys), pinned by the user.
	Keys []ed25519.PublicKey
	// PersonalFields are the change fields the tenant marks personal (nil:
	// hashtrail.DefaultPersonalFields).
	PersonalFields []string
	// State, if not nil, holds the checkpoint each log showed last time;
	// Verify requires consistency with it and records the new one on
	// success. The caller saves it.
	State *State
	// Workers rebuild leaves in parallel (default runtime.GOMAXPROCS).
	Workers int
	// Now is the clock for State (default time.Now).
	Now func() time.Time
}

// ParseLogKeys reads note verifier keys as GET /v1/log/key and /v1/log/keys
// serve them, "<server name>+<hash>+<base64 key>", and returns the server
// name they share and their public keys.
func ParseLogKeys(vkeys []string) (serverName string, keys []ed25519.PublicKey, err error) {
	if len(vkeys) == 0 {
		return "", nil, errors.New("no log key")
	}
	for _, vk := range vkeys {
		name, pub, err := checkpoint.ParseVerifierKey(strings.TrimSpace(vk))
		if err != nil {
			return "", nil, err
		}
		if serverName != "" && name != serverName {
			return "", nil, fmt.Errorf("the log keys name two servers, %q and %q", serverName, name)
		}
		serverName = name
		keys = append(keys, pub)
	}
	return serverName, keys, nil
}

// Origin returns the origin of tenant's log, "<ServerName>/<tenant>".
func (v *Verifier) Origin(tenant string) string { return checkpoint.Origin(v.ServerName, tenant) }

// Divergence is the first place where a log stops matching what it
// committed to: tenant, seq and event when it is about an entry, the
// checkpoint size when it is about a checkpoint, and what differs.
type Divergence struct {
	Tenant string
	// Seq is the entry concerned, or -1.
	Seq int64
	// EventID is the id of the event at Seq, when known.
	EventID string
	// Checkpoint is the size of the checkpoint concerned, or -1.
	Checkpoint int64
	// What says what differs, such as "leaf hash differs: event body changed".
	What string
}

// String formats d as "tenant T, seq N (event ID): what".
func (d *Divergence) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "tenant %s", d.Tenant)
	if d.Seq >= 0 {
		fmt.Fprintf(&b, ", seq %d", d.Seq)
		if d.EventID != "" {
			fmt.Fprintf(&b, " (event %s)", d.EventID)
		}
	} else if d.Checkpoint >= 0 {
		fmt.Fprintf(&b, ", checkpoint %d", d.Checkpoint)
	}
	b.WriteString(": ")
	b.WriteString(d.What)
	return b.String()
}

// Report is the outcome of verifying one log.
type Report struct {
	Tenant string
	Origin string
	// Complete says every entry of the log was checked and the whole tree
	// recomputed; otherwise entries were proved one by one.
	Complete bool
	// Checkpoints is the number of checkpoints whose signature was verified;
	// Size and Root are those of the largest.
	Checkpoints int
	Size        int64
	Root        merkle.Hash
	// Entries counts events whose leaf was rebuilt from the event and
	// checked; Proved those of them checked with an inclusion proof;
	// StoredHashes the stored tree hashes compared with recomputed ones.
	Entries      int64
	Proved       int64
	StoredHashes int64
	// Redacted counts events with erased personal values (ErasedRoles
	// roles in all) and Purged entries without a body, each covered by a
	// signed announcement.
	Redacted    int64
	ErasedRoles int64
	Purged      int64
	// Hidden counts roles whose values the source did not show (a key not
	// allowed to see personal data): their commitments are checked only as
	// part of the leaf.
	Hidden int64
	// Unsigned counts entries after the largest checkpoint: checked against
	// what the source stores but not yet signed.
	Unsigned int64
	// Previous is the size of the checkpoint remembered from an earlier run
	// that the log was checked against, or -1 (first use, or no State).
	Previous int64
	// Failure is the first divergence, or nil when the log verified.
	Failure *Divergence
}

// OK reports whether the log verified.
func (r *Report) OK() bool { return r.Failure == nil }

// Summary describes the outcome in one line, without the OK or FAILED.
func (r *Report) Summary() string {
	if r.Failure != nil {
		return r.Failure.String()
	}
	var b strings.Builder
	how := "proved by inclusion proofs"
	if r.Complete {
		how = "rebuilt into the whole tree"
	}
	fmt.Fprintf(&b, "tenant %s: %s checked (%s), %s signed by the log key, latest size %d root %s",
		r.Tenant, plural(r.Entries, "event"), how, plural(int64(r.Checkpoints), "checkpoint"), r.Size, r.Root)
	if r.StoredHashes > 0 {
		fmt.Fprintf(&b, ", %d stored tree hashes match", r.StoredHashes)
	}
	switch {
	case r.Previous > 0:
		fmt.Fprintf(&b, ", consistent with the checkpoint of size %d seen before", r.Previous)
	case r.Previous == 0:
		b.WriteString(", first checkpoint seen of this log (remembered)")
	}
	fmt.Fprintf(&b, "; %d redacted, %d purged", r.Redacted, r.Purged)
	if r.Hidden > 0 {
		fmt.Fprintf(&b, ", %d personal-data roles hidden from this key", r.Hidden)
	}
	if r.Unsigned > 0 {
		fmt.Fprintf(&b, "; %d newer events not yet in a checkpoint", r.Unsigned)
	}
	return b.String()
}

// plural returns "1 thing" or "n things".
func plural(n int64, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// Verify checks the log src holds. It returns a Report whose Failure is the
// first divergence found, or an error when the log could not be read (a
// network or database failure says nothing about tampering).
func (v *Verifier) Verify(ctx context.Context, src Source) (*Report, error) {
	r := &run{v: v, src: src, cov: newCoverage(), bySize: map[int64]merkle.Hash{}}
	r.rep = &Report{Tenant: src.Tenant(), Origin: v.Origin(src.Tenant()), Previous: -1}
	r.proofs, _ = src.(ProofSource)
	r.hashes, _ = src.(HashSource)
	if p, ok := src.(PersonalDataSource); ok {
		r.expectPII = p.ShowsPersonalData()
	}
	if err := r.checkpoints(ctx); err != nil || r.fail != nil {
		return r.done(), err
	}
	if err := r.walk(ctx); err != nil {
		return nil, err
	}
	rep := r.done()
	if rep.OK() && v.State != nil {
		now := time.Now
		if v.Now != nil {
			now = v.Now
		}
		v.State.Remember(r.rep.Origin, r.latest.size, r.latest.root, r.latest.note, now())
	}
	return rep, nil
}

// signedTree is a verified checkpoint, or the one remembered from before.
type signedTree struct {
	size  int64
	root  merkle.Hash
	note  []byte
	label string
}

// run is the state of one Verify call.
type run struct {
	v         *Verifier
	src       Source
	rep       *Report
	proofs    ProofSource
	hashes    HashSource
	expectPII bool
	cov       *coverage
	fail      *Divergence

	cps    []signedTree // verified checkpoints, by size
	bySize map[int64]merkle.Hash
	latest signedTree
	prev   *signedTree
	checks []signedTree // sizes to compare with the recomputed tree, by size

	tree    bool // recomputing the tree from every entry
	cr      compactRange
	next    int64 // the next seq expected
	checkAt int
	buf     []merkle.Hash
}

// failf records the first divergence; later ones are dropped.
func (r *run) failf(seq int64, id string, cp int64, format string, args ...any) {
	if r.fail != nil {
		return
	}
	r.fail = &Divergence{Tenant: r.rep.Tenant, Seq: seq, EventID: id, Checkpoint: cp, What: fmt.Sprintf(format, args...)}
}

// done settles coverage and returns the report.
func (r *run) done() *Report {
	if r.fail == nil || r.fail.Seq >= 0 {
		if u := r.cov.resolve(r.latest.size); u != nil && (r.fail == nil || u.seq < r.fail.Seq) {
			r.fail = nil
			if u.role != "" {
				r.failf(u.seq, u.id, -1, "personal values of role %s are gone (erased), but no signed %s event announces their erasure", u.role, ActionSubjectErased)
			} else {
				r.failf(u.seq, "", -1, "seq %d missing: no event body, and no signed %s event announces its purge", u.seq, ActionRetentionPurge)
			}
		}
	}
	if r.fail == nil {
		r.rep.ErasedRoles = int64(len(r.cov.roles))
		for _, b := range r.cov.bodies {
			r.rep.Purged += b.last - b.first + 1
		}
	}
	r.rep.Failure = r.fail
	return r.rep
}

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
		r.failf(-1, "", -1, "no checkpoint signed by the log key: nothing of the log is proved")
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

// item is an entry with the leaf rebuilt from its event.
type item struct {
	e     *Entry
	leaf  []byte
	lh    merkle.Hash
	roles []hashtrail.PIIRole
	err   error
	proof []merkle.Hash // fetched by a worker (partial sources)
	perr  error
}

// batch is a run of entries handled together; stored holds, for a complete
// source with stored hashes, the stored hashes from storedBase on.
type batch struct {
	n          int
	items      []item
	stored     []merkle.Hash
	storedBase int64
	storedErr  error
}

const batchSize = 256

// walk reads every entry through a pipeline: the source's goroutine makes
// batches, workers rebuild leaves (and fetch stored hashes or proofs), and
// this goroutine checks them in seq order.
func (r *run) walk(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.tree = r.src.Complete()
	r.rep.Complete = r.tree
	workers := r.v.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	prefetch := !r.tree && r.proofs != nil
	readStored := r.tree && r.hashes != nil
	todo := make(chan *batch, workers)
	doneCh := make(chan *batch, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range todo {
				r.prepare(ctx, b, prefetch, readStored)
				select {
				case doneCh <- b:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	srcErr := make(chan error, 1)
	go func() {
		defer close(todo)
		var cur *batch
		n := 0
		send := func() error {
			select {
			case todo <- cur:
				n++
				cur = nil
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		err := r.src.Entries(ctx, r.latest.size, func(e *Entry) error {
			if cur == nil {
				cur = &batch{n: n, items: make([]item, 0, batchSize)}
			}
			cur.items = append(cur.items, item{e: e})
			if len(cur.items) == batchSize {
				return send()
			}
			return nil
		})
		if err == nil && cur != nil {
			err = send()
		}
		srcErr <- err
	}()
	go func() { wg.Wait(); close(doneCh) }()

	pending := map[int]*batch{}
	want := 0
	var checkErr error
	for b := range doneCh {
		pending[b.n] = b
		for checkErr == nil {
			nb, ok := pending[want]
			if !ok {
				break
			}
			delete(pending, want)
			want++
			checkErr = r.check(ctx, nb)
		}
		if checkErr != nil {
			cancel()
		}
	}
	if err := <-srcErr; err != nil && checkErr == nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("reading the log of %s: %w", r.rep.Tenant, err)
	}
	if checkErr != nil {
		return checkErr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return r.finish(ctx)
}

// prepare rebuilds the leaves of a batch and reads what the checks need.
// Workers call it concurrently: it reads only what no one changes during
// the walk.
func (r *run) prepare(ctx context.Context, b *batch, prefetch, readStored bool) {
	for i := range b.items {
		it := &b.items[i]
		if it.e.Event != nil {
			r.rebuild(it)
		}
		if prefetch && it.e.Seq < r.latest.size && it.e.Proof == nil &&
			(it.e.Event != nil || it.e.LeafHash != nil) {
			it.proof, it.perr = r.proofs.InclusionProof(ctx, it.e.Seq, r.latest.size)
		}
	}
	if readStored && len(b.items) > 0 {
		first, last := b.items[0].e.Seq, b.items[len(b.items)-1].e.Seq
		if first >= 0 && last >= first && last-first == int64(len(b.items)-1) {
			b.storedBase = merkle.StoredHashIndex(0, first)
			b.stored, b.storedErr = r.hashes.ReadHashes(ctx, indexRange(b.storedBase, merkle.StoredHashCount(last+1)))
		} else {
			b.storedErr = errors.New("entries not contiguous")
		}
	}
}

func indexRange(from, to int64) []int64 {
	idx := make([]int64, 0, to-from)
	for i := from; i < to; i++ {
		idx = append(idx, i)
	}
	return idx
}

// rebuild rebuilds the leaf of an entry's event (DESIGN §2).
func (r *run) rebuild(it *item) {
	ev := it.e.Event
	leaf, roles, err := hashtrail.RebuildLeaf(ev, ev.PII, r.v.PersonalFields)
	if err != nil {
		it.err = err
		return
	}
	lh := merkle.LeafHash(leaf)
	if ev.Description != "" && ev.LeafHash != "" && hex.EncodeToString(lh[:]) != ev.LeafHash {
		// A description generated at read time is not in the leaf.
		plain := *ev
		plain.Description = ""
		if leaf2, roles2, err := hashtrail.RebuildLeaf(&plain, ev.PII, r.v.PersonalFields); err == nil {
			if lh2 := merkle.LeafHash(leaf2); hex.EncodeToString(lh2[:]) == ev.LeafHash {
				leaf, roles, lh = leaf2, roles2, lh2
			}
		}
	}
	it.leaf, it.roles, it.lh = leaf, roles, lh
}

// check handles one batch in seq order. It returns an error only when the
// source fails; divergences go to r.fail.
func (r *run) check(ctx context.Context, b *batch) error {
	for i := range b.items {
		it := &b.items[i]
		if r.fail != nil {
			// After the first divergence, only collect announcements: a
			// later one may cover an erased role or purge before it.
			if ev := it.e.Event; ev != nil && it.err == nil {
				r.cov.announce(ev)
			}
			continue
		}
		var err error
		if r.tree {
			err = r.treeEntry(ctx, it, b)
		} else {
			err = r.proofEntry(ctx, it)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// storedFor returns the stored hashes of leaf n: those of its batch, or read
// on their own when the batch read failed.
func (r *run) storedFor(ctx context.Context, b *batch, n int64) ([]merkle.Hash, error) {
	if r.hashes == nil {
		return nil, nil
	}
	from, to := merkle.StoredHashIndex(0, n), merkle.StoredHashCount(n+1)
	if b.storedErr == nil && b.stored != nil {
		return b.stored[from-b.storedBase : to-b.storedBase], nil
	}
	return r.hashes.ReadHashes(ctx, indexRange(from, to))
}

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
