package postgres

import (
	"context"
	"maps"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/store/internal/ingest"
)

// maxCombined bounds the events of the calls one transaction takes
// together; a call is never split.
const maxCombined = 5000

// appendCall is one Append call waiting for a transaction.
type appendCall struct {
	ctx    context.Context
	groups []*hashtrail.AppendGroup
	done   chan callResult
}

// callResult tells a waiting call its outcome, or that it is to run the
// next transaction (lead).
type callResult struct {
	err  error
	lead bool
}

// combine runs the groups of concurrent Append calls on this Store in
// shared transactions, as the engine's group commit does across requests:
// one call at a time runs a transaction (the leader) while the others
// queue; when it is done, the leader hands the queue to its first waiter,
// which takes every queued call (up to maxCombined events) into the next
// transaction. Groups keep their order and their own outcomes (Err), so a
// call sees exactly what it would alone; an error of the transaction as a
// whole goes to every call in it (nothing of any of them was written). On
// one node this keeps one transaction, not one per goroutine, waiting on a
// tenant's head lock, and many small appends share a commit. A call whose
// context ends while it is queued leaves the queue with the context's
// error, having written nothing; once taken, it waits for the outcome.
func (s *Store) combine(ctx context.Context, groups []*hashtrail.AppendGroup) error {
	c := &appendCall{ctx: ctx, groups: groups, done: make(chan callResult, 1)}
	s.qmu.Lock()
	s.queue = append(s.queue, c)
	if s.leading {
		s.qmu.Unlock()
		if err, lead := s.wait(c); !lead {
			return err
		}
		s.qmu.Lock()
	}
	s.leading = true
	var batch []*appendCall
	n := 0
	for len(s.queue) > 0 {
		q := s.queue[0]
		k := 0
		for _, g := range q.groups {
			k += len(g.Entries)
		}
		if len(batch) > 0 && n+k > maxCombined {
			break
		}
		s.queue, batch, n = s.queue[1:], append(batch, q), n+k
	}
	s.qmu.Unlock()

	var all []*hashtrail.AppendGroup
	guess := map[string]int64{}
	s.qmu.Lock()
	for _, q := range batch {
		all = append(all, q.groups...)
		for _, g := range q.groups {
			for _, e := range g.Entries {
				if n, ok := s.expect[e.Event.Tenant]; ok {
					guess[e.Event.Tenant] = n
				}
			}
		}
	}
	s.qmu.Unlock()
	a := &ahead{seals: ingest.Preseal(all, guess)}
	prepareAhead(a)
	handed := false
	handoff := func(next map[string]int64) {
		s.qmu.Lock()
		defer s.qmu.Unlock()
		if len(s.expect)+len(next) > maxExpect {
			clear(s.expect)
		}
		maps.Copy(s.expect, next)
		if handed {
			return
		}
		handed = true
		if len(s.queue) > 0 {
			s.queue[0].done <- callResult{lead: true}
		} else {
			s.leading = false
		}
	}
	a.sequenced = handoff
	err := s.appendGroups(context.WithoutCancel(ctx), all, a)
	if err != nil {
		s.qmu.Lock()
		for t := range guess {
			delete(s.expect, t)
		}
		s.qmu.Unlock()
	}
	handoff(nil)
	var mine error
	for _, q := range batch {
		if q == c {
			mine = err
			continue
		}
		q.done <- callResult{err: err}
	}
	return mine
}

// maxExpect bounds Store.expect; past it the map starts again empty.
const maxExpect = 10000

// prepareAhead encodes the bodies and personal-value rows of the entries
// sealed ahead, on all CPUs.
func prepareAhead(a *ahead) {
	es := make([]*hashtrail.Entry, 0, len(a.seals))
	for e := range a.seals {
		es = append(es, e)
	}
	a.prep = make(map[*hashtrail.Sealed]*prepared, len(es))
	ps := make([]*prepared, len(es))
	ingest.Parallel(len(es), 32, func(i int) { ps[i] = prepare(es[i], a.seals[es[i]].Sealed) })
	for i, e := range es {
		if ps[i].err == nil {
			a.prep[a.seals[e].Sealed] = ps[i]
		}
	}
}

// wait waits for the outcome of queued call c, or to be made leader (lead
// true). If c's context ends while c is still queued, c leaves the queue
// with the context's error.
func (s *Store) wait(c *appendCall) (err error, lead bool) {
	select {
	case r := <-c.done:
		return r.err, r.lead
	case <-c.ctx.Done():
	}
	s.qmu.Lock()
	select {
	case r := <-c.done: // sent meanwhile (always under qmu)
		s.qmu.Unlock()
		return r.err, r.lead
	default:
	}
	for i, q := range s.queue {
		if q == c { // not taken yet: leave
			s.queue = append(s.queue[:i], s.queue[i+1:]...)
			s.qmu.Unlock()
			return wrap("append", c.ctx.Err()), false
		}
	}
	s.qmu.Unlock()
	r := <-c.done // taken: wait for the outcome
	return r.err, r.lead
}
