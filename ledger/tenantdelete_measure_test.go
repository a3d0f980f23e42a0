package ledger_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/ledger"
)

// TestMeasureTenantDeletion measures deleting a tenant of
// HASHTRAIL_MEASURE_DELETE events (e.g. 100000) on SQLite while another
// tenant ingests single-event requests from 4 clients, and reports the
// deletion's events/s and the other tenant's ingest latency before and
// during it. docs/benchmarks.md quotes it:
//
//	HASHTRAIL_MEASURE_DELETE=100000 go test -count=1 -run TestMeasureTenantDeletion -v ./ledger/
func TestMeasureTenantDeletion(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("HASHTRAIL_MEASURE_DELETE"))
	if n <= 0 {
		t.Skip("set HASHTRAIL_MEASURE_DELETE to the number of events, e.g. 100000")
	}
	l, st := MustOpenLog(t, ledger.Config{CheckpointInterval: 100 * time.Millisecond})
	ctx := t.Context()
	inst := as(ctx, hashtrail.AllTenants, hashtrail.RoleAdmin)
	for _, id := range []string{"big", "live"} {
		if _, err := l.CreateTenant(inst, &hashtrail.Tenant{ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	load := time.Now()
	for from := 0; from < n; from += 1000 {
		raws := make([]string, min(1000, n-from))
		for i := range raws {
			j := from + i
			raws[i] = fmt.Sprintf(`{"id":"b%d","action":"user.login","actor":{"type":"user","id":"%d","email":"u%d@example.com","name":"User %d"},"context":{"ip":"203.0.113.%d","user_agent":"Mozilla/5.0"},"targets":[{"type":"project","id":"%d"}],"metadata":{"plan":"team","seats":%d}}`, j, j%5000, j%5000, j, j%250, j%100, j%50)
		}
		if _, err := ingest(t, ctx, l, "big", raws...); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("loaded %d events in %v", n, time.Since(load).Round(time.Millisecond))

	type sample struct {
		at time.Time
		d  time.Duration
	}
	var mu sync.Mutex
	var samples []sample
	stop := make(chan struct{})
	var wg sync.WaitGroup
	w := as(ctx, "live", hashtrail.RoleIngest)
	for c := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				start := time.Now()
				if _, err := ingest(t, w, l, "live", fmt.Sprintf(`{"id":"l%d-%d","action":"user.login","actor":{"type":"user","id":"1"}}`, c, i)); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				samples = append(samples, sample{start, time.Since(start)})
				mu.Unlock()
			}
		}()
	}
	time.Sleep(5 * time.Second)
	if _, err := l.SuspendTenant(inst, "big", true, "measure"); err != nil {
		t.Fatal(err)
	}
	tn, err := st.Tenant(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	if _, err := l.DeleteTenantLog(inst, "big", tn.Size); err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := st.Tenant(ctx, "big"); hashtrail.ErrorCode(err) == hashtrail.ENOTFOUND {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	took := time.Since(began)
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()
	pct := func(from, to time.Time) string {
		var ds []time.Duration
		for _, s := range samples {
			if !s.at.Before(from) && s.at.Before(to) {
				ds = append(ds, s.d)
			}
		}
		if len(ds) == 0 {
			return "no samples"
		}
		slices.Sort(ds)
		q := func(p float64) time.Duration {
			return ds[min(len(ds)-1, int(p*float64(len(ds))))].Round(10 * time.Microsecond)
		}
		return fmt.Sprintf("%d requests (%.0f/s), p50 %v, p99 %v, max %v", len(ds), float64(len(ds))/to.Sub(from).Seconds(), q(0.5), q(0.99), ds[len(ds)-1].Round(10*time.Microsecond))
	}
	t.Logf("deleted %d events in %v: %.0f events/s", tn.Size, took.Round(time.Millisecond), float64(tn.Size)/took.Seconds())
	t.Logf("live ingest before: %s", pct(began.Add(-4*time.Second), began))
	t.Logf("live ingest during: %s", pct(began, began.Add(took)))
	if got, err := st.Tenant(context.Background(), "live"); err != nil || got.Size < 10 {
		t.Errorf("the live tenant: %+v, %v", got, err)
	}
}
