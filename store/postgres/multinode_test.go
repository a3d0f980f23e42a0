package postgres_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/merkle"
	"github.com/hashtrail/hashtrail/store/postgres"
)

// testEvent returns an event as the engine hands it to a store, with a
// content hash that depends on tenant and id only: the same id appended by
// two nodes is the same content, so one of them must see a replay.
func testEvent(tenant, id string, received time.Time) *hashtrail.Entry {
	e := &hashtrail.Event{
		ID: id, Tenant: tenant, Time: hashtrail.NewTime(received), ReceivedAt: hashtrail.NewTime(received),
		Action: "user.login", Category: hashtrail.CategoryAuthentication, Severity: hashtrail.SeverityInfo,
		Outcome: hashtrail.OutcomeSuccess, KeyID: "key_test",
		Actor:   &hashtrail.Actor{Type: hashtrail.ActorUser, ID: "42", Email: "alice@example.com", Name: "Alice"},
		Targets: []hashtrail.Target{{Type: "project", ID: "7", Name: "Seven"}},
		Context: &hashtrail.Context{IP: "203.0.113.5", UserAgent: "test"},
	}
	h := sha256.Sum256([]byte(tenant + "/" + id))
	return &hashtrail.Entry{Event: e, ContentHash: h[:]}
}

// TestTwoNodes runs two Store instances (two pools, as two nodes) appending
// concurrently to the same tenants, with ids that overlap between them, and
// tenants that both create at once, then checks that each log's seq is
// gapless, that every id was written once and every answer (new or replay)
// names the stored seq, and that the stored tree is the Merkle tree of the
// leaf hashes.
func TestTwoNodes(t *testing.T) {
	schema := newSchema(t)
	nodes := []*postgres.Store{mustOpenSchema(t, schema, postgres.Config{}), mustOpenSchema(t, schema, postgres.Config{})}
	for _, n := range nodes {
		defer n.Close()
	}
	const workers, calls, ids = 3, 12, 150 // per node; ids per tenant, drawn at random
	tenants := []string{"acme", "beta", "gamma"}
	type answer struct {
		tenant, id string
		seq        int64
		leaf       string
	}
	var mu sync.Mutex
	var answers []answer
	var replays, added [2]int
	var wg sync.WaitGroup
	for ni, node := range nodes {
		for w := range workers {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(ni), uint64(w)))
				for c := range calls {
					var groups []*hashtrail.AppendGroup
					for range 1 + r.IntN(3) {
						g := &hashtrail.AppendGroup{CreateTenants: true}
						tn := tenants[r.IntN(len(tenants))]
						if c == 0 {
							tn = "new" // every worker of both nodes creates it first
						}
						for range 1 + r.IntN(10) {
							g.Entries = append(g.Entries, testEvent(tn, fmt.Sprintf("id-%d", r.IntN(ids)), time.Now()))
						}
						groups = append(groups, g)
					}
					if err := node.Append(t.Context(), groups); err != nil {
						t.Errorf("node %d: Append: %v", ni, err)
						return
					}
					mu.Lock()
					for _, g := range groups {
						if g.Err != nil {
							t.Errorf("node %d: group: %v", ni, g.Err)
						}
						for _, e := range g.Entries {
							answers = append(answers, answer{e.Event.Tenant, e.Event.ID, e.Event.Seq, e.Event.LeafHash})
							if e.Replayed {
								replays[ni]++
							} else {
								added[ni]++
							}
						}
					}
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	t.Logf("node 0 added %d events and replayed %d, node 1 added %d and replayed %d", added[0], replays[0], added[1], replays[1])
	if added[0] == 0 || added[1] == 0 || replays[0]+replays[1] == 0 {
		t.Errorf("the nodes did not both write and meet each other's ids: added %v, replayed %v", added, replays)
	}
	for _, tn := range append(tenants, "new") {
		byID := checkLog(t, nodes[1], tn)
		for _, a := range answers {
			if a.tenant != tn {
				continue
			}
			e, ok := byID[a.id]
			if !ok {
				t.Errorf("tenant %s: id %s was answered seq %d but is not stored", tn, a.id, a.seq)
			} else if e.Seq != a.seq || e.LeafHash != a.leaf {
				t.Errorf("tenant %s: id %s was answered seq %d leaf %s; stored as seq %d leaf %s", tn, a.id, a.seq, a.leaf, e.Seq, e.LeafHash)
			}
		}
	}
}

// checkLog reads the whole log of tenant in seq order and checks that seq
// is gapless from 0, that ids are unique, that every event rebuilds to its
// leaf hash, and that the stored tree hashes are merkle.Tree's over the
// leaf hashes; it returns the events by id.
func checkLog(t *testing.T, s *postgres.Store, tenant string) map[string]*hashtrail.Event {
	t.Helper()
	byID := map[string]*hashtrail.Event{}
	var tree merkle.Tree
	after := int64(-1)
	for {
		page, err := s.Events(t.Context(), &hashtrail.Query{Tenant: tenant, Order: hashtrail.OrderAsc, AfterSeq: &after, Limit: hashtrail.MaxLimit})
		if err != nil {
			t.Fatalf("Events(%s): %v", tenant, err)
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			if e.Seq != tree.Size() {
				t.Fatalf("tenant %s: seq %d where %d was due (a gap or a repeat)", tenant, e.Seq, tree.Size())
			}
			if byID[e.ID] != nil {
				t.Fatalf("tenant %s: id %s stored twice (seqs %d and %d)", tenant, e.ID, byID[e.ID].Seq, e.Seq)
			}
			byID[e.ID] = e
			leaf, _, err := hashtrail.RebuildLeaf(e, e.PII, nil)
			if err != nil || hashtrail.LeafHash(leaf) != e.LeafHash {
				t.Fatalf("tenant %s seq %d: the event does not rebuild to its leaf hash (%v)", tenant, e.Seq, err)
			}
			h, _ := hex.DecodeString(e.LeafHash)
			tree.Append(merkle.Hash(h))
		}
		after = page[len(page)-1].Seq
	}
	tn, err := s.Tenant(t.Context(), tenant)
	if err != nil || tn.Size != tree.Size() {
		t.Fatalf("Tenant(%s) = %+v, %v; want size %d", tenant, tn, err, tree.Size())
	}
	want := tree.StoredHashes()
	idx := make([]int64, len(want))
	for i := range idx {
		idx[i] = int64(i)
	}
	got, err := s.ReadHashes(t.Context(), tenant, idx)
	if err != nil {
		t.Fatalf("ReadHashes(%s): %v", tenant, err)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("tenant %s: stored hash %d differs from the tree of the leaf hashes", tenant, i)
		}
	}
	if _, err := s.ReadHashes(t.Context(), tenant, []int64{int64(len(want))}); hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
		t.Fatalf("tenant %s: a stored hash past the tree: %v", tenant, err)
	}
	return byID
}

// TestConcurrentOpen opens several stores on one fresh schema at once, as
// nodes starting together do: the migrations are applied exactly once and
// every store works.
func TestConcurrentOpen(t *testing.T) {
	schema := newSchema(t)
	const n = 5
	stores := make([]*postgres.Store, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s, err := postgres.Open(t.Context(), testURL(t), postgres.Config{Schema: schema, MaxConns: 2})
			if err != nil {
				t.Errorf("Open %d: %v", i, err)
				return
			}
			stores[i] = s
		})
	}
	wg.Wait()
	for _, s := range stores {
		if s == nil {
			t.FailNow()
		}
		defer s.Close()
	}
	st, err := stores[0].MigrationStatus(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range st {
		if m.Pending() {
			t.Errorf("migration %s pending after Open", m.Name)
		}
	}
	var applied int
	if err := stores[0].Pool().QueryRow(t.Context(), `SELECT count(*) FROM schema_migrations`).Scan(&applied); err != nil || applied != len(st) {
		t.Errorf("schema_migrations has %d rows (%v); want %d", applied, err, len(st))
	}
	for i, s := range stores {
		if err := s.Append(t.Context(), []*hashtrail.AppendGroup{{CreateTenants: true,
			Entries: []*hashtrail.Entry{testEvent("acme", fmt.Sprint(i), time.Now())}}}); err != nil {
			t.Errorf("store %d: Append: %v", i, err)
		}
	}
	checkLog(t, stores[0], "acme")
}

// TestMigrateByHand opens with SkipMigrate, as `hashtrail migrate status`
// does: everything is pending; Migrate applies it all once.
func TestMigrateByHand(t *testing.T) {
	s := mustOpenSchema(t, newSchema(t), postgres.Config{SkipMigrate: true})
	defer s.Close()
	st, err := s.MigrationStatus(t.Context())
	if err != nil || len(st) == 0 {
		t.Fatalf("MigrationStatus = %v, %v", st, err)
	}
	for _, m := range st {
		if !m.Pending() || m.Version <= 0 || m.Name == "" {
			t.Errorf("before Migrate: %+v; want pending", m)
		}
	}
	if n, err := s.Migrate(t.Context()); err != nil || n != len(st) {
		t.Fatalf("Migrate = %d, %v; want %d", n, err, len(st))
	}
	if n, err := s.Migrate(t.Context()); err != nil || n != 0 {
		t.Fatalf("second Migrate = %d, %v; want 0", n, err)
	}
	st, _ = s.MigrationStatus(t.Context())
	for _, m := range st {
		if m.Pending() {
			t.Errorf("after Migrate: %s pending", m.Name)
		}
	}
}

// TestUpkeepConcurrent runs Upkeep on two nodes at once, with a clock in a
// month that has no partitions yet, while both append events received in
// another such month: each partition is made once, and every event lands.
func TestUpkeepConcurrent(t *testing.T) {
	schema := newSchema(t)
	var clock atomic.Int64 // 0: the real time; else Unix seconds
	now := func() time.Time {
		if c := clock.Load(); c != 0 {
			return time.Unix(c, 0)
		}
		return time.Now()
	}
	nodes := []*postgres.Store{mustOpenSchema(t, schema, postgres.Config{Now: now}), mustOpenSchema(t, schema, postgres.Config{Now: now})}
	for _, n := range nodes {
		defer n.Close()
	}
	clock.Store(time.Date(2031, 5, 17, 0, 0, 0, 0, time.UTC).Unix()) // after Open's upkeep
	past := time.Date(2019, 3, 4, 5, 6, 7, 0, time.UTC)
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() {
			if err := n.Upkeep(t.Context()); err != nil {
				t.Errorf("node %d: Upkeep: %v", i, err)
			}
		})
		wg.Go(func() {
			for j := range 5 {
				g := &hashtrail.AppendGroup{CreateTenants: true, Entries: []*hashtrail.Entry{
					testEvent("acme", fmt.Sprintf("n%d-%d", i, j), past.Add(time.Duration(j)*time.Hour))}}
				if err := n.Append(t.Context(), []*hashtrail.AppendGroup{g}); err != nil {
					t.Errorf("node %d: Append: %v", i, err)
				}
			}
		})
	}
	wg.Wait()
	var names []string
	rows, err := nodes[0].Pool().Query(t.Context(), `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'events'::regclass ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		rows.Scan(&n)
		names = append(names, n)
	}
	rows.Close()
	want := []string{"events_p201903", "events_p203105", "events_p203106", "events_p203107", "events_p203108"}
	for _, w := range want {
		if !slices.Contains(names, w) {
			t.Errorf("partition %s missing; partitions: %v", w, names)
		}
	}
	if byID := checkLog(t, nodes[1], "acme"); len(byID) != 10 {
		t.Errorf("%d events stored, want 10", len(byID))
	}
}

// TestSearchUpgrade takes a schema back to before migration 0002 (search)
// with events in it, then migrates: the events are indexed for search in
// the migration's transaction.
func TestSearchUpgrade(t *testing.T) {
	s := MustOpen(t)
	defer s.Close()
	ctx := t.Context()
	e := testEvent("acme", "e1", time.Now())
	e.Event.Description, e.Event.Tags = "Alice rotated the deploy key", []string{"ci"}
	e.Event.Context.Location = &hashtrail.Location{Country: "de"}
	if err := s.Append(ctx, []*hashtrail.AppendGroup{{CreateTenants: true, Entries: []*hashtrail.Entry{e}}}); err != nil {
		t.Fatal(err)
	}
	// Undo 0002 and every later migration (newest first); a new migration
	// adds its undo here.
	for _, q := range []string{
		`ALTER TABLE tenants DROP COLUMN state, DROP COLUMN storage_bytes`,
		`DROP TABLE event_counts`,
		`ALTER TABLE api_keys DROP COLUMN scope`,
		`DROP INDEX event_pii_subject`,
		`DROP TABLE sink_cursors, sinks`,
		`DROP TABLE event_tags`,
		`ALTER TABLE events DROP COLUMN actor_type, DROP COLUMN country, DROP COLUMN doc`,
		`DELETE FROM schema_migrations WHERE version >= 2`,
	} {
		if _, err := s.Pool().Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	s.Pool().Reset() // cached statements name the dropped columns
	if n, err := s.Migrate(ctx); err != nil || n == 0 {
		t.Fatalf("Migrate = %d, %v", n, err)
	}
	for _, tm := range []hashtrail.Term{
		{Field: hashtrail.TermText, Values: []string{"deploy key"}},
		{Field: hashtrail.TermTag, Values: []string{"ci"}},
		{Field: hashtrail.TermCountry, Values: []string{"DE"}},
		{Field: hashtrail.TermActorType, Values: []string{"user"}},
	} {
		got, err := s.Events(ctx, &hashtrail.Query{Tenant: "acme", Terms: []hashtrail.Term{tm}})
		if err != nil || len(got) != 1 {
			t.Errorf("after the upgrade, search %+v = %d events, %v; want 1", tm, len(got), err)
		}
	}
}

// TestPartitionDropped appends into a month whose partition another node
// dropped (as retention does) after this store had made it: the store
// makes it again and the append lands.
func TestPartitionDropped(t *testing.T) {
	s := MustOpen(t)
	defer s.Close()
	ctx := t.Context()
	past := time.Date(2020, 2, 3, 4, 5, 6, 0, time.UTC)
	app := func(id string) error {
		return s.Append(ctx, []*hashtrail.AppendGroup{{CreateTenants: true, Entries: []*hashtrail.Entry{testEvent("acme", id, past)}}})
	}
	if err := app("e1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool().Exec(ctx, `DROP TABLE events_p202002`); err != nil {
		t.Fatal(err)
	}
	if err := app("e2"); err != nil {
		t.Fatalf("Append after the partition was dropped: %v", err)
	}
	if e, err := s.Event(ctx, "acme", "e2"); err != nil || e.Seq != 1 {
		t.Errorf("Event(e2) = %v, %v; want seq 1", e, err)
	}
}
