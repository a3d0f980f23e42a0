package sqlite_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/store/sqlite"
)

// crashEnv names the database a child process appends to until killed.
const crashEnv = "HASHTRAIL_SQLITE_CRASH_CHILD"

func TestMain(m *testing.M) {
	if path := os.Getenv(crashEnv); path != "" {
		crashChild(path)
		return
	}
	os.Exit(m.Run())
}

// crashChild appends batches to the store at path for ever, printing the
// ids of each batch once Append has acknowledged it.
func crashChild(path string) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path, sqlite.Config{})
	if err != nil {
		fmt.Println("error", err)
		return
	}
	for n := 0; ; n++ {
		var groups []*hashtrail.AppendGroup
		var ids []string
		for i := range 10 {
			e := benchEvent("crash", fmt.Sprintf("c-%d", n*10+i), n*10+i)
			groups = append(groups, &hashtrail.AppendGroup{CreateTenants: true,
				Entries: []*hashtrail.Entry{{Event: e, ContentHash: []byte(e.ID)}}})
			ids = append(ids, e.ID)
		}
		if err := s.Append(ctx, groups); err != nil {
			fmt.Println("error", err)
			return
		}
		fmt.Println("acked", strings.Join(ids, " "))
	}
}

// TestKillDurability kills a process that is appending (SIGKILL, no
// chance to flush or close) and checks that every acknowledged event is in
// the reopened store, that the log is gapless and that its tree is the tree
// of its leaf hashes.
func TestKillDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	path := filepath.Join(t.TempDir(), "hashtrail.db")
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []string
	lines := bufio.NewScanner(out)
	deadline := time.Now().Add(30 * time.Second)
	for len(acked) < 500 && time.Now().Before(deadline) && lines.Scan() {
		f := strings.Fields(lines.Text())
		if len(f) == 0 || f[0] != "acked" {
			t.Fatalf("child: %s", lines.Text())
		}
		acked = append(acked, f[1:]...)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if len(acked) == 0 {
		t.Fatal("the child acknowledged nothing")
	}

	s := mustOpenAt(t, path)
	defer s.Close()
	for _, id := range acked {
		if _, err := s.Event(t.Context(), "crash", id); err != nil {
			t.Fatalf("acknowledged event %s lost after kill -9: %v", id, err)
		}
	}
	tn, err := s.Tenant(t.Context(), "crash")
	if err != nil {
		t.Fatal(err)
	}
	var seen int64
	after := int64(-1)
	for {
		page, err := s.Events(t.Context(), &hashtrail.Query{Tenant: "crash", Order: hashtrail.OrderAsc,
			AfterSeq: &after, Limit: hashtrail.MaxLimit})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			if e.Seq != seen {
				t.Fatalf("after kill -9: seq %d where %d was expected", e.Seq, seen)
			}
			seen++
		}
		after = page[len(page)-1].Seq
	}
	if seen != tn.Size || seen < int64(len(acked)) {
		t.Errorf("after kill -9: %d events, log size %d, %d acknowledged", seen, tn.Size, len(acked))
	}
	if n := checkStoreTree(t, s, "crash"); n != seen {
		t.Errorf("after kill -9: a tree of %d leaves for %d events", n, seen)
	}
	// The tree grows on from the state on disk.
	if err := s.Append(t.Context(), benchGroups(4, int(seen), func(n int) string { return fmt.Sprintf("after-%d", n) })); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		checkStoreTree(t, s, fmt.Sprintf("tenant-%d", i))
	}
	checkStoreTree(t, s, "crash")
}
