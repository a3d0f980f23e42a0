package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/store/postgres"
)

// TestTerminatedConnections kills every connection of the store with
// pg_terminate_backend, again and again, while writers append: each Append
// must succeed or answer EUNAVAILABLE, every acknowledged event must be
// stored with the seq it was answered, the log must stay gapless with a
// right tree, and the store must serve again by itself once the killing
// stops.
func TestTerminatedConnections(t *testing.T) {
	app := fmt.Sprintf("hashtrail-fault-%d", time.Now().UnixNano())
	u, err := url.Parse(testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	schema := newSchema(t)
	s, err := postgres.Open(t.Context(), u.String(), postgres.Config{Schema: schema, MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	admin, err := pgx.Connect(t.Context(), testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())

	var stop atomic.Bool
	var acked sync.Map // id -> seq
	var ok, unavailable, kills atomic.Int64
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				g := &hashtrail.AppendGroup{CreateTenants: true}
				for j := range 10 {
					g.Entries = append(g.Entries, testEvent("acme", fmt.Sprintf("w%d-%d-%d", w, i, j), time.Now()))
				}
				err := s.Append(t.Context(), []*hashtrail.AppendGroup{g})
				switch {
				case err == nil && g.Err == nil:
					ok.Add(1)
					for _, e := range g.Entries {
						acked.Store(e.Event.ID, e.Event.Seq)
					}
				case hashtrail.ErrorCode(err) == hashtrail.EUNAVAILABLE:
					unavailable.Add(1)
					var he *hashtrail.Error
					if !errors.As(err, &he) {
						t.Errorf("an EUNAVAILABLE error that is no *hashtrail.Error: %v", err)
					}
				default:
					t.Errorf("Append: %v (code %s), group %v; want success or EUNAVAILABLE", err, hashtrail.ErrorCode(err), g.Err)
					return
				}
			}
		})
	}
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		var n int64
		if err := admin.QueryRow(t.Context(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE application_name = $1`, app).Scan(&n); err != nil {
			t.Fatal(err)
		}
		kills.Add(n)
		time.Sleep(30 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("%d appends acknowledged, %d answered EUNAVAILABLE, %d connections terminated", ok.Load(), unavailable.Load(), kills.Load())
	if kills.Load() == 0 || ok.Load() == 0 {
		t.Fatalf("the test did not exercise anything: %d kills, %d appends", kills.Load(), ok.Load())
	}

	// The store serves again by itself: the next calls succeed (the pool
	// replaces the dead connections).
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping after the faults: %v", err)
	}
	g := &hashtrail.AppendGroup{Entries: []*hashtrail.Entry{testEvent("acme", "after", time.Now())}}
	for attempt := 0; ; attempt++ {
		err := s.Append(t.Context(), []*hashtrail.AppendGroup{g})
		if err == nil {
			break
		}
		if attempt == 10 {
			t.Fatalf("Append after the faults: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	byID := checkLog(t, s, "acme")
	n := 0
	acked.Range(func(k, v any) bool {
		n++
		if e, ok := byID[k.(string)]; !ok {
			t.Errorf("acknowledged event %s is lost", k)
		} else if e.Seq != v.(int64) {
			t.Errorf("acknowledged event %s was answered seq %d, stored at %d", k, v, e.Seq)
		}
		return true
	})
	if n == 0 {
		t.Error("nothing was acknowledged")
	}
}
