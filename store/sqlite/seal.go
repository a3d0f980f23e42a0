package sqlite

import (
	"encoding/hex"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/hashtrail/hashtrail"
)

// seal is the result of sealing an entry with a seq.
type seal struct {
	seq    int64
	sealed *hashtrail.Sealed
	err    error
}

// sealsPerWorker is the least work worth another goroutine: sealing one
// event costs some 20 µs.
const sealsPerWorker = 16

// sealAll seals the new events of the call that are not sealed with their
// seq yet, on up to GOMAXPROCS goroutines, and sets a.sealed. It reports
// false if one could not be sealed (EINVALID), and fails on any other error.
func (a *appender) sealAll() (bool, error) {
	a.sealed = make([]*hashtrail.Sealed, len(a.added))
	var todo []int
	for i, e := range a.added {
		if m, ok := a.seals[e]; ok && m.seq == e.Event.Seq && m.err == nil {
			a.sealed[i] = m.sealed
			e.Event.LeafHash = hex.EncodeToString(m.sealed.LeafHash[:])
			continue
		}
		todo = append(todo, i)
	}
	results := make([]seal, len(todo))
	work := func(j int) {
		e := a.added[todo[j]]
		sl, err := e.Seal()
		results[j] = seal{seq: e.Event.Seq, sealed: sl, err: err}
	}
	if workers := min(runtime.GOMAXPROCS(0), len(todo)/sealsPerWorker); workers > 1 {
		var next atomic.Int64
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for j := int(next.Add(1) - 1); j < len(todo); j = int(next.Add(1) - 1) {
					work(j)
				}
			})
		}
		wg.Wait()
	} else {
		for j := range todo {
			work(j)
		}
	}
	ok := true
	for j, i := range todo {
		r := results[j]
		a.seals[a.added[i]] = r
		if r.err != nil {
			if hashtrail.ErrorCode(r.err) == hashtrail.EINTERNAL {
				return false, fmt.Errorf("sqlite: append: %w", r.err)
			}
			ok = false
		}
		a.sealed[i] = r.sealed
	}
	return ok, nil
}

// sealGroup seals the new events of group g, which passed the checks, with
// the seqs they will have, reusing earlier seals with the same seq. An event
// that cannot be sealed (EINVALID: it lacks what the leaf needs) fails the
// group: g.Err is set and nothing is changed, as for the other checks.
func (a *appender) sealGroup(g *hashtrail.AppendGroup) error {
	next := map[string]int64{}
	seen := map[idKey]bool{}
	for _, e := range g.Entries {
		ev := e.Event
		k := idKey{ev.Tenant, ev.ID}
		if _, ok := a.known[k]; ok || seen[k] {
			continue
		}
		seen[k] = true
		n, ok := next[ev.Tenant]
		if !ok {
			n = a.heads[ev.Tenant].next // 0 for a tenant still to create
		}
		next[ev.Tenant] = n + 1
		ev.Seq = n
		m, ok := a.seals[e]
		if !ok || m.seq != n {
			sl, err := e.Seal()
			m = seal{seq: n, sealed: sl, err: err}
			a.seals[e] = m
		}
		switch {
		case m.err == nil:
		case hashtrail.ErrorCode(m.err) == hashtrail.EINTERNAL:
			return fmt.Errorf("sqlite: append: %w", m.err)
		default:
			g.Err = hashtrail.Errorf(hashtrail.EINVALID, "event %q of tenant %q cannot be sealed: %s", ev.ID, ev.Tenant, hashtrail.ErrorMessage(m.err))
			return nil
		}
	}
	return nil
}
