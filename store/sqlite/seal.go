package sqlite

import (
	"encoding/hex"
	"errors"
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
// event costs some 15 µs.
const sealsPerWorker = 16

// prepared is what write stores for a new event, computed from its seal.
type prepared struct {
	body []byte // events.body: the event without its personal values
	pii  []any  // its event_pii rows
}

// sealAll seals the new events of the call that are not sealed with their
// seq yet and prepares every new event's body and personal-value rows, on up
// to GOMAXPROCS goroutines (this is most of the CPU time of an Append), and
// sets a.sealed and a.prep. It reports false if an event could not be sealed
// (EINVALID), and fails on any other error.
func (a *appender) sealAll() (bool, error) {
	n := len(a.added)
	a.sealed, a.prep = make([]*hashtrail.Sealed, n), make([]prepared, n)
	results := make([]seal, n) // of events sealed here
	errs := make([]error, n)   // of preparing
	work := func(i int) {
		e := a.added[i]
		m, ok := a.seals[e] // read only while workers run
		if ok && m.seq == e.Event.Seq && m.err == nil {
			e.Event.LeafHash = hex.EncodeToString(m.sealed.LeafHash[:])
		} else {
			sl, err := e.Seal()
			m = seal{seq: e.Event.Seq, sealed: sl, err: err}
			results[i] = m
		}
		if m.err != nil {
			return
		}
		a.sealed[i] = m.sealed
		p := &a.prep[i]
		if p.body, errs[i] = encodeBody(nil, m.sealed.Public); errs[i] == nil {
			p.pii, errs[i] = piiRows(nil, a.heads[e.Event.Tenant].num, e.Event.Seq, m.sealed.Roles)
		}
	}
	if workers := min(runtime.GOMAXPROCS(0), n/sealsPerWorker); workers > 1 {
		var next atomic.Int64
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
					work(i)
				}
			})
		}
		wg.Wait()
	} else {
		for i := range n {
			work(i)
		}
	}
	ok := true
	for i, r := range results {
		if r.sealed == nil && r.err == nil {
			continue // sealed before
		}
		a.seals[a.added[i]] = r
		if r.err != nil {
			if hashtrail.ErrorCode(r.err) == hashtrail.EINTERNAL {
				return false, fmt.Errorf("sqlite: append: %w", r.err)
			}
			ok = false
		}
	}
	return ok, errors.Join(errs...)
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
