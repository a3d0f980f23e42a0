package sink_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/sink"
	"github.com/hashtrail/hashtrail/sink/sinktest"
)

// dest is a destination for tests: it records what it accepted, and fails
// as fail says.
type dest struct {
	mu       sync.Mutex
	got      []*hashtrail.Event
	calls    []time.Time
	fail     func(call int, batch []*hashtrail.Event) error
	inFlight atomic.Int32
	overlap  atomic.Bool // two Deliver calls at once, across every Sink
	by       map[string]int
}

func (d *dest) destination(label string) sink.Destination {
	return sink.Destination{New: func(cfg *hashtrail.SinkConfig, env sink.Env) (hashtrail.Sink, error) {
		return &destSink{d: d, label: label}, nil
	}}
}

type destSink struct {
	d     *dest
	label string
}

func (s *destSink) Deliver(ctx context.Context, batch []*hashtrail.Event) error {
	if s.d.inFlight.Add(1) > 1 {
		s.d.overlap.Store(true)
	}
	defer s.d.inFlight.Add(-1)
	s.d.mu.Lock()
	s.d.calls = append(s.d.calls, time.Now())
	n := len(s.d.calls)
	fail := s.d.fail
	s.d.mu.Unlock()
	if fail != nil {
		if err := fail(n, batch); err != nil {
			return err
		}
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	s.d.got = append(s.d.got, batch...)
	if s.d.by == nil {
		s.d.by = map[string]int{}
	}
	s.d.by[s.label] += len(batch)
	return nil
}

func (s *destSink) Close() error { return nil }

func (d *dest) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.got)
}

func (d *dest) callTimes() []time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]time.Time(nil), d.calls...)
}

func newDispatcher(t *testing.T, st sink.Store, reg sink.Registry, holder string, tune ...func(*sink.Config)) *sink.Dispatcher {
	cfg := sink.Config{
		Store: st, Registry: reg, Holder: holder,
		LeaseTTL: 300 * time.Millisecond, PollInterval: 20 * time.Millisecond,
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		CursorInterval: 30 * time.Millisecond, DeliverTimeout: 5 * time.Second,
	}
	for _, f := range tune {
		f(&cfg)
	}
	d := sink.New(cfg)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		d.Close(ctx)
	})
	return d
}

func events(st *sinktest.MemStore, tenant string, from, n int) {
	evs := make([]*hashtrail.Event, n)
	for i := range evs {
		evs[i] = sinktest.NewEvent(tenant, from+i)
	}
	st.Append(tenant, evs...)
}

func addSink(t *testing.T, st *sinktest.MemStore, id, tenant string, maxFailures int) {
	t.Helper()
	if err := st.CreateSink(t.Context(), &hashtrail.SinkConfig{ID: id, Tenant: tenant, Type: "test",
		Settings: json.RawMessage(`{}`), BatchSize: 10, MaxFailures: maxFailures}); err != nil {
		t.Fatal(err)
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestBackoff: failed deliveries are retried after growing waits, the
// failures are recorded, and a success clears them.
func TestBackoff(t *testing.T) {
	st := sinktest.NewMemStore()
	st.Append("acme")
	addSink(t, st, "s", "acme", 10)
	d := &dest{fail: func(call int, _ []*hashtrail.Event) error {
		if call <= 4 {
			return errors.New("connection refused")
		}
		return nil
	}}
	newDispatcher(t, st, sink.Registry{"test": d.destination("a")}, "node-1")
	events(st, "acme", 0, 5)
	sawFailure := false
	eventually(t, "delivery after failures", func() bool {
		if c := st.Cursor("s", "acme"); c.Failures > 0 && c.LastError == "connection refused" {
			sawFailure = true
		}
		return d.count() == 5
	})
	calls := d.callTimes()
	if len(calls) != 5 {
		t.Fatalf("%d calls, want 4 failures and a success", len(calls))
	}
	var gaps []time.Duration
	for i := 1; i < len(calls); i++ {
		gaps = append(gaps, calls[i].Sub(calls[i-1]))
	}
	t.Logf("waits between tries: %v", gaps)
	// Waits are MinBackoff·2^(n-1) with jitter in [half, all]: 10-20ms,
	// 20-40ms, 40-80ms, 80-160ms.
	if gaps[0] < 10*time.Millisecond || gaps[3] < 80*time.Millisecond || gaps[3] <= gaps[0] {
		t.Errorf("the waits do not grow exponentially: %v", gaps)
	}
	if !sawFailure {
		t.Error("the failures were never recorded in the cursor")
	}
	eventually(t, "the cleared cursor", func() bool {
		c := st.Cursor("s", "acme")
		return c.Next == 5 && c.Failures == 0 && c.LastError == "" && !c.LastDelivery.IsZero()
	})
}

// TestPauseAfterFailures: MaxFailures failures in a row pause the sink with
// the reason, and the position is kept.
func TestPauseAfterFailures(t *testing.T) {
	st := sinktest.NewMemStore()
	st.Append("acme")
	addSink(t, st, "s", "acme", 3)
	d := &dest{fail: func(int, []*hashtrail.Event) error { return errors.New("503 from the SIEM") }}
	newDispatcher(t, st, sink.Registry{"test": d.destination("a")}, "node-1")
	events(st, "acme", 0, 5)
	var s *hashtrail.SinkConfig
	eventually(t, "the pause", func() bool {
		s, _ = st.Sink(t.Context(), "s")
		return s.State == hashtrail.SinkPaused
	})
	if !strings.Contains(s.PausedReason, "3 failed deliveries in a row") || !strings.Contains(s.PausedReason, "503 from the SIEM") {
		t.Errorf("paused reason %q", s.PausedReason)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(d.callTimes()); n != 3 {
		t.Errorf("%d tries, want 3 and then none", n)
	}
	if c := st.Cursor("s", "acme"); c.Next != 0 || c.Failures != 3 || c.LastError != "503 from the SIEM" {
		t.Errorf("cursor %+v", c)
	}
}

// TestPermanentError: a permanent error pauses the sink at once.
func TestPermanentError(t *testing.T) {
	st := sinktest.NewMemStore()
	st.Append("acme")
	addSink(t, st, "s", "acme", 100)
	d := &dest{fail: func(int, []*hashtrail.Event) error {
		return &hashtrail.PermanentError{Err: errors.New("410 Gone")}
	}}
	newDispatcher(t, st, sink.Registry{"test": d.destination("a")}, "node-1")
	events(st, "acme", 0, 5)
	var s *hashtrail.SinkConfig
	eventually(t, "the pause", func() bool {
		s, _ = st.Sink(t.Context(), "s")
		return s.State == hashtrail.SinkPaused
	})
	if !strings.Contains(s.PausedReason, "410 Gone") || len(d.callTimes()) != 1 {
		t.Errorf("reason %q after %d tries", s.PausedReason, len(d.callTimes()))
	}
}

// TestReplayBySeq: a replay while delivering restarts from the new cursor.
func TestReplayBySeq(t *testing.T) {
	st := sinktest.NewMemStore()
	st.Append("acme")
	addSink(t, st, "s", "acme", 10)
	d := &dest{}
	disp := newDispatcher(t, st, sink.Registry{"test": d.destination("a")}, "node-1")
	events(st, "acme", 0, 30)
	eventually(t, "delivery", func() bool { return st.Cursor("s", "acme").Next == 30 })
	if err := st.Replay(t.Context(), "s", "acme", 12); err != nil {
		t.Fatal(err)
	}
	disp.Changed()
	eventually(t, "the replay", func() bool { return d.count() == 30+18 })
	time.Sleep(50 * time.Millisecond)
	if n := d.count(); n != 48 {
		t.Fatalf("%d deliveries, want 48", n)
	}
	for i, e := range d.got[30:] {
		if e.Seq != int64(12+i) {
			t.Fatalf("replayed event %d has seq %d", i, e.Seq)
		}
	}
}

// TestLeaseHandover: two dispatchers on one store deliver each sink/tenant
// from one of them at a time; when that one stops, the other takes over
// from the saved cursor.
func TestLeaseHandover(t *testing.T) {
	st := sinktest.NewMemStore()
	st.Append("acme")
	addSink(t, st, "s", "acme", 10)
	d := &dest{fail: func(int, []*hashtrail.Event) error {
		time.Sleep(time.Millisecond) // make overlaps visible
		return nil
	}}
	a := newDispatcher(t, st, sink.Registry{"test": d.destination("a")}, "node-a")
	time.Sleep(50 * time.Millisecond) // a takes the lease first
	newDispatcher(t, st, sink.Registry{"test": d.destination("b")}, "node-b")
	events(st, "acme", 0, 200)
	eventually(t, "delivery by one node", func() bool { return d.count() >= 200 })
	d.mu.Lock()
	byA, byB := d.by["a"], d.by["b"]
	d.mu.Unlock()
	if byB != 0 || st.LeaseHolder(hashtrail.LeaseSink+"s/acme") != "node-a" {
		t.Fatalf("deliveries by a %d, by b %d; lease held by %q", byA, byB, st.LeaseHolder(hashtrail.LeaseSink+"s/acme"))
	}
	// a stops (releasing its lease); b takes over.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	events(st, "acme", 200, 100)
	eventually(t, "delivery by the other node", func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		return d.by["b"] >= 100
	})
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.by["b"] != 100 || len(d.got) != 300 {
		t.Errorf("after the handover: b delivered %d, %d in all; want 100 and 300 (the cursor was saved)", d.by["b"], len(d.got))
	}
	if d.overlap.Load() {
		t.Error("two nodes delivered at the same time")
	}
	for i, e := range d.got {
		if e.Seq != int64(i) {
			t.Fatalf("delivery %d is seq %d", i, e.Seq)
		}
	}
}

// TestLeaseTakeoverAfterCrash: a node that dies holding the lease is
// replaced once the lease expires, from its last saved cursor.
func TestLeaseTakeoverAfterCrash(t *testing.T) {
	st := sinktest.NewMemStore()
	st.Append("acme")
	addSink(t, st, "s", "acme", 10)
	d := &dest{}
	a := newDispatcher(t, st, sink.Registry{"test": d.destination("a")}, "node-a", func(c *sink.Config) { c.CursorInterval = time.Hour })
	events(st, "acme", 0, 50)
	eventually(t, "delivery", func() bool { return d.count() >= 50 })
	a.Kill()
	newDispatcher(t, st, sink.Registry{"test": d.destination("b")}, "node-b")
	events(st, "acme", 50, 50)
	eventually(t, "the takeover", func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		seen := map[int64]bool{}
		for _, e := range d.got {
			seen[e.Seq] = true
		}
		return len(seen) == 100
	})
}

// TestGuard checks the SSRF guard's decisions.
func TestGuard(t *testing.T) {
	strict, open := &sink.Guard{}, &sink.Guard{AllowPrivate: true}
	for _, tc := range []struct {
		addr           string
		strict, allowP bool
	}{
		{"93.184.216.34", true, true},
		{"2606:2800:220:1:248:1893:25c8:1946", true, true},
		{"127.0.0.1", false, true},
		{"::1", false, true},
		{"10.1.2.3", false, true},
		{"172.16.0.1", false, true},
		{"192.168.1.1", false, true},
		{"100.64.0.1", false, true},
		{"fc00::1", false, true},
		{"fd12:3456::1", false, true},
		{"169.254.169.254", false, false},
		{"169.254.1.1", false, false},
		{"fe80::1", false, false},
		{"fd00:ec2::254", false, false},
		{"::ffff:127.0.0.1", false, true},
		{"::ffff:169.254.169.254", false, false},
		{"0.0.0.0", false, false},
		{"::", false, false},
		{"224.0.0.1", false, false},
	} {
		ap := netipMust(tc.addr)
		if got := strict.Check(ap) == nil; got != tc.strict {
			t.Errorf("zero guard: %s allowed = %v", tc.addr, got)
		}
		if got := open.Check(ap) == nil; got != tc.allowP {
			t.Errorf("AllowPrivate guard: %s allowed = %v", tc.addr, got)
		}
	}
	// The guard works at dial time, after resolution: localhost is refused
	// though the name itself says nothing.
	ln := listen(t)
	_, err := strict.DialContext(t.Context(), "tcp", "localhost:"+portOf(ln))
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("dialling localhost through the guard: %v", err)
	}
	c, err := open.DialContext(t.Context(), "tcp", "localhost:"+portOf(ln))
	if err != nil {
		t.Errorf("dialling localhost with private addresses allowed: %v", err)
	} else {
		c.Close()
	}
	resp, err := strict.HTTPClient(time.Second).Get("http://127.0.0.1:" + portOf(ln))
	if err == nil {
		resp.Body.Close()
		t.Error("the guard's HTTP client reached loopback")
	}
}

// retryLater is a failure that asks to be retried after a while, as an
// HTTP destination's RetryError does with a Retry-After.
type retryLater struct{ after time.Duration }

func (e retryLater) Error() string             { return "429 Too Many Requests" }
func (e retryLater) RetryAfter() time.Duration { return e.after }

// TestRetryAfter: the wait before a retry is at least the destination's
// Retry-After, even when wrapped, but never more than MaxBackoff.
func TestRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name     string
		after    time.Duration
		min, max time.Duration
	}{
		// MinBackoff 20ms: without Retry-After the first wait is 10-20ms.
		{"honoured", 150 * time.Millisecond, 150 * time.Millisecond, 2 * time.Second},
		// MaxBackoff 200ms caps an hour's Retry-After.
		{"capped", time.Hour, 200 * time.Millisecond, 2 * time.Second},
		// A Retry-After shorter than the backoff does not shorten it.
		{"short", time.Millisecond, 10 * time.Millisecond, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := sinktest.NewMemStore()
			st.Append("acme")
			addSink(t, st, "s", "acme", 10)
			d := &dest{fail: func(call int, _ []*hashtrail.Event) error {
				if call == 1 {
					return fmt.Errorf("deliver: %w", retryLater{tc.after})
				}
				return nil
			}}
			newDispatcher(t, st, sink.Registry{"test": d.destination("a")}, "node-1")
			events(st, "acme", 0, 3)
			eventually(t, "delivery after the failure", func() bool { return d.count() == 3 })
			calls := d.callTimes()
			if len(calls) != 2 {
				t.Fatalf("%d calls, want a failure and a success", len(calls))
			}
			if gap := calls[1].Sub(calls[0]); gap < tc.min || gap > tc.max {
				t.Errorf("waited %v after Retry-After %v; want %v to %v", gap, tc.after, tc.min, tc.max)
			}
		})
	}
}
