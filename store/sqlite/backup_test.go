package sqlite_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/merkle"
	"github.com/hashtrail/hashtrail/store/sqlite"
)

// appendN appends n events to tenant, ids prefix0, prefix1, ...
func appendN(t testing.TB, s *sqlite.Store, tenant, prefix string, n int) error {
	now := hashtrail.NewTime(time.Now())
	var entries []*hashtrail.Entry
	for i := range n {
		entries = append(entries, &hashtrail.Entry{
			Event: &hashtrail.Event{ID: fmt.Sprintf("%s%d", prefix, i), Tenant: tenant, Time: now, ReceivedAt: now,
				Action: "user.login", Category: hashtrail.CategoryAuthentication, Severity: hashtrail.SeverityInfo,
				Outcome: hashtrail.OutcomeSuccess, Actor: &hashtrail.Actor{Type: "user", ID: "7", Email: "a@example.com"}},
			ContentHash: []byte(prefix),
		})
	}
	g := &hashtrail.AppendGroup{Entries: entries, CreateTenants: true}
	if err := s.Append(t.Context(), []*hashtrail.AppendGroup{g}); err != nil {
		return err
	}
	return g.Err
}

// TestBackupWhileWriting takes backups while appends go on and checks that
// each is a whole, consistent store: every event it holds has its tree
// hashes, and its root is the source's root at that size.
func TestBackupWhileWriting(t *testing.T) {
	dir := t.TempDir()
	s := mustOpenAt(t, filepath.Join(dir, "hashtrail.db"))
	defer s.Close()
	if err := appendN(t, s, "acme", "pre", 50); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	var batches atomic.Int64
	wg.Go(func() {
		for i := 0; ctx.Err() == nil; i++ {
			if err := appendN(t, s, "acme", fmt.Sprintf("w%d-", i), 20); err != nil {
				t.Error(err)
				return
			}
			batches.Add(1)
		}
	})
	var backups []string
	for i := range 4 {
		p := filepath.Join(dir, fmt.Sprintf("backup-%d.db", i))
		backup := s.Backup
		if i%2 == 1 {
			backup = func(ctx context.Context, path string) error {
				return sqlite.BackupFile(ctx, filepath.Join(dir, "hashtrail.db"), path)
			}
		}
		if err := backup(t.Context(), p); err != nil {
			t.Fatal(err)
		}
		backups = append(backups, p)
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	if err := s.Backup(t.Context(), backups[0]); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("a backup over an existing file: %v, want a refusal", err)
	}
	t.Logf("%d batches appended during %d backups", batches.Load(), len(backups))
	if err := sqlite.BackupFile(t.Context(), filepath.Join(dir, "none.db"), filepath.Join(dir, "x.db")); err == nil {
		t.Error("BackupFile of a missing database succeeded")
	}
	for _, p := range backups {
		b := mustOpenAt(t, p)
		tn, err := b.Tenant(t.Context(), "acme")
		if err != nil {
			t.Fatal(err)
		}
		if tn.Size < 50 {
			t.Errorf("%s holds %d events, fewer than before the backup", p, tn.Size)
		}
		got, err := merkle.TreeHash(tn.Size, hashReader(t, b, "acme"))
		if err != nil {
			t.Fatalf("%s: the tree of size %d: %v", p, tn.Size, err)
		}
		want, err := merkle.TreeHash(tn.Size, hashReader(t, s, "acme"))
		if err != nil || got != want {
			t.Errorf("%s: root at %d differs from the source's (%v)", p, tn.Size, err)
		}
		evs, err := b.Events(t.Context(), &hashtrail.Query{Tenant: "acme", Limit: 1})
		if err != nil || len(evs) != 1 || evs[0].Seq != tn.Size-1 {
			t.Errorf("%s: latest event %v, %v; want seq %d", p, evs, err, tn.Size-1)
		}
		b.Close()
	}
}

func hashReader(t *testing.T, s *sqlite.Store, tenant string) merkle.HashReader {
	return merkle.HashReaderFunc(func(idx []int64) ([]merkle.Hash, error) { return s.ReadHashes(t.Context(), tenant, idx) })
}

// holdEnv makes the test binary a helper that holds a database open.
const holdEnv = "HASHTRAIL_TEST_HOLD_DB"

// TestInUse checks that a database another process holds open is in use,
// and is not once that process has closed it.
func TestInUse(t *testing.T) {
	if p := os.Getenv(holdEnv); p != "" {
		s := mustOpenAt(t, p)
		fmt.Println("open")
		io.Copy(io.Discard, os.Stdin) // until the parent closes stdin
		s.Close()
		return
	}
	path := filepath.Join(t.TempDir(), "hashtrail.db")
	s := mustOpenAt(t, path)
	if err := appendN(t, s, "acme", "e", 3); err != nil {
		t.Fatal(err)
	}
	if used, err := sqlite.InUse(path); err != nil || used {
		t.Fatalf("InUse with only this process's connections = %v, %v; want false", used, err)
	}
	s.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestInUse$")
	cmd.Env = append(os.Environ(), holdEnv+"="+path)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "open\n" {
		t.Fatalf("helper: %q, %v", line, err)
	}
	if used, err := sqlite.InUse(path); err != nil || !used {
		t.Errorf("InUse while another process holds it open = %v, %v; want true", used, err)
	}
	stdin.Close()
	go io.Copy(io.Discard, stdout)
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if used, err := sqlite.InUse(path); err != nil || used {
		t.Errorf("InUse after the other process closed it = %v, %v; want false", used, err)
	}
	if used, err := sqlite.InUse(filepath.Join(t.TempDir(), "none.db")); err != nil || used {
		t.Errorf("InUse of a missing database = %v, %v", used, err)
	}
}
