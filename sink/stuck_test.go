package sink_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/ledger"
	"github.com/hashtrail/hashtrail/sink"
	"github.com/hashtrail/hashtrail/store/sqlite"
)

// blackhole is a destination that never answers: Deliver blocks until its
// context ends.
type blackhole struct{ calls atomic.Int64 }

func (b *blackhole) Deliver(ctx context.Context, _ []*hashtrail.Event) error {
	b.calls.Add(1)
	<-ctx.Done()
	return ctx.Err()
}

func (b *blackhole) Close() error { return nil }

// counter is a healthy destination that counts what it got per tenant.
type counter struct {
	mu   sync.Mutex
	next map[string]int64
}

func (c *counter) Deliver(ctx context.Context, batch []*hashtrail.Event) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range batch {
		if e.Seq >= c.next[e.Tenant] {
			c.next[e.Tenant] = e.Seq + 1
		}
	}
	return nil
}

func (c *counter) Close() error { return nil }

func (c *counter) at(tenant string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.next[tenant]
}

// TestStuckDestination: with one sink blackholed (it never answers) and
// another healthy, ingest runs at full speed through the real engine and
// store: its throughput, and the healthy sink's lag, are the same as with
// the healthy sink alone. Phases alternate (healthy only, healthy + stuck,
// twice) and are compared as ratios; the figures are logged.
func TestStuckDestination(t *testing.T) {
	if testing.Short() {
		t.Skip("ingests at full speed for several seconds")
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hashtrail.db"), sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var disp atomic.Pointer[sink.Dispatcher]
	led := ledger.New(st, ledger.Config{AutoCreateTenants: true, Committed: func(ts ...string) {
		if d := disp.Load(); d != nil {
			d.Notify(ts...)
		}
	}})
	hole, healthy := &blackhole{}, &counter{next: map[string]int64{}}
	reg := sink.Registry{
		"blackhole": {New: func(*hashtrail.SinkConfig, sink.Env) (hashtrail.Sink, error) { return hole, nil }},
		"healthy":   {New: func(*hashtrail.SinkConfig, sink.Env) (hashtrail.Sink, error) { return healthy, nil }},
	}
	d := sink.New(sink.Config{Store: st, Registry: reg, PollInterval: 50 * time.Millisecond, DeliverTimeout: time.Hour})
	disp.Store(d)
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		led.Close(cctx)
		if err := d.Close(cctx); err != nil {
			t.Errorf("closing the dispatcher with a stuck destination: %v", err)
		}
		st.Close()
	})

	raw := make([]json.RawMessage, 100)
	for i := range raw {
		raw[i] = json.RawMessage(fmt.Sprintf(`{"action":"user.login","actor":{"type":"user","id":"%d","email":"u%d@example.com"},"context":{"ip":"203.0.113.%d"},"metadata":{"i":%d}}`, i, i, i%250, i))
	}
	// phase ingests into tenant for dur with several writers and returns
	// events/s and the healthy sink's largest lag seen (in events).
	phase := func(tenant string, stuck bool, dur time.Duration) (rate float64, maxLag int64) {
		if err := st.CreateTenant(ctx, &hashtrail.Tenant{ID: tenant}); err != nil {
			t.Fatal(err)
		}
		mk := func(typ string) {
			if err := st.CreateSink(ctx, &hashtrail.SinkConfig{ID: typ + "-" + tenant, Tenant: tenant, Type: typ, BatchSize: 500}); err != nil {
				t.Fatal(err)
			}
		}
		mk("healthy")
		if stuck {
			mk("blackhole")
		}
		d.Changed()
		time.Sleep(100 * time.Millisecond) // the workers start
		var n atomic.Int64
		var size atomic.Int64
		stop := time.Now().Add(dur)
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(stop) {
					req := &hashtrail.IngestRequest{Tenant: tenant}
					for i, r := range raw {
						sub, errs := hashtrail.DecodeEvent(r, "", hashtrail.DecodeOptions{PathTenant: tenant}, hashtrail.NewTime(time.Now()))
						if errs != nil {
							t.Error(errs)
							return
						}
						sub.Index = i
						req.Submissions = append(req.Submissions, sub)
					}
					rs, err := led.Ingest(ctx, req)
					if err != nil {
						t.Error(err)
						return
					}
					n.Add(int64(len(rs)))
					for _, r := range rs {
						for s := size.Load(); r.Seq+1 > s && !size.CompareAndSwap(s, r.Seq+1); s = size.Load() {
						}
					}
				}
			}()
		}
		start := time.Now()
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
	sample:
		for {
			select {
			case <-done:
				break sample
			case <-tick.C:
				maxLag = max(maxLag, size.Load()-healthy.at(tenant))
			}
		}
		rate = float64(n.Load()) / time.Since(start).Seconds()
		// The healthy sink catches up with everything.
		eventually(t, "the healthy sink catching up in "+tenant, func() bool { return healthy.at(tenant) == size.Load() })
		return rate, maxLag
	}

	const dur = 1200 * time.Millisecond
	var rateAlone, rateStuck float64
	var lagAlone, lagStuck int64
	for round := range 2 {
		r, l := phase(fmt.Sprintf("alone-%d", round), false, dur)
		rateAlone += r
		lagAlone = max(lagAlone, l)
		r, l = phase(fmt.Sprintf("stuck-%d", round), true, dur)
		rateStuck += r
		lagStuck = max(lagStuck, l)
	}
	ratio := rateStuck / rateAlone
	t.Logf("ingest: %.0f events/s with the healthy sink alone, %.0f with a stuck sink too (ratio %.2f); healthy sink's largest lag: %d events alone, %d with the stuck sink; blackholed deliveries in flight: %d",
		rateAlone/2, rateStuck/2, ratio, lagAlone, lagStuck, hole.calls.Load())
	if hole.calls.Load() == 0 {
		t.Fatal("the blackholed sink was never called")
	}
	if ratio < 0.7 {
		t.Errorf("ingest ran at %.2f of its speed with a stuck sink", ratio)
	}
	// Lag is sampled, so it is noisy: the stuck sink must not make it grow
	// by more than a few batches beyond what it is alone.
	if lagStuck > 2*lagAlone+2000 {
		t.Errorf("the healthy sink lagged %d events with a stuck sink beside it, %d alone", lagStuck, lagAlone)
	}
}
