package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/client"
)

func TestRecordAndFlush(t *testing.T) {
	s := startServer(t)
	key := s.tenantKey("acme", hashtrail.RoleIngest)
	c := mustNew(t, s.URL, key, fast(client.WithTenant("acme"), client.WithBatchSize(7))...)
	want := ids("e", 50)
	for _, id := range want {
		if err := c.Record(t.Context(), newEvent(id)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	checkEvents(t, s, "acme", want)
	if st := c.Stats(); st.Sent != 50 || st.Failed != 0 || st.Dropped != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestRecordAssignsIDs(t *testing.T) {
	s := startServer(t)
	c := mustNew(t, s.URL, sdkAdmin, fast()...)
	ev := &hashtrail.Event{Action: "user.logout", Tenant: "acme"}
	if err := c.Record(t.Context(), ev); err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := s.events("acme")
	if len(got) != 1 || len(got[0].ID) != 26 || got[0].Action != "user.logout" {
		t.Fatalf("got %+v", got)
	}
	if got[0].Time.IsZero() {
		t.Error("time not set")
	}
}

func TestRecordSync(t *testing.T) {
	s := startServer(t)
	key := s.tenantKey("acme", hashtrail.RoleIngest)
	c := mustNew(t, s.URL, key, client.WithTenant("acme"), client.WithBatchDelay(time.Hour))
	for i := range 3 {
		ev := newEvent("sync-" + strconv.Itoa(i))
		r, err := c.RecordSync(t.Context(), ev)
		if err != nil {
			t.Fatal(err)
		}
		if r.Seq < 0 || len(r.LeafHash) != 64 || r.ID != ev.ID || r.Tenant != "acme" {
			t.Fatalf("receipt %+v", r)
		}
	}
	// A rejected event is an *EventError with the server's fields.
	_, err := c.RecordSync(t.Context(), &hashtrail.Event{Action: "Not An Action"})
	var ee *client.EventError
	if !errors.As(err, &ee) || ee.Status != http.StatusBadRequest || len(ee.Fields) == 0 || ee.Fields[0].Field != "events[0].action" {
		t.Fatalf("err %#v", err)
	}
}

func TestTenantChecks(t *testing.T) {
	c := mustNew(t, unusedAddr(t), "k", client.WithTenant("acme"))
	if err := c.Record(t.Context(), &hashtrail.Event{Action: "a.b", Tenant: "other"}); !errors.Is(err, client.ErrNoTenant) {
		t.Errorf("other tenant: %v", err)
	}
	if err := c.RecordFanOut(t.Context(), &hashtrail.Event{Action: "a.b"}, "x", "y"); err == nil {
		t.Error("fan-out with a tenant key accepted")
	}
	ci := mustNew(t, unusedAddr(t), "k")
	if err := ci.Record(t.Context(), &hashtrail.Event{Action: "a.b"}); !errors.Is(err, client.ErrNoTenant) {
		t.Errorf("no tenant: %v", err)
	}
}

func TestFanOut(t *testing.T) {
	s := startServer(t)
	c := mustNew(t, s.URL, sdkAdmin, fast()...)
	ev := &hashtrail.Event{ID: "pw-1", Action: "user.password_change", Actor: &hashtrail.Actor{Type: hashtrail.ActorUser, ID: "7"}}
	rs, err := c.RecordFanOutSync(t.Context(), ev, "org-a", "org-b", "org-c")
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 3 {
		t.Fatalf("receipts %+v", rs)
	}
	if err := c.RecordFanOut(t.Context(), &hashtrail.Event{ID: "pw-2", Action: "user.password_change"}, "org-a", "org-c"); err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	checkEvents(t, s, "org-a", []string{"pw-1", "pw-2"})
	checkEvents(t, s, "org-b", []string{"pw-1"})
	checkEvents(t, s, "org-c", []string{"pw-1", "pw-2"})
}

// A batch with invalid events writes the valid ones, and each rejected one
// reaches the error handler with its field errors.
func TestPartialBatch(t *testing.T) {
	s := startServer(t)
	key := s.tenantKey("acme", hashtrail.RoleIngest)
	var got errs
	c := mustNew(t, s.URL, key, fast(client.WithTenant("acme"), client.WithBatchDelay(time.Hour), client.WithErrorHandler(got.add))...)
	bad := &hashtrail.Event{ID: "bad", Action: "user.login", Severity: "apocalyptic"}
	for _, ev := range []*hashtrail.Event{newEvent("ok-1"), bad, newEvent("ok-2"), {ID: "bad-2", Action: "NOPE"}} {
		if err := c.Record(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	checkEvents(t, s, "acme", []string{"ok-1", "ok-2"})
	ees := got.eventErrors()
	if len(ees) != 2 || ees[0].ID != "bad" || ees[0].Fields[0].Field != "events[1].severity" || ees[1].ID != "bad-2" {
		t.Fatalf("errors %v", got.all())
	}
	if st := c.Stats(); st.Sent != 2 || st.Failed != 2 {
		t.Errorf("stats %+v", st)
	}
}

// An id reused with other content (409) fails only that event: the batch is
// split until the culprit is alone.
func TestConflictSplitsBatch(t *testing.T) {
	s := startServer(t)
	key := s.tenantKey("acme", hashtrail.RoleIngest)
	var got errs
	c := mustNew(t, s.URL, key, fast(client.WithTenant("acme"), client.WithBatchDelay(time.Hour), client.WithErrorHandler(got.add))...)
	if _, err := c.RecordSync(t.Context(), newEvent("dup")); err != nil {
		t.Fatal(err)
	}
	other := newEvent("dup")
	other.Action = "user.logout"
	for _, ev := range []*hashtrail.Event{newEvent("a"), newEvent("b"), other, newEvent("c"), newEvent("d")} {
		if err := c.Record(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	checkEvents(t, s, "acme", []string{"dup", "a", "b", "c", "d"})
	ees := got.eventErrors()
	if len(ees) != 1 || ees[0].ID != "dup" || ees[0].Status != http.StatusConflict {
		t.Fatalf("errors %v", got.all())
	}
}

// Many goroutines record at once: every event arrives once, and each
// goroutine's events keep their order.
func TestConcurrentRecord(t *testing.T) {
	s := startServer(t)
	c := mustNew(t, s.URL, sdkAdmin, fast(client.WithQueueSize(100), client.WithBlockWhenFull(time.Minute))...)
	const workers, each = 8, 100
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			tenant := "t" + strconv.Itoa(w)
			for i := range each {
				ev := newEvent(tenant + "-" + strconv.Itoa(i))
				ev.Tenant = tenant
				if err := c.Record(context.Background(), ev); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if err := c.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	for w := range workers {
		tenant := "t" + strconv.Itoa(w)
		checkEvents(t, s, tenant, ids(tenant, each))
	}
	if st := c.Stats(); st.Sent != workers*each || st.Dropped != 0 {
		t.Errorf("stats %+v", st)
	}
}

// Close sends what is queued before it returns.
func TestCloseDrains(t *testing.T) {
	s := startServer(t)
	key := s.tenantKey("acme", hashtrail.RoleIngest)
	c, err := client.New(s.URL, key, client.WithTenant("acme"), client.WithBatchDelay(time.Hour), client.WithBatchSize(10))
	if err != nil {
		t.Fatal(err)
	}
	want := ids("close", 35)
	for _, id := range want {
		if err := c.Record(t.Context(), newEvent(id)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	checkEvents(t, s, "acme", want)
	if err := c.Record(t.Context(), newEvent("late")); !errors.Is(err, client.ErrClosed) {
		t.Errorf("Record after Close: %v", err)
	}
	if err := c.Close(t.Context()); !errors.Is(err, client.ErrClosed) {
		t.Errorf("second Close: %v", err)
	}
}

// Close gives up when its context ends; without a spool the events are
// dropped, counted and reported.
func TestCloseGivesUpWithoutSpool(t *testing.T) {
	var got errs
	c, err := client.New(unusedAddr(t), "k", fast(client.WithTenant("acme"), client.WithErrorHandler(got.add))...)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids("lost", 5) {
		if err := c.Record(t.Context(), newEvent(id)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := c.Close(ctx); err == nil {
		t.Fatal("Close reported no loss")
	}
	if st := c.Stats(); st.Dropped != 5 || st.Sent != 0 {
		t.Errorf("stats %+v", st)
	}
	if n := len(got.eventErrors()); n != 5 {
		t.Errorf("%d event errors, want 5", n)
	}
}

// The server goes down and comes back: nothing is lost, nothing
// duplicated, order kept per tenant.
func TestServerDownThenBack(t *testing.T) {
	s := startServer(t)
	f := newFault(t, s.URL)
	var got errs
	c := mustNew(t, f.URL, sdkAdmin, fast(client.WithErrorHandler(got.add), client.WithBatchSize(10))...)
	record := func(prefix string, n int) {
		for i := range n {
			for _, tenant := range []string{"x", "y"} {
				ev := newEvent(tenant + "-" + prefix + "-" + strconv.Itoa(i))
				ev.Tenant = tenant
				if err := c.Record(t.Context(), ev); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	record("before", 20)
	if err := c.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	f.setDown(true)
	record("during", 30)
	waitFor(t, func() bool { return c.Stats().Retried > 0 })
	f.setDown(false)
	record("after", 20)
	if err := c.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, tenant := range []string{"x", "y"} {
		want := append(append(ids(tenant+"-before", 20), ids(tenant+"-during", 30)...), ids(tenant+"-after", 20)...)
		checkEvents(t, s, tenant, want)
	}
	var retries int
	for _, err := range got.all() {
		var re *client.RetryError
		if errors.As(err, &re) {
			retries++
		} else {
			t.Errorf("unexpected error %v", err)
		}
	}
	if retries == 0 {
		t.Error("no RetryError reported")
	}
}

// 429 and 503 are retried after the server's Retry-After; the events
// arrive once.
func TestRetryAfter(t *testing.T) {
	for _, status := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			s := startServer(t)
			f := newFault(t, s.URL)
			var got errs
			c := mustNew(t, f.URL, sdkAdmin, fast(client.WithErrorHandler(got.add))...)
			f.failNext(status, 2, "1")
			ev := newEvent("ra")
			ev.Tenant = "acme"
			if _, err := c.RecordSync(t.Context(), ev); err != nil {
				t.Fatal(err)
			}
			checkEvents(t, s, "acme", []string{"ra"})
			f.mu.Lock()
			defer f.mu.Unlock()
			if len(f.failedAt) != 2 || len(f.retriedAt) != 1 {
				t.Fatalf("failed %d, retried %d", len(f.failedAt), len(f.retriedAt))
			}
			// Each retry came no earlier than Retry-After said (a lower bound,
			// which no slow machine can break).
			if d := f.failedAt[1].Sub(f.failedAt[0]); d < time.Second {
				t.Errorf("second try after %s, before Retry-After: 1", d)
			}
			if d := f.retriedAt[0].Sub(f.failedAt[1]); d < time.Second {
				t.Errorf("third try after %s, before Retry-After: 1", d)
			}
			var re *client.RetryError
			if errs := got.all(); len(errs) != 2 || !errors.As(errs[0], &re) || re.Status != status || re.Wait < time.Second {
				t.Errorf("reported %v", errs)
			}
			if st := c.Stats(); st.Retried != 2 || st.Sent != 1 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// Without a spool, WithMaxAttempts fails a batch after that many tries.
func TestMaxAttempts(t *testing.T) {
	var got errs
	c := mustNew(t, unusedAddr(t), "k", fast(client.WithTenant("acme"), client.WithMaxAttempts(3), client.WithErrorHandler(got.add))...)
	_, err := c.RecordSync(t.Context(), newEvent("x"))
	var ee *client.EventError
	if !errors.As(err, &ee) || ee.ID != "x" {
		t.Fatalf("err %v", err)
	}
	if st := c.Stats(); st.Failed != 1 || st.Retried != 2 {
		t.Errorf("stats %+v", st)
	}
}

// Queue full, drop policy: Record returns ErrQueueFull at once and counts.
func TestQueueFullDrop(t *testing.T) {
	var got errs
	c := mustNew(t, unusedAddr(t), "k", client.WithTenant("acme"), client.WithQueueSize(4), client.WithBatchSize(1),
		client.WithBackoff(time.Hour, time.Hour), client.WithDropWhenFull(), client.WithErrorHandler(got.add))
	var dropped int
	for i := range 20 {
		err := c.Record(t.Context(), newEvent("q"+strconv.Itoa(i)))
		if errors.Is(err, client.ErrQueueFull) {
			dropped++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	// The sender holds at most one batch (of one) and the queue four.
	if dropped < 15 {
		t.Fatalf("%d dropped", dropped)
	}
	if st := c.Stats(); st.Dropped != uint64(dropped) {
		t.Errorf("stats %+v, dropped %d", st, dropped)
	}
	for _, ee := range got.eventErrors() {
		if !errors.Is(ee, client.ErrQueueFull) {
			t.Errorf("reported %v", ee)
		}
	}
}

// Queue full, block policy: Record waits for room up to its deadline (or
// its context's), then drops; it succeeds once the sender makes room.
func TestQueueFullBlock(t *testing.T) {
	s := startServer(t)
	f := newFault(t, s.URL)
	f.setDown(true)
	c := mustNew(t, f.URL, sdkAdmin, client.WithQueueSize(2), client.WithBatchSize(1), client.WithBackoff(time.Millisecond, 5*time.Millisecond),
		client.WithBlockWhenFull(20*time.Millisecond))
	rec := func(id string, ctx context.Context) error {
		ev := newEvent(id)
		ev.Tenant = "acme"
		return c.Record(ctx, ev)
	}
	var accepted []string
	for i := 0; ; i++ {
		id := "b" + strconv.Itoa(i)
		err := rec(id, t.Context())
		if errors.Is(err, client.ErrQueueFull) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		accepted = append(accepted, id)
	}
	// The context's deadline ends the wait too.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := rec("cancelled", ctx); !errors.Is(err, client.ErrQueueFull) {
		t.Fatalf("cancelled ctx: %v", err)
	}
	// A Record blocked on a full queue goes through once the server is back.
	done := make(chan error, 1)
	c2 := mustNew(t, f.URL, sdkAdmin, client.WithQueueSize(1), client.WithBatchSize(1), client.WithBackoff(time.Millisecond, 5*time.Millisecond),
		client.WithBlockWhenFull(time.Minute))
	for i := 0; i < 3; i++ {
		ev := newEvent("c" + strconv.Itoa(i))
		ev.Tenant = "other"
		go func() { done <- c2.Record(t.Context(), ev) }()
	}
	time.Sleep(20 * time.Millisecond)
	f.setDown(false)
	for range 3 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := c2.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	checkEvents(t, s, "acme", accepted)
	if got := len(s.events("other")); got != 3 {
		t.Errorf("other: %d events", got)
	}
	if st := c.Stats(); st.Dropped != 2 {
		t.Errorf("stats %+v", st)
	}
}

// waitFor polls cond until it holds (the test's deadline bounds it).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-t.Context().Done():
			t.Fatal("timed out")
		case <-time.After(2 * time.Millisecond):
		}
	}
}

var _ = json.Marshal
