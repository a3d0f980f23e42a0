package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/hashtrail/hashtrail"
)

func testAppendSingle(t *testing.T, s hashtrail.Store) {
	e := newEvent("acme", "ev-1")
	en := entry(e)
	mustAppend(t, s, &hashtrail.AppendGroup{Entries: []*hashtrail.Entry{en}, CreateTenants: true})
	if en.Replayed || e.Seq != 0 {
		t.Errorf("first event: Replayed %v, Seq %d; want false, 0", en.Replayed, e.Seq)
	}
	got, err := s.Event(t.Context(), "acme", "ev-1")
	if err != nil {
		t.Fatalf("Event: %v", err)
	}
	equalEvent(t, got, e)
	tn, err := s.Tenant(t.Context(), "acme")
	if err != nil {
		t.Fatalf("Tenant: %v", err)
	}
	if tn.Size != 1 {
		t.Errorf("Tenant.Size = %d, want 1", tn.Size)
	}
}

func testAppendBatch(t *testing.T, s hashtrail.Store) {
	var first []*hashtrail.Event
	for i := range 10 {
		first = append(first, newEvent("acme", fmt.Sprintf("a-%d", i)))
	}
	mustAppend(t, s, group(first...))
	for i, e := range first {
		if e.Seq != int64(i) {
			t.Errorf("batch 1 event %d: Seq %d", i, e.Seq)
		}
	}
	var second []*hashtrail.Event
	for i := range 5 {
		second = append(second, newEvent("acme", fmt.Sprintf("b-%d", i)))
	}
	mustAppend(t, s, group(second[:2]...), group(second[2:]...))
	for i, e := range second {
		if e.Seq != int64(10+i) {
			t.Errorf("batch 2 event %d: Seq %d, want %d", i, e.Seq, 10+i)
		}
	}
	all := query(t, s, hashtrail.Query{Tenant: "acme", Order: hashtrail.OrderAsc, Limit: 100})
	if len(all) != 15 {
		t.Fatalf("Events = %d events, want 15", len(all))
	}
	for i, e := range all {
		want := append(first, second...)[i]
		equalEvent(t, e, want)
	}
	if tn, err := s.Tenant(t.Context(), "acme"); err != nil || tn.Size != 15 {
		t.Errorf("Tenant = %+v, %v; want Size 15", tn, err)
	}
	if err := s.Append(t.Context(), nil); err != nil {
		t.Errorf("Append(nil) = %v", err)
	}
	mustAppend(t, s, &hashtrail.AppendGroup{})
}

func testSeqPerTenant(t *testing.T, s hashtrail.Store) {
	next := map[string]int64{}
	var gs []*hashtrail.AppendGroup
	for i := range 30 {
		tn := []string{"a", "b", "c"}[i%3]
		e := newEvent(tn, fmt.Sprintf("e-%d", i))
		if i%4 == 0 {
			gs = append(gs, group(e))
		} else {
			gs[len(gs)-1].Entries = append(gs[len(gs)-1].Entries, entry(e))
		}
	}
	mustAppend(t, s, gs...)
	for _, g := range gs {
		for _, en := range g.Entries {
			if en.Event.Seq != next[en.Event.Tenant] {
				t.Errorf("tenant %s event %s: Seq %d, want %d", en.Event.Tenant, en.Event.ID, en.Event.Seq, next[en.Event.Tenant])
			}
			next[en.Event.Tenant]++
		}
	}
	for _, tn := range []string{"a", "b", "c"} {
		wantSeqs(t, s, hashtrail.Query{Tenant: tn, Order: hashtrail.OrderAsc}, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9)
	}
}

func testAppendConcurrent(t *testing.T, s hashtrail.Store) {
	const writers, calls = 4, 10
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for c := range calls {
				e1, e2 := newEvent("acme", fmt.Sprintf("w%d-c%d-1", w, c)), newEvent("acme", fmt.Sprintf("w%d-c%d-2", w, c))
				if err := s.Append(t.Context(), []*hashtrail.AppendGroup{group(e1, e2)}); err != nil {
					t.Errorf("Append: %v", err)
					return
				}
				if e2.Seq != e1.Seq+1 {
					t.Errorf("one group got seqs %d and %d", e1.Seq, e2.Seq)
				}
			}
		})
	}
	wg.Wait()
	events := query(t, s, hashtrail.Query{Tenant: "acme", Order: hashtrail.OrderAsc, Limit: hashtrail.MaxLimit})
	if len(events) != writers*calls*2 {
		t.Fatalf("got %d events, want %d", len(events), writers*calls*2)
	}
	for i, e := range events {
		if e.Seq != int64(i) {
			t.Fatalf("event %d has seq %d: seq is not gapless", i, e.Seq)
		}
	}
}

func testAppendCanceled(t *testing.T, s hashtrail.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	g := group(newEvent("acme", "e1"))
	if err := s.Append(ctx, []*hashtrail.AppendGroup{g}); err == nil {
		t.Fatalf("Append with a cancelled context succeeded")
	}
	if _, err := s.Tenant(t.Context(), "acme"); hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
		t.Errorf("after a failed Append, Tenant = %v; want ENOTFOUND (nothing written)", err)
	}
	mustAppend(t, s, group(newEvent("acme", "e1")))
	wantSeqs(t, s, hashtrail.Query{Tenant: "acme"}, 0)
}

func testIdempotentReplay(t *testing.T, s hashtrail.Store) {
	orig := newEvent("acme", "ev-1")
	appendEvents(t, s, newEvent("acme", "ev-0"), orig)

	again := newEvent("acme", "ev-1")
	again.ReceivedAt = at(99) // a later receipt: the original's must come back
	en := entry(again)
	other := newEvent("acme", "ev-2")
	mustAppend(t, s, &hashtrail.AppendGroup{Entries: []*hashtrail.Entry{en, entry(other)}})
	if !en.Replayed {
		t.Errorf("replay: Replayed = false")
	}
	if again.Seq != orig.Seq || !again.ReceivedAt.Equal(orig.ReceivedAt.Time) || again.LeafHash != orig.LeafHash {
		t.Errorf("replay: seq %d received %v leaf %q; want the original's %d %v %q",
			again.Seq, again.ReceivedAt, again.LeafHash, orig.Seq, orig.ReceivedAt, orig.LeafHash)
	}
	if other.Seq != 2 {
		t.Errorf("new event beside a replay: Seq %d, want 2", other.Seq)
	}
	wantSeqs(t, s, hashtrail.Query{Tenant: "acme"}, 2, 1, 0)
	got, err := s.Event(t.Context(), "acme", "ev-1")
	if err != nil {
		t.Fatal(err)
	}
	equalEvent(t, got, orig)
}

func testIdempotentConflict(t *testing.T, s hashtrail.Store) {
	appendEvents(t, s, newEvent("acme", "ev-1"))
	changed := newEvent("acme", "ev-1")
	changed.Action = "user.logout"
	bad := &hashtrail.AppendGroup{Entries: []*hashtrail.Entry{entry(newEvent("acme", "ev-2")), entry(changed)}}
	good := group(newEvent("acme", "ev-3"))
	if err := s.Append(t.Context(), []*hashtrail.AppendGroup{bad, good}); err != nil {
		t.Fatalf("Append: %v", err)
	}
	wantCode(t, bad.Err, hashtrail.ECONFLICT, "group reusing an id with other content")
	if good.Err != nil {
		t.Errorf("other group: %v", good.Err)
	}
	if seq := good.Entries[0].Event.Seq; seq != 1 {
		t.Errorf("other group's event: Seq %d, want 1 (nothing of the failed group written)", seq)
	}
	if _, err := s.Event(t.Context(), "acme", "ev-2"); hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
		t.Errorf("event of the failed group: %v, want ENOTFOUND", err)
	}
	wantSeqs(t, s, hashtrail.Query{Tenant: "acme"}, 1, 0)
	got, err := s.Event(t.Context(), "acme", "ev-1")
	if err != nil || got.Action != "user.login" {
		t.Errorf("original event: %+v, %v", got, err)
	}
}

func testSameIDAcrossGroups(t *testing.T, s hashtrail.Store) {
	g1 := group(newEvent("acme", "x"))
	g2 := group(newEvent("acme", "x"))
	changed := newEvent("acme", "x")
	changed.Action = "user.logout"
	g3 := group(changed, newEvent("acme", "y"))
	g4 := group(newEvent("acme", "z"))
	if err := s.Append(t.Context(), []*hashtrail.AppendGroup{g1, g2, g3, g4}); err != nil {
		t.Fatal(err)
	}
	if g1.Err != nil || g2.Err != nil || g4.Err != nil {
		t.Fatalf("groups: %v, %v, %v", g1.Err, g2.Err, g4.Err)
	}
	if !g2.Entries[0].Replayed || g2.Entries[0].Event.Seq != 0 || g1.Entries[0].Replayed {
		t.Errorf("same id and content in a later group: Replayed %v seq %d; want a replay of seq 0",
			g2.Entries[0].Replayed, g2.Entries[0].Event.Seq)
	}
	wantCode(t, g3.Err, hashtrail.ECONFLICT, "same id, other content, in a later group")
	if g4.Entries[0].Event.Seq != 1 {
		t.Errorf("last group: Seq %d, want 1", g4.Entries[0].Event.Seq)
	}
	wantSeqs(t, s, hashtrail.Query{Tenant: "acme"}, 1, 0)
}

func testSameIDWithinGroup(t *testing.T, s hashtrail.Store) {
	g := group(newEvent("acme", "x"), newEvent("acme", "x"), newEvent("acme", "y"))
	mustAppend(t, s, g)
	if g.Entries[0].Replayed || !g.Entries[1].Replayed || g.Entries[1].Event.Seq != 0 || g.Entries[2].Event.Seq != 1 {
		t.Errorf("duplicate within a group: replayed %v/%v seqs %d/%d/%d; want false/true 0/0/1",
			g.Entries[0].Replayed, g.Entries[1].Replayed, g.Entries[0].Event.Seq, g.Entries[1].Event.Seq, g.Entries[2].Event.Seq)
	}
	changed := newEvent("acme", "z")
	changed.Action = "user.logout"
	bad := group(newEvent("acme", "z"), changed)
	if err := s.Append(t.Context(), []*hashtrail.AppendGroup{bad}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, bad.Err, hashtrail.ECONFLICT, "same id, other content, within a group")
	wantSeqs(t, s, hashtrail.Query{Tenant: "acme"}, 1, 0)
}

func testCreateTenants(t *testing.T, s hashtrail.Store) {
	off := group(newEvent("ghost", "e1"))
	off.CreateTenants = false
	on := group(newEvent("fresh", "e1"))
	if err := s.Append(t.Context(), []*hashtrail.AppendGroup{off, on}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, off.Err, hashtrail.ENOTFOUND, "missing tenant without CreateTenants")
	if on.Err != nil {
		t.Errorf("CreateTenants group: %v", on.Err)
	}
	if _, err := s.Tenant(t.Context(), "ghost"); hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
		t.Errorf("Tenant(ghost) = %v, want ENOTFOUND", err)
	}
	tn, err := s.Tenant(t.Context(), "fresh")
	if err != nil || tn.Size != 1 || tn.CreatedAt.IsZero() {
		t.Errorf("Tenant(fresh) = %+v, %v; want Size 1 and CreatedAt set", tn, err)
	}
	// A tenant created by an earlier group exists for a later one.
	g1 := group(newEvent("later", "e1"))
	g2 := group(newEvent("later", "e2"))
	g2.CreateTenants = false
	mustAppend(t, s, g1, g2)
	if g2.Entries[0].Event.Seq != 1 {
		t.Errorf("later group: Seq %d, want 1", g2.Entries[0].Event.Seq)
	}
	// An existing tenant needs no CreateTenants.
	mustTenant(t, s, "made")
	g := group(newEvent("made", "e1"))
	g.CreateTenants = false
	mustAppend(t, s, g)
}

func testFailedGroupCreatesNoTenant(t *testing.T, s hashtrail.Store) {
	appendEvents(t, s, newEvent("acme", "x"))
	changed := newEvent("acme", "x")
	changed.Action = "user.logout"
	g := group(newEvent("newco", "e1"), changed)
	if err := s.Append(t.Context(), []*hashtrail.AppendGroup{g}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, g.Err, hashtrail.ECONFLICT, "group with a conflict")
	if _, err := s.Tenant(t.Context(), "newco"); hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
		t.Errorf("tenant of a failed group: %v, want ENOTFOUND", err)
	}
	ts, err := s.Tenants(t.Context())
	if err != nil || len(ts) != 1 {
		t.Errorf("Tenants = %d, %v; want only acme", len(ts), err)
	}
}

func testEventNotFound(t *testing.T, s hashtrail.Store) {
	appendEvents(t, s, newEvent("acme", "e1"))
	for _, c := range [][2]string{{"acme", "nope"}, {"nobody", "e1"}} {
		if _, err := s.Event(t.Context(), c[0], c[1]); hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
			t.Errorf("Event(%s, %s) = %v, want ENOTFOUND", c[0], c[1], err)
		}
	}
}

func testQueryUnknownTenant(t *testing.T, s hashtrail.Store) {
	_, err := s.Events(t.Context(), &hashtrail.Query{Tenant: "nobody"})
	wantCode(t, err, hashtrail.ENOTFOUND, "Events of an unknown tenant")
	mustTenant(t, s, "empty")
	if events := query(t, s, hashtrail.Query{Tenant: "empty"}); events == nil || len(events) != 0 {
		t.Errorf("Events of an empty tenant = %v, want an empty list", events)
	}
}
