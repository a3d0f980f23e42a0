package sink_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/sink"
	"github.com/hashtrail/hashtrail/sink/sinktest"
)

// TestPausedHookReportsTheDispatchersOwnPause: the program hears of a
// pause the dispatcher makes itself (once, with the tenant and the reason
// the sink shows), so it can record it in the tenant's log; an admin's
// pause, recorded by the engine, does not call it.
func TestPausedHookReportsTheDispatchersOwnPause(t *testing.T) {
	st := sinktest.NewMemStore()
	st.Append("acme")
	addSink(t, st, "s", "acme", 2)
	type call struct{ sink, tenant, reason string }
	var mu sync.Mutex
	var calls []call
	d := &dest{fail: func(int, []*hashtrail.Event) error { return errors.New("503 from the SIEM") }}
	newDispatcher(t, st, sink.Registry{"test": d.destination("a")}, "node-1", func(c *sink.Config) {
		c.Paused = func(_ context.Context, s *hashtrail.SinkConfig, tenant, reason string) {
			mu.Lock()
			defer mu.Unlock()
			calls = append(calls, call{s.ID, tenant, reason})
		}
	})
	events(st, "acme", 0, 3)
	eventually(t, "the hook", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(calls) > 0
	})
	s, _ := st.Sink(t.Context(), "s")
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != 1 || calls[0].sink != "s" || calls[0].tenant != "acme" || calls[0].reason != s.PausedReason ||
		!strings.Contains(calls[0].reason, "2 failed deliveries in a row") {
		t.Fatalf("calls %+v, sink reason %q", calls, s.PausedReason)
	}
}
