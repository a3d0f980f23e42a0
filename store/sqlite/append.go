package sqlite

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/merkle"
	"github.com/hashtrail/hashtrail/store/internal/ingest"
)

// Append writes the groups in one transaction and returns once it is
// durable; see hashtrail.EventStore. It works in three steps, so that the
// database sees few, large statements:
//
//  1. prefetch: the heads of every tenant named and the stored events with
//     any of the ids named, with a handful of IN queries;
//  2. sequence: in memory, ingest.Sequence checks each group in order whole
//     (a missing tenant, an id reused with other content) and, if it
//     passes, gives its new events the next seqs of their tenants and seals
//     them (hashtrail.Entry.Seal: leaf, leaf hash, personal values by role)
//     on all CPUs; their bodies and personal-value rows are encoded on all
//     CPUs too, and each is added in seq order to its tenant's tree, whose
//     right edge comes from Store.edges or, once per tenant, from
//     tree_hashes;
//  3. write: the new tenants, the log heads, the events (without their
//     personal values), their targets, tags and free-text documents (the
//     text with personal values; see 0005), their personal values (event_pii)
//     and their tree hashes with multi-row INSERTs, then one COMMIT (one
//     fsync). Only then do the new right edges replace the cached ones.
func (s *Store) Append(ctx context.Context, groups []*hashtrail.AppendGroup) error {
	if err := ingest.Validate(groups); err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	a := &appender{tx: tx, now: hashtrail.NewTime(s.now()), cached: s.edges, edges: map[int64]*ingest.Edge{}}
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
	s.metrics.Commit.Observe(time.Since(start).Seconds())
	s.metrics.Events.Observe(float64(len(a.plan.Added)))
	s.kickCheckpointer()
	return nil
}

// head is a tenant's log head during one Append.
type head struct {
	num    int64
	next   int64 // the next seq, counting this call's events
	stored int64 // next_seq as stored; -1 while the tenant is not stored
}

// appender is the state of one Append call.
type appender struct {
	tx      *wtx
	now     hashtrail.Time
	heads   map[string]*head // every tenant named that exists or is created, by id
	closed  map[string]bool  // tenants named that are being deleted or deleted
	plan    *ingest.Plan
	prep    []prepared // of plan.Added, one for one
	lastNum int64      // the largest tenant num ever used; 0 until loaded

	cached map[int64]*ingest.Edge // Store.edges: read only here
	edges  map[int64]*ingest.Edge // the trees' right edges as this call grows them
	hashes []any                  // tree_hashes rows to write
}

// run sequences and seals the groups (ingest.Sequence), gives the new
// tenants their nums, encodes the new events' rows, integrates them into
// their trees and writes them.
func (a *appender) run(groups []*hashtrail.AppendGroup) error {
	a.heads = map[string]*head{}
	heads, known, err := a.prefetch(groups)
	if err != nil {
		return err
	}
	groups = ingest.Open(groups, a.closed)
	if a.plan, err = ingest.Sequence(groups, heads, known, seqLimit, nil); err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	for _, t := range a.plan.Created {
		if err := a.create(t); err != nil {
			return err
		}
	}
	for t, n := range a.plan.Next {
		a.heads[t].next = n
	}
	if err := a.prepare(); err != nil {
		return err
	}
	for i, e := range a.plan.Added {
		if err := a.integrate(a.heads[e.Event.Tenant], e.Event.Seq, a.plan.Sealed[i]); err != nil {
			return err
		}
	}
	return a.write()
}

// prefetch loads the heads of the tenants named and the stored events whose
// ids are named.
func (a *appender) prefetch(groups []*hashtrail.AppendGroup) (map[string]ingest.Head, map[ingest.Key]ingest.Prior, error) {
	tenants, ids := ingest.Names(groups)
	heads := map[string]ingest.Head{}
	known := map[ingest.Key]ingest.Prior{}
	err := inChunks(tenants, func(list string, args []any) error {
		rows, err := a.tx.query(`SELECT id, num, next_seq, state FROM tenants WHERE id IN (`+list+`)`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, state string
			var num, next int64
			if err := rows.Scan(&id, &num, &next, &state); err != nil {
				return fmt.Errorf("sqlite: append: %w", err)
			}
			if state != "" {
				if a.closed == nil {
					a.closed = map[string]bool{}
				}
				a.closed[id] = true
				continue
			}
			a.heads[id] = &head{num: num, next: next, stored: next}
			heads[id] = ingest.Head{Found: true, Next: next}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, nil, err
	}
	for _, t := range tenants {
		h, ok := a.heads[t]
		if !ok {
			continue
		}
		err := inChunks(ids[t], func(list string, args []any) error {
			// Purged events keep their idempotency records in
			// purged_events (0007).
			qargs := append(append(append([]any{h.num}, args...), h.num), args...)
			rows, err := a.tx.query(`SELECT id, content_hash, pos, received_at, leaf_hash FROM events
				WHERE tenant = ? AND id IN (`+list+`)
				UNION ALL SELECT id, content_hash, pos, received_at, leaf_hash FROM purged_events
				WHERE tenant = ? AND id IN (`+list+`)`, qargs...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var id string
				var p ingest.Prior
				var ps, recv int64
				var leaf []byte
				if err := rows.Scan(&id, &p.ContentHash, &ps, &recv, &leaf); err != nil {
					return fmt.Errorf("sqlite: append: %w", err)
				}
				p.Seq, p.ReceivedAt, p.LeafHash = ps&seqMask, hashtrail.TimeFromMicros(recv), leafString(leaf)
				known[ingest.Key{Tenant: t, ID: id}] = p
			}
			return rows.Err()
		})
		if err != nil {
			return nil, nil, err
		}
	}
	return heads, known, nil
}

// integrate adds a sealed event, the next of tenant head h at seq, to its
// tree and queues the tree hashes it adds for write.
func (a *appender) integrate(h *head, seq int64, sl *hashtrail.Sealed) error {
	e, ok := a.edges[h.num]
	if !ok {
		switch c, cached := a.cached[h.num]; {
		case cached && c.N == seq:
			e = c.Clone()
		case seq == 0:
			e = &ingest.Edge{}
		default:
			var err error
			if e, err = a.tx.loadEdge(h.num, seq); err != nil {
				return err
			}
		}
		a.edges[h.num] = e
	}
	if e.N != seq {
		return fmt.Errorf("sqlite: append: the tree of tenant %d has size %d at seq %d", h.num, e.N, seq)
	}
	hs, err := e.Add(sl.LeafHash)
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
	a.heads[t] = &head{num: a.lastNum, stored: -1}
	return nil
}

// Column counts of the multi-row INSERTs.
const (
	tenantCols = 5
	eventCols  = 18
	targetCols = 2
	hashCols   = 3
)

// write stores what sequence decided.
func (a *appender) write() error {
	args := make([]any, 0, len(a.plan.Created)*tenantCols)
	for _, t := range a.plan.Created {
		h := a.heads[t]
		args = append(args, h.num, t, "", a.now.Micros(), h.next)
		h.stored = h.next
	}
	if err := a.tx.insertRows(`INSERT OR ROLLBACK INTO tenants (num, id, name, created_at, next_seq) VALUES `, tenantCols, args); err != nil {
		return err
	}
	stored := map[int64]int64{} // the bytes each tenant's storage grows by
	for i, e := range a.plan.Added {
		stored[a.heads[e.Event.Tenant].num] += ingest.StoredBytes(e.Event, a.prep[i].body, nil) + piiBytes(a.prep[i].pii)
	}
	for _, h := range a.heads {
		if h.stored != h.next || stored[h.num] != 0 {
			if _, err := a.tx.exec(`UPDATE tenants SET next_seq = ?, storage_bytes = storage_bytes + ? WHERE num = ?`, h.next, stored[h.num], h.num); err != nil {
				return err
			}
		}
	}
	args = make([]any, 0, len(a.plan.Added)*eventCols)
	var targets, pii, tags, text []any
	hours := hourBounds{}
	counts := eventCounts{}
	for i, e := range a.plan.Added {
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
			actor, email, ipColumn(ev), ev.KeyID, hash, leaf, b, actorTypeColumn(ev), countryColumn(ev))
		tags, text = searchRows(tags, text, ev, p)
		hours.add(a.heads[ev.Tenant].num, ev.Time, p)
		counts.add(a.heads[ev.Tenant].num, ev)
		for _, k := range ingest.TargetKeys(ev) {
			targets = append(targets, k, p)
		}
	}
	if err := a.tx.insertRows(`INSERT OR ROLLBACK INTO events (pos, tenant, id, time, received_at, action, category, severity,
		outcome, actor, actor_email, ip, key_id, content_hash, leaf_hash, body, actor_type, country) VALUES `, eventCols, args); err != nil {
		return err
	}
	if err := a.tx.insertRows(`INSERT OR ROLLBACK INTO event_tags (tag, pos) VALUES `, tagCols, tags); err != nil {
		return err
	}
	if err := hours.write(a.tx); err != nil {
		return err
	}
	if err := counts.write(a.tx); err != nil {
		return err
	}
	if err := a.tx.insertRows(`INSERT OR ROLLBACK INTO event_text (rowid, text, keys) VALUES `, textCols, text); err != nil {
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

// piiBytes is the values, salts and commitments of event_pii rows (as
// piiRows makes them), for ingest.StoredBytes.
func piiBytes(rows []any) int64 {
	var n int64
	for j := 0; j+piiCols <= len(rows); j += piiCols {
		for _, v := range rows[j+4 : j+7] {
			if b, ok := v.([]byte); ok {
				n += int64(len(b))
			}
		}
	}
	return n
}
