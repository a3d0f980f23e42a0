package client_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/client"
)

// An event too large to send fails alone, before any request; its batch
// goes through.
func TestEventTooLarge(t *testing.T) {
	s := startServer(t)
	var got errs
	c := mustNew(t, s.URL, sdkAdmin, fast(client.WithErrorHandler(got.add), client.WithBatchDelay(time.Hour))...)
	big := newEvent("big")
	big.Tenant = "acme"
	big.Output = &hashtrail.Output{Command: "x", Stdout: strings.Repeat("a", hashtrail.MaxEventBytes)}
	for _, ev := range []*hashtrail.Event{newEvent("a"), big, newEvent("b")} {
		if ev.Tenant == "" {
			ev.Tenant = "acme"
		}
		if err := c.Record(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	checkEvents(t, s, "acme", []string{"a", "b"})
	ees := got.eventErrors()
	if len(ees) != 1 || ees[0].ID != "big" || ees[0].Status != 0 {
		t.Fatalf("errors %v", got.all())
	}
}

// A wrong key is not retried: every event fails with 401.
func TestUnauthorizedNotRetried(t *testing.T) {
	s := startServer(t)
	f := newFault(t, s.URL)
	var got errs
	c := mustNew(t, f.URL, "htk_wrong", fast(client.WithTenant("acme"), client.WithErrorHandler(got.add))...)
	_, err := c.RecordSync(t.Context(), newEvent("x"))
	var ee *client.EventError
	if !errors.As(err, &ee) || ee.Status != http.StatusUnauthorized {
		t.Fatalf("err %v", err)
	}
	if n := f.requests.Load(); n != 1 {
		t.Errorf("%d requests; a 401 is not retried", n)
	}
	if st := c.Stats(); st.Failed != 1 || st.Retried != 0 {
		t.Errorf("stats %+v", st)
	}
}

// Retry-After as an HTTP date is honoured too.
func TestRetryAfterDate(t *testing.T) {
	s := startServer(t)
	f := newFault(t, s.URL)
	c := mustNew(t, f.URL, sdkAdmin, fast()...)
	f.failNext(http.StatusServiceUnavailable, 1, time.Now().Add(3*time.Second).UTC().Format(http.TimeFormat))
	ev := newEvent("d")
	ev.Tenant = "acme"
	if _, err := c.RecordSync(t.Context(), ev); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.failedAt) != 1 || len(f.retriedAt) != 1 {
		t.Fatalf("failed %d, retried %d", len(f.failedAt), len(f.retriedAt))
	}
	if d := f.retriedAt[0].Sub(f.failedAt[0]); d < time.Second {
		t.Errorf("retried after %s, before the Retry-After date", d)
	}
	checkEvents(t, s, "acme", []string{"d"})
}

// Close does not wait for callers blocked on a full queue: they get
// ErrClosed.
func TestCloseWakesBlockedCallers(t *testing.T) {
	c, err := client.New(unusedAddr(t), "k", client.WithTenant("acme"), client.WithQueueSize(1), client.WithBatchSize(1),
		client.WithBackoff(time.Hour, time.Hour), client.WithBlockWhenFull(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	// One event in the sender's hands, one queued.
	if err := c.Record(t.Context(), newEvent("fill-1")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return c.Stats().Queued == 0 })
	if err := c.Record(t.Context(), newEvent("fill-2")); err != nil {
		t.Fatal(err)
	}
	res := make(chan error, 2)
	go func() { res <- c.Record(context.Background(), newEvent("blocked")) }()
	go func() { _, err := c.RecordSync(context.Background(), newEvent("blocked-sync")); res <- err }()
	time.Sleep(10 * time.Millisecond) // let them block
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	if err := c.Close(ctx); err == nil {
		t.Error("Close reported no loss")
	}
	for range 2 {
		if err := <-res; !errors.Is(err, client.ErrClosed) {
			t.Errorf("blocked caller: %v", err)
		}
	}
}
