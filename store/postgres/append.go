package postgres

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/merkle"
	"github.com/hashtrail/hashtrail/store/internal/ingest"
)

// seqLimit bounds seqs (far beyond any log; merkle indexes stay in int64).
const seqLimit = int64(1) << 56

// Append writes the groups in one transaction and returns once it is
// committed (durable: synchronous_commit is the server's, on by default);
// see hashtrail.EventStore. Within the transaction:
//
//  1. one round trip locks the heads of every tenant named (SELECT ... FOR
//     UPDATE, in id order, so that appends on several nodes never deadlock
//     and each waits for the other's commit) and, only then, looks up the
//     ids named: a statement that starts after the locks are granted sees
//     every event other nodes committed to those tenants;
//  2. in memory, ingest.Sequence applies the groups in order (replays,
//     ECONFLICT, ENOTFOUND, CreateTenants) and seals the new events on all
//     CPUs; the new tenants are inserted (a tenant another node created
//     meanwhile starts the transaction over, now finding it);
//  3. each tenant's tree grows from the right edge kept in its locked head
//     row, so the tree hashes are right whatever other nodes wrote before;
//  4. one round trip writes the heads (next_seq, edge), the events, their
//     ids, targets, personal values, tree hashes and month ranges, each as
//     one INSERT ... SELECT FROM unnest(arrays); then COMMIT.
//
// A serialization failure or deadlock starts the transaction over. A lost
// connection is EUNAVAILABLE; if it was lost during COMMIT, Append asks the
// database (on a new connection) whether the transaction committed, and
// answers accordingly, so that an error still means nothing was written
// whenever the database can say so. Retrying after any error is safe:
// appends are idempotent by id.
//
// Concurrent calls on one Store share transactions (see combine.go).
func (s *Store) Append(ctx context.Context, groups []*hashtrail.AppendGroup) error {
	if err := ingest.Validate(groups); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgres: append: %w", err)
	}
	return s.combine(ctx, groups)
}

// appendGroups runs Append's transaction for groups (of one or several
// calls), retrying it as needed.
func (s *Store) appendGroups(ctx context.Context, groups []*hashtrail.AppendGroup, a *ahead) error {
	tenants, ids := ingest.Names(groups)
	if len(tenants) == 0 {
		return nil
	}
	var months []time.Time
	for _, g := range groups {
		for _, e := range g.Entries {
			if m := monthOf(e.Event.ReceivedAt.Time); !slices.Contains(months, m) {
				months = append(months, m)
			}
		}
	}
	if err := s.ensureMonths(ctx, months, false); err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		err := s.appendOnce(ctx, groups, tenants, ids, a)
		if err == nil {
			return nil
		}
		if noPartition(err) && attempt < maxAttempts {
			// A partition this store believed in is gone (retention): make
			// it again and start over.
			s.forgetMonths()
			if err := s.ensureMonths(ctx, months, true); err != nil {
				return err
			}
			continue
		}
		lost := errors.Is(err, errLostBeforeCommit)
		if !(retryable(err) || lost && attempt < lostAttempts) || attempt == maxAttempts || ctx.Err() != nil {
			return wrap("append", err)
		}
		backoff(ctx, attempt)
	}
}

// lostAttempts bounds the attempts of an Append whose connection was lost
// before COMMIT (so nothing was written): a connection the database ended
// is replaced by the pool, but a database that is down fails them all.
const lostAttempts = 3

// errLostBeforeCommit marks the failure of an attempt whose connection was
// lost before COMMIT was sent: nothing was written, and another attempt on
// another connection may succeed.
var errLostBeforeCommit = errors.New("the connection was lost before commit")

// noPartition reports whether err is an insert that found no partition
// for its row.
func noPartition(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23514" && pe.ConstraintName == ""
}

// head is what Append keeps of a locked log head.
type head struct {
	num   int64
	next  int64
	edge  []byte
	state string // hashtrail.Tenant.State
}

// appendOnce runs one attempt of Append's transaction.
func (s *Store) appendOnce(ctx context.Context, groups []*hashtrail.AppendGroup, tenants []string, ids map[string][]string, a *ahead) (err error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		if unavailable(err) {
			err = errors.Join(errLostBeforeCommit, err)
		}
		return err
	}
	committing := false
	defer func() {
		if err != nil {
			tx.Rollback(context.WithoutCancel(ctx))
			if !committing && unavailable(err) {
				err = errors.Join(errLostBeforeCommit, err)
			}
		}
	}()
	heads, known, err := lockHeads(ctx, tx, tenants, ids)
	if err != nil {
		return err
	}
	closed := map[string]bool{}
	for t, h := range heads {
		if h.state != "" {
			closed[t] = true
			delete(heads, t)
		}
	}
	groups = ingest.Open(groups, closed)
	hs := make(map[string]ingest.Head, len(heads))
	for t, h := range heads {
		hs[t] = ingest.Head{Found: true, Next: h.next}
	}
	plan, err := ingest.Sequence(groups, hs, known, seqLimit, a.seals)
	if err != nil {
		return err
	}
	if a.sequenced != nil {
		next := make(map[string]int64, len(heads)+len(plan.Created))
		for t, h := range heads {
			next[t] = h.next
		}
		maps.Copy(next, plan.Next)
		a.sequenced(next)
	}
	if len(plan.Added) == 0 {
		return tx.Commit(ctx) // replays and failed groups only: nothing to write
	}
	if err := s.createTenants(ctx, tx, plan.Created, heads); err != nil {
		return err
	}
	w, err := s.rows(plan, heads, a.prep)
	if err != nil {
		return err
	}
	if err := w.write(ctx, tx); err != nil {
		return err
	}
	committing = true
	start := time.Now()
	if err := tx.Commit(ctx); err != nil {
		if unavailable(err) && s.committed(plan.Added[0]) {
			return nil
		}
		return err
	}
	s.metrics.Commit.Observe(time.Since(start).Seconds())
	s.metrics.Events.Observe(float64(len(plan.Added)))
	return nil
}

// lockHeads locks the heads of tenants and then reads the stored events
// with the ids named, in one round trip.
func lockHeads(ctx context.Context, tx pgx.Tx, tenants []string, ids map[string][]string) (map[string]*head, map[ingest.Key]ingest.Prior, error) {
	b := &pgx.Batch{}
	heads := map[string]*head{}
	known := map[ingest.Key]ingest.Prior{}
	b.Queue(`SELECT id, num, next_seq, edge, state FROM tenants WHERE id = ANY($1) ORDER BY id FOR UPDATE`, tenants).
		Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var id string
				h := &head{}
				if err := rows.Scan(&id, &h.num, &h.next, &h.edge, &h.state); err != nil {
					return err
				}
				heads[id] = h
			}
			return rows.Err()
		})
	// One lookup per tenant: for each id named, one probe of the primary
	// key of event_ids. The LATERAL subquery with OFFSET 0 keeps it so:
	// given a long list of ids (= ANY), the planner may prefer to scan the
	// whole table, which costs a growing log dearly.
	for _, t := range tenants {
		b.Queue(`SELECT i.id, i.seq, i.received_at, i.content_hash, i.leaf_hash FROM unnest($2::text[]) AS k (id),
			LATERAL (SELECT * FROM event_ids i WHERE i.tenant = (SELECT num FROM tenants WHERE id = $1) AND i.id = k.id OFFSET 0) i`,
			t, ids[t]).
			Query(func(rows pgx.Rows) error {
				for rows.Next() {
					k := ingest.Key{Tenant: t}
					var p ingest.Prior
					var recv time.Time
					var leaf []byte
					if err := rows.Scan(&k.ID, &p.Seq, &recv, &p.ContentHash, &leaf); err != nil {
						return err
					}
					p.ReceivedAt, p.LeafHash = hashtrail.NewTime(recv), hex.EncodeToString(leaf)
					known[k] = p
				}
				return rows.Err()
			})
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, nil, err
	}
	return heads, known, nil
}

// createTenants inserts the tenants the call creates, in id order, and
// adds their heads. A tenant that another node created since this
// transaction looked (the insert waited for its commit) starts the
// transaction over.
func (s *Store) createTenants(ctx context.Context, tx pgx.Tx, created []string, heads map[string]*head) error {
	if len(created) == 0 {
		return nil
	}
	ids := slices.Sorted(slices.Values(created))
	rows, err := tx.Query(ctx, `INSERT INTO tenants (id, created_at) SELECT id, $2 FROM unnest($1::text[]) AS t (id) ORDER BY id
		ON CONFLICT (id) DO NOTHING RETURNING id, num`, ids, hashtrail.NewTime(s.now()).Time)
	if err != nil {
		return err
	}
	n := 0
	for rows.Next() {
		var id string
		h := &head{}
		if err := rows.Scan(&id, &h.num); err != nil {
			rows.Close()
			return err
		}
		heads[id] = h
		n++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if n != len(ids) {
		return errRetry
	}
	return nil
}

// committed reports whether the transaction that added e committed, after
// its COMMIT lost the connection: whether e's id is stored with e's seq and
// content. False when that cannot be known.
func (s *Store) committed(e *hashtrail.Entry) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var seq int64
	var hash []byte
	err := s.pool.QueryRow(ctx, `SELECT i.seq, i.content_hash FROM tenants t JOIN event_ids i ON i.tenant = t.num
		WHERE t.id = $1 AND i.id = $2`, e.Event.Tenant, e.Event.ID).Scan(&seq, &hash)
	return err == nil && seq == e.Event.Seq && bytes.Equal(hash, e.ContentHash)
}

// prepared is one new event's body and personal-value rows.
type prepared struct {
	body   []byte
	pii    []ingest.PIIRow
	facet  int16
	search searchCols
	err    error
}

// prepare encodes the body and personal-value rows of a sealed entry.
func prepare(e *hashtrail.Entry, sl *hashtrail.Sealed) *prepared {
	p := &prepared{}
	if p.body, p.err = ingest.EncodeBody(sl.Public); p.err != nil {
		return p
	}
	if p.pii, p.err = ingest.PIIRows(e.Event.Seq, sl.Roles); p.err != nil {
		return p
	}
	p.facet, p.err = facetOf(e.Event)
	p.search = searchColumns(e.Event)
	return p
}

// ahead is what an Append call prepared before its transaction: entries
// sealed with the seqs they are expected to get, their bodies and rows,
// and what to call once the transaction knows the logs' new sizes.
type ahead struct {
	seals     ingest.Seals
	prep      map[*hashtrail.Sealed]*prepared
	sequenced func(next map[string]int64)
}

// rows computes the rows to write: bodies and personal values (those not
// prepared ahead, on all CPUs), then the tree hashes from each tenant's
// right edge, in seq order.
func (s *Store) rows(plan *ingest.Plan, heads map[string]*head, ready map[*hashtrail.Sealed]*prepared) (*writeRows, error) {
	n := len(plan.Added)
	prep := make([]*prepared, n)
	ingest.Parallel(n, 32, func(i int) {
		if p, ok := ready[plan.Sealed[i]]; ok {
			prep[i] = p
			return
		}
		prep[i] = prepare(plan.Added[i], plan.Sealed[i])
	})
	w := &writeRows{}
	edges := map[string]*ingest.Edge{}
	type monthKey struct {
		tenant int64
		month  time.Time
	}
	stored := map[string]int64{} // the bytes each tenant's storage grows by
	ranges := map[monthKey][2]time.Time{}
	var order []monthKey
	for i, en := range plan.Added {
		if prep[i].err != nil {
			return nil, prep[i].err
		}
		e := en.Event
		h := heads[e.Tenant]
		edge, ok := edges[e.Tenant]
		if !ok {
			var err error
			if edge, err = ingest.ParseEdge(h.next, h.edge); err != nil {
				return nil, fmt.Errorf("the head of tenant %q: %w", e.Tenant, err)
			}
			edges[e.Tenant] = edge
		}
		if edge.N != e.Seq {
			return nil, fmt.Errorf("the tree of tenant %q has size %d at seq %d", e.Tenant, edge.N, e.Seq)
		}
		hashes, err := edge.Add(plan.Sealed[i].LeafHash)
		if err != nil {
			return nil, fmt.Errorf("tenant %q: %w", e.Tenant, err)
		}
		first := merkle.StoredHashIndex(0, e.Seq)
		for j, x := range hashes {
			w.xTenant, w.xIdx, w.xHash = append(w.xTenant, h.num), append(w.xIdx, first+int64(j)), append(w.xHash, x[:])
		}
		w.addEvent(h.num, en, plan.Sealed[i], prep[i])
		stored[e.Tenant] += ingest.StoredBytes(e, prep[i].body, prep[i].pii)
		mk := monthKey{h.num, monthOf(e.ReceivedAt.Time)}
		r, ok := ranges[mk]
		if !ok {
			order = append(order, mk)
			r = [2]time.Time{e.Time.Time, e.Time.Time}
		}
		if e.Time.Before(r[0]) {
			r[0] = e.Time.Time
		}
		if e.Time.After(r[1]) {
			r[1] = e.Time.Time
		}
		ranges[mk] = r
	}
	for t, edge := range edges {
		h := heads[t]
		w.hNum, w.hNext, w.hEdge = append(w.hNum, h.num), append(w.hNext, edge.N), append(w.hEdge, edge.MarshalBinary())
		w.hBytes = append(w.hBytes, stored[t])
	}
	for _, mk := range order {
		r := ranges[mk]
		w.mTenant, w.mMonth, w.mMin, w.mMax = append(w.mTenant, mk.tenant), append(w.mMonth, mk.month), append(w.mMin, r[0]), append(w.mMax, r[1])
	}
	return w, nil
}
