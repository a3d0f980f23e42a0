// Package ingest is what every store's Append shares and nothing of it
// depends on the database: sequencing the groups of a call (replays,
// ECONFLICT, ENOTFOUND, CreateTenants, seqs), sealing the new events on all
// CPUs, the right edge of a tenant's tree that yields the tree hashes each
// leaf adds, and the encoding of event bodies and personal-value rows.
// A store reads the heads and the ids a call names, calls Sequence, writes
// the Plan in one transaction, and reads events back with DecodeBody and
// JoinRoles.
package ingest

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/hashtrail/hashtrail"
)

// Head is a tenant's log head as the store read it.
type Head struct {
	Found bool  // the tenant exists
	Next  int64 // its log size: the seq of its next event
}

// Key names an event for idempotency.
type Key struct{ Tenant, ID string }

// Prior is a stored event whose id a call names: what a replay answers.
type Prior struct {
	ContentHash []byte
	Seq         int64
	ReceivedAt  hashtrail.Time
	LeafHash    string // lowercase hex
}

// Plan is what Sequence decided for one call.
type Plan struct {
	// Added are the new events, in the order they are to be written; each
	// has its Seq and LeafHash set. Per tenant their seqs are consecutive
	// from the head's Next.
	Added  []*hashtrail.Entry
	Sealed []*hashtrail.Sealed // of Added, one for one
	// Created are the tenants the call creates, in order of creation.
	Created []string
	// Next is the log size after the call of every tenant that grows or is
	// created.
	Next map[string]int64
}

// Validate checks that every entry has its event, tenant and id, and
// clears what Append sets (Err, Replayed).
func Validate(groups []*hashtrail.AppendGroup) error {
	for _, g := range groups {
		g.Err = nil
		for _, e := range g.Entries {
			if e == nil || e.Event == nil || e.Event.Tenant == "" || e.Event.ID == "" {
				return errors.New("append: an entry lacks its event, tenant or id")
			}
			e.Replayed = false
		}
	}
	return nil
}

// Names returns the tenants the groups name, in order of first mention, and
// the ids they name per tenant.
func Names(groups []*hashtrail.AppendGroup) (tenants []string, ids map[string][]string) {
	ids = map[string][]string{}
	for _, g := range groups {
		for _, e := range g.Entries {
			t := e.Event.Tenant
			if _, ok := ids[t]; !ok {
				tenants = append(tenants, t)
			}
			ids[t] = append(ids[t], e.Event.ID)
		}
	}
	return tenants, ids
}

// Sequence applies the groups in order, with the semantics of
// hashtrail.EventStore.Append, to the heads of the tenants they name
// (missing tenants have Found false) and the stored events whose ids they
// name (known). A group that fails gets its Err and changes nothing; a
// replay gets the original's Seq, ReceivedAt and LeafHash and Replayed. New
// events get the next seqs of their tenants (below limit) and are sealed.
//
// Sealing is the costly part, so it runs optimistically first: every group
// is sequenced as if its events will seal, and then all new events are
// sealed at once, on all CPUs. Should one fail to seal (an invalid event
// the engine let through), that would change the seqs of every later
// group, so Sequence starts over carefully, sealing each group as it is
// sequenced (reusing the seals of events whose seq did not change), which
// fails that group alone. The error is for failures of the call as a whole.
//
// pre are entries sealed ahead (Preseal); a seal is reused when its entry
// gets the seq it was sealed with.
func Sequence(groups []*hashtrail.AppendGroup, heads map[string]Head, known map[Key]Prior, limit int64, pre Seals) (*Plan, error) {
	s := &sequencer{seals: make(map[*hashtrail.Entry]seal, len(pre)), limit: limit}
	for e, m := range pre {
		s.seals[e] = seal{seq: m.Seq, sealed: m.Sealed}
	}
	for {
		s.reset(groups, heads, known)
		for _, g := range groups {
			if err := s.sequence(g); err != nil {
				return nil, err
			}
		}
		ok, err := s.sealAll()
		if err != nil {
			return nil, err
		}
		if ok {
			break
		}
		if s.careful {
			return nil, errors.New("append: an event failed to seal twice") // cannot happen
		}
		s.careful = true
	}
	for _, pair := range s.replays {
		pair[0].LeafHash = pair[1].LeafHash
	}
	s.plan.Next = map[string]int64{}
	for t, h := range s.heads {
		if h.found && (h.next != heads[t].Next || !heads[t].Found) {
			s.plan.Next[t] = h.next
		}
	}
	return s.plan, nil
}

type head struct {
	found bool
	next  int64
}

type prior struct {
	Prior
	from *hashtrail.Event // an event added by this call, sealed later
}

// seal is the result of sealing an entry with a seq.
type seal struct {
	seq    int64
	sealed *hashtrail.Sealed
	err    error
}

type sequencer struct {
	limit   int64
	heads   map[string]*head
	known   map[Key]prior
	plan    *Plan
	replays [][2]*hashtrail.Event // replays of events added by this call, and those events
	careful bool                  // seal each group as it is sequenced
	seals   map[*hashtrail.Entry]seal
}

func (s *sequencer) reset(groups []*hashtrail.AppendGroup, heads map[string]Head, known map[Key]Prior) {
	s.heads = make(map[string]*head, len(heads))
	for t, h := range heads {
		s.heads[t] = &head{found: h.Found, next: h.Next}
	}
	s.known = make(map[Key]prior, len(known))
	for k, p := range known {
		s.known[k] = prior{Prior: p}
	}
	s.plan, s.replays = &Plan{}, nil
	for _, g := range groups {
		g.Err = nil
		for _, e := range g.Entries {
			e.Replayed = false
			if _, ok := s.heads[e.Event.Tenant]; !ok {
				s.heads[e.Event.Tenant] = &head{}
			}
		}
	}
}

// sequence checks group g whole and, if it passes, assigns its new events
// their seqs and marks its replays.
func (s *sequencer) sequence(g *hashtrail.AppendGroup) error {
	var create []string
	local := map[Key][]byte{} // content hashes of this group's new ids
	for _, e := range g.Entries {
		ev := e.Event
		if !s.heads[ev.Tenant].found {
			if !g.CreateTenants {
				g.Err = hashtrail.Errorf(hashtrail.ENOTFOUND, "tenant %q does not exist", ev.Tenant)
				return nil
			}
			if !slices.Contains(create, ev.Tenant) {
				create = append(create, ev.Tenant)
			}
		}
		k := Key{ev.Tenant, ev.ID}
		hash, ok := local[k]
		if p, found := s.known[k]; found {
			hash, ok = p.ContentHash, true
		}
		if ok && !bytes.Equal(hash, e.ContentHash) {
			g.Err = hashtrail.Errorf(hashtrail.ECONFLICT, "event id %q of tenant %q was already used with other content", ev.ID, ev.Tenant)
			return nil
		}
		if !ok {
			local[k] = e.ContentHash
		}
	}
	if s.careful {
		if err := s.sealGroup(g); err != nil || g.Err != nil {
			return err
		}
	}
	for _, t := range create {
		s.heads[t].found = true
		s.plan.Created = append(s.plan.Created, t)
	}
	for _, e := range g.Entries {
		ev := e.Event
		k := Key{ev.Tenant, ev.ID}
		if p, ok := s.known[k]; ok {
			ev.Seq, ev.ReceivedAt, ev.LeafHash = p.Seq, p.ReceivedAt, p.LeafHash
			if p.from != nil {
				s.replays = append(s.replays, [2]*hashtrail.Event{ev, p.from})
			}
			e.Replayed = true
			continue
		}
		h := s.heads[ev.Tenant]
		if h.next >= s.limit {
			return fmt.Errorf("append: the log of tenant %q is full", ev.Tenant)
		}
		ev.Seq = h.next
		h.next++
		s.known[k] = prior{Prior: Prior{ContentHash: e.ContentHash, Seq: ev.Seq, ReceivedAt: ev.ReceivedAt}, from: ev}
		s.plan.Added = append(s.plan.Added, e)
	}
	return nil
}

// sealsPerWorker is the least work worth another goroutine: sealing one
// event costs some 15 µs.
const sealsPerWorker = 16

// sealAll seals the new events that are not sealed with their seq yet, on
// up to GOMAXPROCS goroutines, and sets plan.Sealed. It reports false if an
// event could not be sealed (EINVALID), and fails on any other error.
func (s *sequencer) sealAll() (bool, error) {
	added := s.plan.Added
	n := len(added)
	s.plan.Sealed = make([]*hashtrail.Sealed, n)
	results := make([]seal, n) // of events sealed here
	Parallel(n, sealsPerWorker, func(i int) {
		e := added[i]
		m, ok := s.seals[e] // read only while workers run
		if ok && m.seq == e.Event.Seq && m.err == nil {
			e.Event.LeafHash = hex.EncodeToString(m.sealed.LeafHash[:])
		} else {
			sl, err := e.Seal()
			m = seal{seq: e.Event.Seq, sealed: sl, err: err}
			results[i] = m
		}
		s.plan.Sealed[i] = m.sealed
	})
	ok := true
	for i, r := range results {
		if r.sealed == nil && r.err == nil {
			continue // sealed before
		}
		s.seals[added[i]] = r
		if r.err != nil {
			if hashtrail.ErrorCode(r.err) == hashtrail.EINTERNAL {
				return false, fmt.Errorf("append: %w", r.err)
			}
			ok = false
		}
	}
	return ok, nil
}

// sealGroup seals the new events of group g, which passed the checks, with
// the seqs they will have, reusing earlier seals with the same seq. An event
// that cannot be sealed (EINVALID: it lacks what the leaf needs) fails the
// group: g.Err is set and nothing is changed, as for the other checks.
func (s *sequencer) sealGroup(g *hashtrail.AppendGroup) error {
	next := map[string]int64{}
	seen := map[Key]bool{}
	for _, e := range g.Entries {
		ev := e.Event
		k := Key{ev.Tenant, ev.ID}
		if _, ok := s.known[k]; ok || seen[k] {
			continue
		}
		seen[k] = true
		n, ok := next[ev.Tenant]
		if !ok {
			n = s.heads[ev.Tenant].next // 0 for a tenant still to create
		}
		next[ev.Tenant] = n + 1
		ev.Seq = n
		m, ok := s.seals[e]
		if !ok || m.seq != n {
			sl, err := e.Seal()
			m = seal{seq: n, sealed: sl, err: err}
			s.seals[e] = m
		}
		switch {
		case m.err == nil:
		case hashtrail.ErrorCode(m.err) == hashtrail.EINTERNAL:
			return fmt.Errorf("append: %w", m.err)
		default:
			g.Err = hashtrail.Errorf(hashtrail.EINVALID, "event %q of tenant %q cannot be sealed: %s", ev.ID, ev.Tenant, hashtrail.ErrorMessage(m.err))
			return nil
		}
	}
	return nil
}

// Seals are entries sealed ahead of Sequence, each with the seq it was
// sealed with.
type Seals map[*hashtrail.Entry]Presealed

// Presealed is an entry sealed ahead with seq Seq.
type Presealed struct {
	Seq    int64
	Sealed *hashtrail.Sealed
}

// Preseal seals, on all CPUs, the entries of the groups with the seqs they
// will get if every group succeeds, every id is new and each tenant's log
// has the size next names (tenants next lacks are left out). A store calls
// it before it locks the logs, with the sizes it expects (those its last
// append left), so that the costly sealing happens outside the lock; when
// the guess was right, Sequence only checks it. Entries that fail to seal
// are left out (Sequence seals them again and fails their group).
func Preseal(groups []*hashtrail.AppendGroup, next map[string]int64) Seals {
	type job struct {
		e   *hashtrail.Entry
		seq int64
	}
	var jobs []job
	seen := map[Key]bool{}
	n := map[string]int64{}
	for _, g := range groups {
		for _, e := range g.Entries {
			t := e.Event.Tenant
			k := Key{t, e.Event.ID}
			base, ok := next[t]
			if !ok || seen[k] {
				continue
			}
			seen[k] = true
			jobs = append(jobs, job{e, base + n[t]})
			n[t]++
		}
	}
	out := make([]*hashtrail.Sealed, len(jobs))
	Parallel(len(jobs), sealsPerWorker, func(i int) {
		ev := *jobs[i].e.Event // a copy: the entry's event is the caller's until Sequence
		ev.Seq = jobs[i].seq
		c := *jobs[i].e
		c.Event = &ev
		if sl, err := c.Seal(); err == nil {
			out[i] = sl
		}
	})
	seals := make(Seals, len(jobs))
	for i, j := range jobs {
		if out[i] != nil {
			seals[j.e] = Presealed{Seq: j.seq, Sealed: out[i]}
		}
	}
	return seals
}

// Parallel calls fn(i) for every i below n, on up to GOMAXPROCS goroutines
// when there are at least perWorker calls for each, and returns once all
// returned.
func Parallel(n, perWorker int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n/max(perWorker, 1))
	if workers <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				fn(i)
			}
		})
	}
	wg.Wait()
}
