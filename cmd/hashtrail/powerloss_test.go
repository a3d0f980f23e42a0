package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/hashtrail/hashtrail/internal/faultfs"
)

// TestPowerLoss is TestCrashDurability with the power cut instead of the
// process killed: the server's data directory is a faultfs mount, which
// keeps every write that no fsync (or, for names, no directory fsync) has
// made durable in memory only, and PowerCut throws all of that away under
// load. After each cut the server restarts on what survived, and at the end
// every acknowledged event must be there exactly once with its seq, and seq
// gapless in every tenant.
//
// The control run does the same with every fsync after start-up
// acknowledged but dropped (a store that forgot to fsync), and must lose
// acknowledged events: that shows the test can fail.
func TestPowerLoss(t *testing.T) {
	if os.Getenv("HASHTRAIL_TEST_FUSE") != "1" {
		t.Skip("set HASHTRAIL_TEST_FUSE=1 to run the power-loss test (needs /dev/fuse and root for mount(2))")
	}
	if testing.Short() {
		t.Skip("power-loss test runs real server processes")
	}
	t.Run("fsync", func(t *testing.T) {
		acked, found, problems := powerLossRun(t, 3, false)
		for _, p := range problems {
			t.Error(p)
		}
		if found != acked {
			t.Fatalf("%d acknowledged events, only %d found after 3 power cuts", acked, found)
		}
		t.Logf("%d acknowledged events all present after 3 power cuts", acked)
	})
	t.Run("control-fsync-lost", func(t *testing.T) {
		acked, found, problems := powerLossRun(t, 1, true)
		if found == acked && len(problems) == 0 {
			t.Fatalf("with every fsync dropped, all %d acknowledged events survived the power cut: the test cannot tell a store that syncs from one that does not", acked)
		}
		t.Logf("control: with fsync dropped, %d of %d acknowledged events lost after the power cut (%d other problems)",
			acked-found, acked, len(problems))
	})
}

// powerLossRun runs the server on a faultfs mount for the given rounds of
// load and power cut, restarts it on what survived and returns the number
// of acknowledged events, how many of them it found, and whatever else is
// wrong with the log (gaps, duplicates, changed seqs). With lose, every
// fsync after the server has started is dropped.
func powerLossRun(t *testing.T, rounds int, lose bool) (acked, found int, problems []string) {
	disk := faultfs.New()
	var (
		mnt *faultfs.Mount
		srv *serverProc
	)
	base := t.TempDir() // its removal must come after the cleanup below
	remount := func() {
		dir, err := os.MkdirTemp(base, "mnt-")
		if err != nil {
			t.Fatal(err)
		}
		m, err := disk.Mount(dir)
		if err != nil {
			t.Fatal(err)
		}
		mnt = m
	}
	t.Cleanup(func() {
		if srv != nil {
			srv.kill()
		}
		if mnt != nil {
			if err := mnt.Unmount(); err != nil {
				t.Error(err)
			}
		}
	})
	remount()

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 11))
	var mu sync.Mutex
	acks := map[string]ack{} // tenant/id -> ack
	tenants := []string{"power-a", "power-b", "power-c"}
	for round := range rounds {
		srv = startServer(t, mnt.Dir)
		url := srv.url
		if lose {
			disk.SetSyncLost(true)
		}
		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		for w := range 6 {
			wg.Go(func() {
				for i := 0; ctx.Err() == nil; i++ {
					tenant := tenants[(w+i)%len(tenants)]
					n := 1 + (i % 20)
					evs := make([]map[string]any, n)
					for j := range evs {
						evs[j] = map[string]any{"id": fmt.Sprintf("r%d-w%d-%d-%d", round, w, i, j), "action": "user.login",
							"actor": map[string]any{"type": "user", "id": fmt.Sprint(j)}}
					}
					body, _ := json.Marshal(map[string]any{"events": evs})
					req, _ := http.NewRequestWithContext(ctx, "POST", url+"/v1/tenants/"+tenant+"/events", bytes.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+crashKey)
					req.Header.Set("Content-Type", "application/json")
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						continue // cut mid-request: not acknowledged
					}
					var out struct {
						Events []struct {
							Tenant, ID string
							Seq        int64
						}
					}
					err = json.NewDecoder(resp.Body).Decode(&out)
					resp.Body.Close()
					if resp.StatusCode != 200 || err != nil {
						continue
					}
					mu.Lock()
					for _, e := range out.Events {
						acks[e.Tenant+"/"+e.ID] = ack{e.Tenant, e.ID, e.Seq}
					}
					mu.Unlock()
				}
			})
		}
		time.Sleep(time.Duration(300+rng.IntN(900)) * time.Millisecond)
		disk.PowerCut() // from here on the old mount answers EIO to everything
		srv.kill()
		srv = nil
		cancel()
		wg.Wait()
		if err := mnt.Unmount(); err != nil {
			t.Fatal(err)
		}
		mnt = nil
		disk.SetSyncLost(false)
		remount()
	}
	mu.Lock()
	defer mu.Unlock()
	if len(acks) == 0 {
		t.Fatal("no event was acknowledged; the load did not reach the server")
	}
	t.Logf("faultfs: %+v", disk.Stats())

	srv = startServer(t, mnt.Dir)
	for _, tenant := range tenants {
		seen := map[string]bool{}
		for i, ev := range listAll(t, srv.url, tenant) {
			if ev.Seq != int64(i) {
				problems = append(problems, fmt.Sprintf("%s: seq %d at position %d: the log has a gap or disorder", tenant, ev.Seq, i))
				break
			}
			if seen[ev.ID] {
				problems = append(problems, fmt.Sprintf("%s: event %s stored twice", tenant, ev.ID))
			}
			seen[ev.ID] = true
			if a, ok := acks[tenant+"/"+ev.ID]; ok {
				found++
				if a.seq != ev.Seq {
					problems = append(problems, fmt.Sprintf("%s/%s acknowledged as seq %d but stored as %d", tenant, ev.ID, a.seq, ev.Seq))
				}
			}
		}
	}
	return len(acks), found, problems
}
