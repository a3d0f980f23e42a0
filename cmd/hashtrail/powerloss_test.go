package main

import (
	"context"
	"math/rand/v2"
	"os"
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
	a := &acks{m: map[string]ack{}}
	tenants := []string{"power-a", "power-b", "power-c"}
	for round := range rounds {
		srv = startServer(t, mnt.Dir)
		url := srv.url
		if lose {
			disk.SetSyncLost(true)
		}
		ctx, cancel := context.WithCancel(t.Context())
		wg := a.load(ctx, url, round, tenants)
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
	if len(a.m) == 0 {
		t.Fatal("no event was acknowledged; the load did not reach the server")
	}
	t.Logf("faultfs: %+v", disk.Stats())

	srv = startServer(t, mnt.Dir)
	found, problems = a.check(t, srv.url, tenants)
	return len(a.m), found, problems
}
