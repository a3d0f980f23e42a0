// Package sinktest is the conformance suite every destination passes with
// its own receiver (DESIGN §6: one suite per interface):
//
//	func TestConformance(t *testing.T) {
//		sinktest.Run(t, sinktest.Harness{
//			Type:        "file",
//			Destination: file.Destination(),
//			Receiver: func(t *testing.T, env sink.Env) (json.RawMessage, func(t *testing.T) []sinktest.Received) {
//				// start a receiver for this test; return the settings of a
//				// sink that delivers to it, and a function that reads back
//				// what it got so far, in arrival order
//			},
//		})
//	}
//
// Each test runs a real sink.Dispatcher over a MemStore with short poll,
// lease and backoff times, and checks what the receiver got: ordering per
// tenant, at-least-once across a crash of the dispatcher (stopped mid-stream
// without saving its cursor: everything arrives, duplicates allowed and
// recognisable by tenant and id), pause and resume (the position is kept),
// replay, and filters.
package sinktest

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/sink"
)

// Received is one event as a receiver got it.
type Received struct {
	Tenant string
	ID     string
	Seq    int64
}

// Harness is what a destination supplies to the suite.
type Harness struct {
	// Type is the destination's type name.
	Type string
	// Destination is what the destination registers.
	Destination sink.Destination
	// Receiver starts a receiver for one test (stopped by t.Cleanup) and
	// returns the settings of a sink that delivers to it and a function
	// that returns every event the receiver got so far, in arrival order,
	// duplicates included. env is the Env the dispatcher gives factories
	// (its FileRoot is a temporary directory; its Guard allows private
	// addresses, since receivers listen on loopback).
	Receiver func(t *testing.T, env sink.Env) (settings json.RawMessage, received func(t *testing.T) []Received)
	// BatchSize, if set, is the sinks' batch size (default 7, so that
	// batches split the logs unevenly).
	BatchSize int
	// Wait bounds each wait for deliveries (default 20s).
	Wait time.Duration
}

// Run runs the suite.
func Run(t *testing.T, h Harness) {
	if h.BatchSize == 0 {
		h.BatchSize = 7
	}
	if h.Wait == 0 {
		h.Wait = 20 * time.Second
	}
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, f *fixture)
	}{
		{"OrderPerTenant", testOrder},
		{"AtLeastOnceAcrossCrash", testCrash},
		{"PauseResume", testPauseResume},
		{"Replay", testReplay},
		{"Filter", testFilter},
		{"InstallationWide", testInstallationWide},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newFixture(t, h))
		})
	}
}

// fixture is one test's store, receiver and dispatchers.
type fixture struct {
	h        Harness
	store    *MemStore
	env      sink.Env
	settings json.RawMessage
	received func(t *testing.T) []Received
	n        int // events made so far
}

func newFixture(t *testing.T, h Harness) *fixture {
	f := &fixture{h: h, store: NewMemStore()}
	f.env = sink.Env{Logger: testLogger(t), Guard: &sink.Guard{AllowPrivate: true}, FileRoot: t.TempDir()}
	f.settings, f.received = h.Receiver(t, f.env)
	return f
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() && os.Getenv("SINKTEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// dispatcher starts a dispatcher over the fixture's store, closed at the
// end of the test (unless killed before).
func (f *fixture) dispatcher(t *testing.T, holder string) *sink.Dispatcher {
	d := sink.New(sink.Config{
		Store:          f.store,
		Registry:       sink.Registry{f.h.Type: f.h.Destination},
		Env:            f.env,
		Logger:         f.env.Logger,
		Holder:         holder,
		LeaseTTL:       300 * time.Millisecond,
		PollInterval:   20 * time.Millisecond,
		MinBackoff:     10 * time.Millisecond,
		MaxBackoff:     100 * time.Millisecond,
		CursorInterval: 50 * time.Millisecond,
		DeliverTimeout: 10 * time.Second,
	})
	t.Cleanup(func() {
		ctx, cancel := contextWithTimeout(10 * time.Second)
		defer cancel()
		_ = d.Close(ctx)
	})
	return d
}

// addSink creates a sink of the destination's type for tenant.
func (f *fixture) addSink(t *testing.T, id, tenant, filter string) {
	t.Helper()
	cfg := &hashtrail.SinkConfig{ID: id, Tenant: tenant, Type: f.h.Type, Filter: filter,
		Settings: append(json.RawMessage(nil), f.settings...), BatchSize: f.h.BatchSize, MaxFailures: 1000}
	if errs := (sink.Registry{f.h.Type: f.h.Destination}).Checker(f.env).CheckSink(cfg); len(errs) > 0 {
		t.Fatalf("the harness's settings do not validate: %v", errs)
	}
	if err := f.store.CreateSink(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
}

// ingest appends n events to tenant's log.
func (f *fixture) ingest(tenant string, n int) {
	events := make([]*hashtrail.Event, n)
	for i := range events {
		events[i] = NewEvent(tenant, f.n)
		f.n++
	}
	f.store.Append(tenant, events...)
}

// NewEvent returns event number n of a test, as a sink gets it (every
// field a destination may map, with personal values), its action
// alternating between user.login (even n) and page.view (odd n).
func NewEvent(tenant string, n int) *hashtrail.Event {
	action, cat := "user.login", hashtrail.CategoryAuthentication
	if n%2 == 1 {
		action, cat = "page.view", hashtrail.CategoryAccess
	}
	at := hashtrail.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).Add(time.Duration(n) * time.Millisecond))
	return &hashtrail.Event{
		ID: fmt.Sprintf("ev-%s-%06d", tenant, n), Tenant: tenant, Time: at, Action: action, Category: cat,
		Severity: hashtrail.SeverityInfo, Outcome: hashtrail.OutcomeSuccess,
		Actor:    &hashtrail.Actor{Type: hashtrail.ActorUser, ID: fmt.Sprint(n % 7), Name: "Ada Lovelace", Email: "ada@example.com"},
		Targets:  []hashtrail.Target{{Type: "project", ID: "7", Name: "Line\nbreak \"quoted\""}},
		Context:  &hashtrail.Context{IP: "203.0.113.9", UserAgent: "test"},
		Metadata: json.RawMessage(`{"n":` + fmt.Sprint(n) + `,"text":"ünïcode \u2028 ok"}`),
		LeafHash: strings.Repeat("ab", 32),
	}
}

// waitFor waits until every event of want (tenant -> count from seq 0, or
// the ids given) was received, and returns what was received.
func (f *fixture) waitFor(t *testing.T, what string, done func([]Received) bool) []Received {
	t.Helper()
	deadline := time.Now().Add(f.h.Wait)
	for {
		got := f.received(t)
		if done(got) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: after %v the receiver has %d events (%s); store: %s", what, f.h.Wait, len(got), summary(got), f.store)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// distinct counts the distinct events per tenant.
func distinct(got []Received) map[string]int {
	seen := map[Received]bool{}
	n := map[string]int{}
	for _, r := range got {
		k := Received{Tenant: r.Tenant, ID: r.ID}
		if !seen[k] {
			seen[k] = true
			n[r.Tenant]++
		}
	}
	return n
}

func summary(got []Received) string {
	return fmt.Sprint(distinct(got))
}

// haveAll reports whether got holds seqs 0..n-1 of each tenant of want.
func haveAll(want map[string]int) func([]Received) bool {
	return func(got []Received) bool {
		seen := map[string]map[int64]bool{}
		for _, r := range got {
			if seen[r.Tenant] == nil {
				seen[r.Tenant] = map[int64]bool{}
			}
			seen[r.Tenant][r.Seq] = true
		}
		for tenant, n := range want {
			for s := range int64(n) {
				if !seen[tenant][s] {
					return false
				}
			}
		}
		return true
	}
}

// checkIdentity checks that each received event is the one its tenant and
// seq name (the id matches), which is what lets receivers dedupe.
func checkIdentity(t *testing.T, f *fixture, got []Received) {
	t.Helper()
	for _, r := range got {
		evs, err := f.store.Events(t.Context(), &hashtrail.Query{Tenant: r.Tenant, AfterSeq: ptr(r.Seq - 1), Order: hashtrail.OrderAsc, Limit: 1})
		if err != nil || len(evs) != 1 || evs[0].ID != r.ID {
			t.Fatalf("received %+v, which is not an event of the log", r)
		}
	}
}

func ptr[T any](v T) *T { return &v }
