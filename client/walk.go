package client

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"sync"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/merkle"
)

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
