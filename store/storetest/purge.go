package storetest

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/merkle"
)

// The conformance tests of hashtrail.EventPurger (retention purges); Run
// runs them.

// purgeEvent returns the i-th event of the purge tests: every field that a
// purge must delete the traces of (targets, tags, free text, personal
// values) is set.
func purgeEvent(tenant string, i int) *hashtrail.Event {
	e := fullEvent(tenant, fmt.Sprintf("pg-%03d", i))
	e.Targets = []hashtrail.Target{{Type: "user", ID: fmt.Sprintf("u%d", i), Name: "Bob"}, {Type: "project", ID: fmt.Sprint(i)}}
	e.Tags = []string{"prod", fmt.Sprintf("t%d", i)}
	e.Description = fmt.Sprintf("word%d happened", i)
	e.ReceivedAt = hashtrail.NewTime(base.Add(time.Duration(i) * time.Minute))
	e.LeafHash = ""
	return e
}

// storedHashes reads every stored tree hash of tenant's log of size n.
func storedHashes(t testing.TB, s hashtrail.Store, tenant string, n int64) []merkle.Hash {
	t.Helper()
	all := make([]int64, merkle.StoredHashCount(n))
	for i := range all {
		all[i] = int64(i)
	}
	hs, err := s.ReadHashes(t.Context(), tenant, all)
	if err != nil {
		t.Fatalf("ReadHashes: %v", err)
	}
	return hs
}

func mustPurge(t testing.TB, p hashtrail.EventPurger, tenant string, want int64, ranges ...[2]int64) {
	t.Helper()
	n, err := p.PurgeEvents(t.Context(), tenant, ranges)
	if err != nil {
		t.Fatalf("PurgeEvents(%s, %v): %v", tenant, ranges, err)
	}
	if n != want {
		t.Errorf("PurgeEvents(%s, %v) = %d, want %d", tenant, ranges, n, want)
	}
}

func testPurgeEvents(t *testing.T, s hashtrail.Store, p hashtrail.EventPurger) {
	var events, others []*hashtrail.Event
	for i := range 10 {
		events = append(events, purgeEvent("acme", i))
		others = append(others, purgeEvent("other", i))
	}
	appendEvents(t, s, append(slices.Clone(events), others...)...)
	before := storedHashes(t, s, "acme", 10)

	mustPurge(t, p, "acme", 4, [2]int64{2, 4}, [2]int64{7, 7})
	wantSeqs(t, s, hashtrail.Query{Tenant: "acme", Order: hashtrail.OrderAsc}, 0, 1, 5, 6, 8, 9)
	for _, i := range []int{2, 3, 4, 7} {
		_, err := s.Event(t.Context(), "acme", events[i].ID)
		wantCode(t, err, hashtrail.ENOTFOUND, "Event of a purged event")
	}
	// No index still finds a purged event.
	for _, q := range []hashtrail.Query{
		{Target: "project:3"},
		{Target: "user:u3"},
		{Terms: []hashtrail.Term{{Field: hashtrail.TermTag, Values: []string{"t3"}}}},
		{Terms: []hashtrail.Term{{Field: hashtrail.TermText, Values: []string{"word3"}}}},
		{Terms: []hashtrail.Term{{Field: hashtrail.TermText, Values: []string{"bob"}}}, AfterSeq: ptr[int64](1), BeforeSeq: ptr[int64](5)},
		{Actor: "alice@example.com", AfterSeq: ptr[int64](1), BeforeSeq: ptr[int64](5)},
		{IP: netip.MustParsePrefix("2001:db8::42/128"), AfterSeq: ptr[int64](1), BeforeSeq: ptr[int64](5)},
	} {
		q.Tenant = "acme"
		wantSeqs(t, s, q)
	}
	wantSeqs(t, s, hashtrail.Query{Tenant: "acme", Target: "project:5"}, 5)
	// What proves the log stays: every tree hash, and the kept events
	// still rebuild to their leaf hashes.
	if after := storedHashes(t, s, "acme", 10); !slices.Equal(after, before) {
		t.Errorf("the purge changed stored tree hashes")
	}
	for _, e := range query(t, s, hashtrail.Query{Tenant: "acme"}) {
		checkSealed(t, e, nil)
	}
	tn, err := s.Tenant(t.Context(), "acme")
	if err != nil || tn.Size != 10 {
		t.Errorf("Tenant after a purge: %+v, %v; want size 10", tn, err)
	}
	// The other tenant is untouched.
	wantSeqs(t, s, hashtrail.Query{Tenant: "other", Order: hashtrail.OrderAsc}, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9)

	// Idempotent: purged seqs are skipped; overlapping ranges purge the rest.
	mustPurge(t, p, "acme", 0, [2]int64{2, 4}, [2]int64{7, 7})
	mustPurge(t, p, "acme", 3, [2]int64{0, 5})
	wantSeqs(t, s, hashtrail.Query{Tenant: "acme", Order: hashtrail.OrderAsc}, 6, 8, 9)
	// Seqs the log does not have yet are skipped too.
	mustPurge(t, p, "acme", 0, [2]int64{10, 1 << 30})

	// The log goes on.
	next := purgeEvent("acme", 10)
	appendEvents(t, s, next)
	if next.Seq != 10 {
		t.Errorf("append after a purge: seq %d, want 10", next.Seq)
	}
	checkTreeHashes(t, s, "acme", before)
}

// checkTreeHashes checks that the stored hashes of tenant's log begin with
// prefix (those of an earlier size) and that the root at its size is the
// tree of the leaf hashes read back from them.
func checkTreeHashes(t testing.TB, s hashtrail.Store, tenant string, prefix []merkle.Hash) {
	t.Helper()
	tn, err := s.Tenant(t.Context(), tenant)
	if err != nil {
		t.Fatal(err)
	}
	all := storedHashes(t, s, tenant, tn.Size)
	if !slices.Equal(all[:len(prefix)], prefix) {
		t.Errorf("stored hashes of the earlier size changed")
	}
	if _, err := merkle.TreeHash(tn.Size, reader(t, s, tenant)); err != nil {
		t.Errorf("TreeHash(%d): %v", tn.Size, err)
	}
}

func testPurgeKeepsIdempotency(t *testing.T, s hashtrail.Store, p hashtrail.EventPurger) {
	orig := purgeEvent("acme", 0)
	appendEvents(t, s, orig, purgeEvent("acme", 1))
	mustPurge(t, p, "acme", 1, [2]int64{0, 0})

	// A replay of the purged id gets its original receipt and writes nothing.
	again := purgeEvent("acme", 0)
	again.ReceivedAt = at(99999)
	en := entry(again)
	mustAppend(t, s, &hashtrail.AppendGroup{Entries: []*hashtrail.Entry{en}})
	if !en.Replayed || again.Seq != 0 || again.LeafHash != orig.LeafHash || !again.ReceivedAt.Equal(orig.ReceivedAt.Time) {
		t.Errorf("replay of a purged event: replayed %v seq %d leaf %s received %v; want the original's 0 %s %v",
			en.Replayed, again.Seq, again.LeafHash, again.ReceivedAt, orig.LeafHash, orig.ReceivedAt)
	}
	// The id with other content is still refused.
	changed := purgeEvent("acme", 0)
	changed.Action = "user.logout"
	g := &hashtrail.AppendGroup{Entries: []*hashtrail.Entry{entry(changed)}}
	if err := s.Append(t.Context(), []*hashtrail.AppendGroup{g}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, g.Err, hashtrail.ECONFLICT, "an id of a purged event reused with other content")
	tn, err := s.Tenant(t.Context(), "acme")
	if err != nil || tn.Size != 2 {
		t.Errorf("Tenant: %+v, %v; want size 2", tn, err)
	}
	wantSeqs(t, s, hashtrail.Query{Tenant: "acme"}, 1)
}

func testPurgeMany(t *testing.T, s hashtrail.Store, p hashtrail.EventPurger) {
	const n = 700 // more than one bounded transaction
	var events []*hashtrail.Event
	for i := range n {
		e := newEvent("acme", fmt.Sprintf("m-%04d", i))
		e.Targets = []hashtrail.Target{{Type: "project", ID: fmt.Sprint(i % 7)}}
		events = append(events, e)
	}
	mustAppend(t, s, group(events...))
	before := storedHashes(t, s, "acme", n)
	mustPurge(t, p, "acme", n-3, [2]int64{0, n - 4})
	wantSeqs(t, s, hashtrail.Query{Tenant: "acme", Order: hashtrail.OrderAsc}, n-3, n-2, n-1)
	wantSeqs(t, s, hashtrail.Query{Tenant: "acme", Target: "project:6", Order: hashtrail.OrderAsc}, n-1) // 699 % 7
	if after := storedHashes(t, s, "acme", n); !slices.Equal(after, before) {
		t.Errorf("the purge changed stored tree hashes")
	}
}

func testPurgeErrors(t *testing.T, s hashtrail.Store, p hashtrail.EventPurger) {
	_, err := p.PurgeEvents(t.Context(), "nobody", [][2]int64{{0, 1}})
	wantCode(t, err, hashtrail.ENOTFOUND, "PurgeEvents of an unknown tenant")
	appendEvents(t, s, newEvent("acme", "a"))
	_, err = p.PurgeEvents(t.Context(), "acme", [][2]int64{{3, 1}})
	wantCode(t, err, hashtrail.EINVALID, "PurgeEvents of a range [3, 1]")
	_, err = p.PurgeEvents(t.Context(), "acme", [][2]int64{{-1, 1}})
	wantCode(t, err, hashtrail.EINVALID, "PurgeEvents of a range [-1, 1]")
	wantSeqs(t, s, hashtrail.Query{Tenant: "acme"}, 0)
	mustPurge(t, p, "acme", 0)
}
