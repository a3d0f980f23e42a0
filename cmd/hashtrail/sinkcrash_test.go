package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashtrail/hashtrail/sink/file"
)

// TestSinkCrash runs the server with an installation-wide file sink under
// concurrent load, kills it with SIGKILL while it delivers, several times,
// restarts it, and checks that every event of every log (every
// acknowledged one among them) reaches the files at least once.
func TestSinkCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test runs real server processes")
	}
	dataDir := t.TempDir()
	root := filepath.Join(dataDir, "sinks")
	cfgPath := filepath.Join(t.TempDir(), "hashtrail.yaml")
	cfg := fmt.Sprintf("data: %s\nsinks-file-root: %s\nsinks:\n  - name: archive\n    type: file\n    batch-size: 50\n    settings: {dir: archive, max_bytes: 200000}\n", dataDir, root)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 9))
	a := &acks{m: map[string]ack{}}
	tenants := []string{"sink-a", "sink-b"}
	const rounds = 3
	for round := range rounds {
		srv := startServerWith(t, "--config", cfgPath)
		ctx, cancel := context.WithCancel(t.Context())
		wg := a.load(ctx, srv.url, round, tenants)
		time.Sleep(time.Duration(400+rng.IntN(800)) * time.Millisecond)
		srv.kill()
		cancel()
		wg.Wait()
	}
	if len(a.m) == 0 {
		t.Fatal("no event was acknowledged")
	}
	srv := startServerWith(t, "--config", cfgPath)
	defer srv.kill()
	want := map[string]bool{}
	for _, tenant := range tenants {
		for _, ev := range listAll(t, srv.url, tenant) {
			want[tenant+"/"+ev.ID] = true
		}
	}
	for k := range a.m {
		if !want[k] {
			t.Fatalf("acknowledged event %s is not in the log", k)
		}
	}
	var lines, missing int
	deadline := time.Now().Add(60 * time.Second)
	for {
		got, err := file.ReadDir(filepath.Join(root, "archive"))
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, l := range got {
			var e struct{ Tenant, ID string }
			if err := json.Unmarshal(l, &e); err != nil {
				t.Fatalf("a line of the sink's files is not an event: %q", l)
			}
			seen[e.Tenant+"/"+e.ID] = true
		}
		missing = 0
		for k := range want {
			if !seen[k] {
				missing++
			}
		}
		lines = len(got)
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events never reached the file sink after %d SIGKILLs", missing, len(want), rounds)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("%d events in the logs (%d acknowledged) all delivered after %d SIGKILLs; %d lines written, so %d duplicates, each recognisable by tenant and id",
		len(want), len(a.m), rounds, lines, lines-len(want)-countSystem(t, root))
}

// countSystem counts the lines of the installation's own log (sink.create
// and the like) in the sink's files, which the sink delivers too.
func countSystem(t *testing.T, root string) int {
	got, err := file.ReadDir(filepath.Join(root, "archive"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	seen := map[string]bool{}
	for _, l := range got {
		var e struct{ Tenant, ID string }
		_ = json.Unmarshal(l, &e)
		if e.Tenant != "sink-a" && e.Tenant != "sink-b" && !seen[e.Tenant+"/"+e.ID] {
			seen[e.Tenant+"/"+e.ID] = true
			n++
		}
	}
	return n
}
