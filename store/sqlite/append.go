package sqlite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/merkle"
)

// Append writes the groups in one transaction and returns once it is
// durable; see hashtrail.EventStore. It works in three steps, so that the
// database sees few, large statements:
//
//  1. prefetch: the heads of every tenant named and the stored events with
//     any of the ids named, with a handful of IN queries;
//  2. sequence: in memory, each group in order is checked whole (a missing
//     tenant, an id reused with other content) and, if it passes, its new
//     events get the next seqs of their tenants; then every new event is
//     sealed (hashtrail.Entry.Seal: leaf, leaf hash, personal values by
//     role), on all CPUs (see sealAll), and added in seq order to its
//     tenant's tree, whose right edge comes from Store.edges or, once per
//     tenant, from tree_hashes;
//  3. write: the new tenants, the log heads, the events (without their
//     personal values), their targets, their personal values (event_pii)
//     and their tree hashes with multi-row INSERTs, then one COMMIT (one
//     fsync). Only then do the new right edges replace the cached ones.
func (s *Store) Append(ctx context.Context, groups []*hashtrail.AppendGroup) error {
	for _, g := range groups {
		g.Err = nil
		for _, e := range g.Entries {
			if e == nil || e.Event == nil || e.Event.Tenant == "" || e.Event.ID == "" {
				return errors.New("sqlite: append: an entry lacks its event, tenant or id")
			}
			e.Replayed = false
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	a := &appender{tx: tx, now: hashtrail.NewTime(s.now()), cached: s.edges, edges: map[int64]*edge{}}
	if err := a.run(groups); err != nil {
		s.rollback()
		return err
	}
	start := time.Now()
	if err := s.commit(); err != nil {
		return err
	}
	if len(s.edges)+len(a.edges) > maxCachedEdges {
		clear(s.edges)
	}
	maps.Copy(s.edges, a.edges)
	s.metrics.commit.Observe(time.Since(start).Seconds())
	s.metrics.events.Observe(float64(len(a.added)))
	s.kickCheckpointer()
	return nil
}

// idKey names an event for idempotency.
type idKey struct{ tenant, id string }

// prior is what a replay copies from the event that first used an id.
type prior struct {
	hash       []byte
	seq        int64
	receivedAt hashtrail.Time
	leaf       string           // of a stored event
	from       *hashtrail.Event // an event added by this call, sealed later
}

// head is a tenant's log head during one Append.
type head struct {
	num    int64
	next   int64 // the next seq, counting this call's events
	stored int64 // next_seq as stored; -1 while the tenant is not stored
	found  bool  // stored, or created by an earlier group of this call
}

// appender is the state of one Append call.
type appender struct {
	tx      *wtx
	now     hashtrail.Time
	heads   map[string]*head // every tenant named, by id
	known   map[idKey]prior  // ids stored or added by this call
	added   []*hashtrail.Entry
	sealed  []*hashtrail.Sealed   // of added, one for one
	prep    []prepared            // of added, one for one
	created []string              // tenants this call creates, in order
	lastNum int64                 // the largest tenant num ever used; 0 until loaded
	replays [][2]*hashtrail.Event // replays of events added by this call, and those events

	careful bool                      // seal each group as it is sequenced (see run)
	seals   map[*hashtrail.Entry]seal // every Seal result of this call

	cached map[int64]*edge // Store.edges: read only here
	edges  map[int64]*edge // the trees' right edges as this call grows them
	hashes []any           // tree_hashes rows to write
}

// run sequences the groups, seals and integrates their new events and
// writes them. Sealing is the costly part, so it first runs optimistically:
// every group is sequenced as if its events will seal, and then all new
// events are sealed at once, in parallel. Should one fail to seal (an
// invalid event the engine let through), that would change the seqs of
// every later group, so run starts over carefully, sealing each group as it
// is sequenced (reusing the seals of events whose seq did not change),
// which fails that group alone.
func (a *appender) run(groups []*hashtrail.AppendGroup) error {
	a.seals = map[*hashtrail.Entry]seal{}
	for {
		a.heads, a.known = map[string]*head{}, map[idKey]prior{}
		a.added, a.created, a.replays, a.lastNum = a.added[:0], nil, nil, 0
		for _, g := range groups {
			g.Err = nil
			for _, e := range g.Entries {
				e.Replayed = false
			}
		}
		if err := a.prefetch(groups); err != nil {
			return err
		}
		for _, g := range groups {
			if err := a.sequence(g); err != nil {
				return err
			}
		}
		ok, err := a.sealAll()
		if err != nil {
			return err
		}
		if ok {
			break
		}
		if a.careful {
			return errors.New("sqlite: append: an event failed to seal twice") // cannot happen
		}
		a.careful = true
	}
	for _, pair := range a.replays {
		pair[0].LeafHash = pair[1].LeafHash
	}
	for i, e := range a.added {
		if err := a.integrate(a.heads[e.Event.Tenant], e.Event.Seq, a.sealed[i]); err != nil {
			return err
		}
	}
	return a.write()
}

// prefetch loads the heads of the tenants named and the stored events whose
// ids are named.
func (a *appender) prefetch(groups []*hashtrail.AppendGroup) error {
	var tenants []string
	ids := map[string][]string{}
	for _, g := range groups {
		for _, e := range g.Entries {
			t := e.Event.Tenant
			if _, ok := a.heads[t]; !ok {
				a.heads[t] = &head{stored: -1}
				tenants = append(tenants, t)
			}
			ids[t] = append(ids[t], e.Event.ID)
		}
	}
	err := inChunks(tenants, func(list string, args []any) error {
		rows, err := a.tx.query(`SELECT id, num, next_seq FROM tenants WHERE id IN (`+list+`)`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var num, next int64
			if err := rows.Scan(&id, &num, &next); err != nil {
				return fmt.Errorf("sqlite: append: %w", err)
			}
			a.heads[id] = &head{num: num, next: next, stored: next, found: true}
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	for _, t := range tenants {
		h := a.heads[t]
		if !h.found {
			continue
		}
		err := inChunks(ids[t], func(list string, args []any) error {
			rows, err := a.tx.query(`SELECT id, content_hash, pos, received_at, leaf_hash FROM events
				WHERE tenant = ? AND id IN (`+list+`)`, append([]any{h.num}, args...)...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var id string
				var p prior
				var ps, recv int64
				var leaf []byte
				if err := rows.Scan(&id, &p.hash, &ps, &recv, &leaf); err != nil {
					return fmt.Errorf("sqlite: append: %w", err)
				}
				p.seq, p.receivedAt, p.leaf = ps&seqMask, hashtrail.TimeFromMicros(recv), leafString(leaf)
				a.known[idKey{t, id}] = p
			}
			return rows.Err()
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// sequence checks group g whole and, if it passes, assigns its new events
// their seqs and marks its replays. A group that fails gets g.Err and
// changes nothing.
func (a *appender) sequence(g *hashtrail.AppendGroup) error {
	var create []string
	local := map[idKey][]byte{} // content hashes of this group's new ids
	for _, e := range g.Entries {
		ev := e.Event
		if !a.heads[ev.Tenant].found {
			if !g.CreateTenants {
				g.Err = hashtrail.Errorf(hashtrail.ENOTFOUND, "tenant %q does not exist", ev.Tenant)
				return nil
			}
			if !slices.Contains(create, ev.Tenant) {
				create = append(create, ev.Tenant)
			}
		}
		k := idKey{ev.Tenant, ev.ID}
		hash, ok := local[k]
		if p, found := a.known[k]; found {
			hash, ok = p.hash, true
		}
		if ok && !bytes.Equal(hash, e.ContentHash) {
			g.Err = hashtrail.Errorf(hashtrail.ECONFLICT, "event id %q of tenant %q was already used with other content", ev.ID, ev.Tenant)
			return nil
		}
		if !ok {
			local[k] = e.ContentHash
		}
	}
	if a.careful {
		if err := a.sealGroup(g); err != nil || g.Err != nil {
			return err
		}
	}
	for _, t := range create {
		if err := a.create(t); err != nil {
			return err
		}
	}
	for _, e := range g.Entries {
		ev := e.Event
		k := idKey{ev.Tenant, ev.ID}
		if p, ok := a.known[k]; ok {
			ev.Seq, ev.ReceivedAt, ev.LeafHash = p.seq, p.receivedAt, p.leaf
			if p.from != nil {
				a.replays = append(a.replays, [2]*hashtrail.Event{ev, p.from})
			}
			e.Replayed = true
			continue
		}
		h := a.heads[ev.Tenant]
		if h.next >= seqLimit {
			return fmt.Errorf("sqlite: append: the log of tenant %q is full", ev.Tenant)
		}
		ev.Seq = h.next
		h.next++
		a.known[k] = prior{hash: e.ContentHash, seq: ev.Seq, receivedAt: ev.ReceivedAt, from: ev}
		a.added = append(a.added, e)
	}
	return nil
}

// integrate adds a sealed event, the next of tenant head h at seq, to its
// tree and queues the tree hashes it adds for write.
func (a *appender) integrate(h *head, seq int64, sl *hashtrail.Sealed) error {
	e, ok := a.edges[h.num]
	if !ok {
		switch c, cached := a.cached[h.num]; {
		case cached && c.n == seq:
			e = c.clone()
		case seq == 0:
			e = &edge{}
		default:
			var err error
			if e, err = a.tx.loadEdge(h.num, seq); err != nil {
				return err
			}
		}
		a.edges[h.num] = e
	}
	if e.n != seq {
		return fmt.Errorf("sqlite: append: the tree of tenant %d has size %d at seq %d", h.num, e.n, seq)
	}
	hs, err := e.add(sl.LeafHash)
	if err != nil {
		return fmt.Errorf("sqlite: append: %w", err)
	}
	first := merkle.StoredHashIndex(0, seq)
	for i := range hs {
		a.hashes = append(a.hashes, h.num, first+int64(i), hs[i][:])
	}
	return nil
}

// create gives tenant t the next tenant num; write inserts it.
func (a *appender) create(t string) error {
	if a.lastNum == 0 {
		row, err := a.tx.queryRow(`SELECT max(
			coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'tenants'), 0),
			coalesce((SELECT max(num) FROM tenants), 0))`)
		if err != nil {
			return err
		}
		if err := row.Scan(&a.lastNum); err != nil {
			return fmt.Errorf("sqlite: append: %w", err)
		}
	}
	if a.lastNum+1 >= numLimit {
		return fmt.Errorf("sqlite: append: no tenant numbers left")
	}
	a.lastNum++
	h := a.heads[t]
	h.num, h.next, h.found = a.lastNum, 0, true
	a.created = append(a.created, t)
	return nil
}

// Column counts of the multi-row INSERTs.
const (
	tenantCols = 5
	eventCols  = 16
	targetCols = 2
	hashCols   = 3
)

// write stores what sequence decided.
func (a *appender) write() error {
	args := make([]any, 0, len(a.created)*tenantCols)
	for _, t := range a.created {
		h := a.heads[t]
		args = append(args, h.num, t, "", a.now.Micros(), h.next)
		h.stored = h.next
	}
	if err := a.tx.insertRows(`INSERT OR ROLLBACK INTO tenants (num, id, name, created_at, next_seq) VALUES `, tenantCols, args); err != nil {
		return err
	}
	for _, h := range a.heads {
		if h.found && h.stored != h.next {
			if _, err := a.tx.exec(`UPDATE tenants SET next_seq = ? WHERE num = ?`, h.next, h.num); err != nil {
				return err
			}
		}
	}
	args = make([]any, 0, len(a.added)*eventCols)
	var targets, pii []any
	for i, e := range a.added {
		ev := e.Event
		p := pos(a.heads[ev.Tenant].num, ev.Seq)
		b := a.prep[i].body
		pii = append(pii, a.prep[i].pii...)
		leaf, err := leafColumn(ev)
		if err != nil {
			return err
		}
		actor, email := actorColumns(ev)
		hash := e.ContentHash
		if hash == nil {
			hash = []byte{}
		}
		args = append(args, p, a.heads[ev.Tenant].num, ev.ID, ev.Time.Micros(), ev.ReceivedAt.Micros(),
			ev.Action, string(ev.Category), ev.Severity.Rank(), string(ev.Outcome),
			actor, email, ipColumn(ev), ev.KeyID, hash, leaf, b)
		for i, t := range ev.Targets {
			if !slices.ContainsFunc(ev.Targets[:i], func(u hashtrail.Target) bool { return u.Key() == t.Key() }) {
				targets = append(targets, t.Key(), p)
			}
		}
	}
	if err := a.tx.insertRows(`INSERT OR ROLLBACK INTO events (pos, tenant, id, time, received_at, action, category, severity,
		outcome, actor, actor_email, ip, key_id, content_hash, leaf_hash, body) VALUES `, eventCols, args); err != nil {
		return err
	}
	if err := a.tx.insertRows(`INSERT OR ROLLBACK INTO event_targets (target, pos) VALUES `, targetCols, targets); err != nil {
		return err
	}
	if err := a.tx.insertRows(`INSERT OR ROLLBACK INTO event_pii (tenant, seq, role, subject, values_jcs, salt, commitment) VALUES `,
		piiCols, pii); err != nil {
		return err
	}
	return a.tx.insertRows(`INSERT OR ROLLBACK INTO tree_hashes (tenant, idx, hash) VALUES `, hashCols, a.hashes)
}
