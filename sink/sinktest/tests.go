package sinktest

import (
	"context"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
)

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

// testOrder: events of each tenant arrive in seq order (a re-sent event
// may come again later, but each event's first arrival follows the one
// before it).
func testOrder(t *testing.T, f *fixture) {
	f.ingest("acme", 1)
	f.ingest("globex", 1)
	f.addSink(t, "s-acme", "acme", "")
	f.addSink(t, "s-globex", "globex", "")
	f.dispatcher(t, "node-1")
	for range 10 {
		f.ingest("acme", 23)
		f.ingest("globex", 11)
		time.Sleep(5 * time.Millisecond)
	}
	// The sinks started at the end of the logs: seq 0 is not sent.
	got := f.waitFor(t, "ordering", func(got []Received) bool {
		d := distinct(got)
		return d["acme"] == 230 && d["globex"] == 110
	})
	checkIdentity(t, f, got)
	next := map[string]int64{"acme": 1, "globex": 1}
	for _, r := range got {
		switch {
		case r.Seq == next[r.Tenant]:
			next[r.Tenant]++
		case r.Seq > next[r.Tenant]:
			t.Fatalf("%s: seq %d arrived before seq %d", r.Tenant, r.Seq, next[r.Tenant])
		}
	}
}

// testCrash: a dispatcher killed mid-stream, without saving its cursor or
// releasing its leases; another one (another node, or the restarted
// process) delivers everything, at least once.
func testCrash(t *testing.T, f *fixture) {
	f.ingest("acme", 0)
	f.addSink(t, "s", "acme", "")
	f.ingest("acme", 300)
	d1 := f.dispatcher(t, "node-1")
	f.waitFor(t, "before the crash", func(got []Received) bool { return len(got) >= 40 })
	d1.Kill()
	before := len(f.received(t))
	f.ingest("acme", 200)
	f.dispatcher(t, "node-2")
	got := f.waitFor(t, "after the crash", haveAll(map[string]int{"acme": 500}))
	checkIdentity(t, f, got)
	t.Logf("%d events received before the crash, %d in all for 500 events (%d duplicates)", before, len(got), len(got)-500)
}

// testPauseResume: a paused sink sends nothing and keeps its position.
func testPauseResume(t *testing.T, f *fixture) {
	f.ingest("acme", 0)
	f.addSink(t, "s", "acme", "")
	d := f.dispatcher(t, "node-1")
	f.ingest("acme", 50)
	f.waitFor(t, "before the pause", haveAll(map[string]int{"acme": 50}))
	if err := f.store.SetState(t.Context(), "s", hashtrail.SinkPaused, "by the test"); err != nil {
		t.Fatal(err)
	}
	d.Changed()
	// Let the dispatcher see the pause: its worker saves the cursor as it stops.
	deadline := time.Now().Add(f.h.Wait)
	for f.store.Cursor("s", "acme").Next != 50 {
		if time.Now().After(deadline) {
			t.Fatalf("the cursor of a paused sink is %+v, want next 50", f.store.Cursor("s", "acme"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	n := len(f.received(t))
	f.ingest("acme", 30)
	time.Sleep(200 * time.Millisecond) // ten polls
	if got := len(f.received(t)); got != n {
		t.Fatalf("a paused sink delivered %d events", got-n)
	}
	if err := f.store.SetState(t.Context(), "s", hashtrail.SinkActive, ""); err != nil {
		t.Fatal(err)
	}
	d.Changed()
	got := f.waitFor(t, "after resuming", haveAll(map[string]int{"acme": 80}))
	count := map[int64]int{}
	for _, r := range got {
		count[r.Seq]++
	}
	for s := range int64(50) {
		if count[s] != 1 {
			t.Errorf("seq %d, delivered before the pause, arrived %d times: the position was not kept", s, count[s])
		}
	}
}

// testReplay: moving the cursor back re-sends from there.
func testReplay(t *testing.T, f *fixture) {
	f.ingest("acme", 0)
	f.addSink(t, "s", "acme", "")
	d := f.dispatcher(t, "node-1")
	f.ingest("acme", 60)
	f.waitFor(t, "before the replay", haveAll(map[string]int{"acme": 60}))
	// Wait for the caught-up cursor to be saved, so the replay is the only
	// reason to send again.
	deadline := time.Now().Add(f.h.Wait)
	for f.store.Cursor("s", "acme").Next != 60 {
		if time.Now().After(deadline) {
			t.Fatalf("cursor %+v, want next 60", f.store.Cursor("s", "acme"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := f.store.Replay(t.Context(), "s", "acme", 25); err != nil {
		t.Fatal(err)
	}
	d.Changed()
	got := f.waitFor(t, "the replay", func(got []Received) bool {
		count := map[int64]int{}
		for _, r := range got {
			count[r.Seq]++
		}
		for s := int64(25); s < 60; s++ {
			if count[s] < 2 {
				return false
			}
		}
		return true
	})
	checkIdentity(t, f, got)
}

// testFilter: a sink with a filter sends the events it selects, all of them.
func testFilter(t *testing.T, f *fixture) {
	f.ingest("acme", 0)
	f.addSink(t, "s", "acme", "action:user.login")
	f.dispatcher(t, "node-1")
	f.ingest("acme", 100) // even ones are user.login
	got := f.waitFor(t, "filtered", func(got []Received) bool { return distinct(got)["acme"] >= 50 })
	time.Sleep(100 * time.Millisecond)
	got = f.received(t)
	for _, r := range got {
		if r.Seq%2 != 0 {
			t.Fatalf("the filter let seq %d (page.view) through", r.Seq)
		}
	}
	if d := distinct(got)["acme"]; d != 50 {
		t.Fatalf("received %d distinct events, want the 50 logins", d)
	}
}

// testInstallationWide: an installation-wide sink delivers every tenant's
// log, including one made after the sink (from its start).
func testInstallationWide(t *testing.T, f *fixture) {
	f.ingest("acme", 3)
	f.addSink(t, "s", hashtrail.AllTenants, "")
	d := f.dispatcher(t, "node-1")
	f.ingest("acme", 20)
	f.ingest("newco", 15)
	d.Notify("newco")
	got := f.waitFor(t, "installation-wide", func(got []Received) bool {
		dd := distinct(got)
		return dd["acme"] == 20 && dd["newco"] == 15
	})
	checkIdentity(t, f, got)
	for _, r := range got {
		if r.Tenant == "acme" && r.Seq < 3 {
			t.Fatalf("acme's seq %d, committed before the sink, was sent", r.Seq)
		}
	}
}
