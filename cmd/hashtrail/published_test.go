package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/merkle"
	"github.com/hashtrail/hashtrail/store/sqlite"
)

// logStore returns a store whose tenant x holds n events with ids prefix0...
func logStore(t *testing.T, prefix string, n int) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), dbFile), sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := hashtrail.NewTime(time.Now())
	var entries []*hashtrail.Entry
	for i := range n {
		entries = append(entries, &hashtrail.Entry{Event: &hashtrail.Event{ID: fmt.Sprintf("%s%d", prefix, i), Tenant: "x",
			Time: now, ReceivedAt: now, Action: "user.login", Category: hashtrail.CategoryAuthentication,
			Severity: hashtrail.SeverityInfo, Outcome: hashtrail.OutcomeSuccess}, ContentHash: []byte{1}})
	}
	if err := st.Append(t.Context(), []*hashtrail.AppendGroup{{Entries: entries, CreateTenants: true}}); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestRollbacks checks each way a backup can fail to hold a published
// checkpoint, and that one it holds passes.
func TestRollbacks(t *testing.T) {
	ctx := t.Context()
	a, b := logStore(t, "a", 5), logStore(t, "b", 5)
	root3, err := merkle.TreeHash(3, merkle.HashReaderFunc(func(i []int64) ([]merkle.Hash, error) { return a.ReadHashes(ctx, "x", i) }))
	if err != nil {
		t.Fatal(err)
	}
	pub := published{tenant: "x", size: 3, root: root3, from: "in test"}
	for _, c := range []struct {
		name string
		st   hashtrail.Store
		pubs []published
		want string
	}{
		{"held", a, []published{pub}, ""},
		{"another history", b, []published{pub}, "the backup's log x has root "},
		{"shorter", a, []published{{tenant: "x", size: 7, root: root3, from: "in test"}}, "the backup's log x has 5 events but checkpoint 7 (root "},
		{"missing", a, []published{{tenant: "y", size: 1, from: "in test"}}, "the backup has no log y, but its checkpoint 1"},
		{"installation", a, []published{{size: 2, from: "in test"}}, "the backup's installation log has 0 entries but checkpoint 2"},
	} {
		got, err := rollbacks(ctx, c.st, c.pubs, "the backup", "restoring it")
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		switch {
		case c.want == "" && len(got) > 0:
			t.Errorf("%s: %v", c.name, got)
		case c.want != "" && (len(got) != 1 || !strings.Contains(got[0], c.want)):
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

// TestSplitNotes splits concatenated signed notes.
func TestSplitNotes(t *testing.T) {
	in := "o/a\n3\nAAA=\n\n— o/a sig1\n— w sig2\n\no/b\n1\nBBB=\n\n— o/b sig3\no\n9\nCCC=\n\n— o sig4\n"
	got := splitNotes([]byte(in))
	want := []string{"o/a\n3\nAAA=\n\n— o/a sig1\n— w sig2\n", "o/b\n1\nBBB=\n\n— o/b sig3\n", "o\n9\nCCC=\n\n— o sig4\n"}
	if len(got) != len(want) {
		t.Fatalf("%d notes: %q", len(got), got)
	}
	for i := range want {
		if string(got[i]) != want[i] {
			t.Errorf("note %d = %q, want %q", i, got[i], want[i])
		}
	}
}
