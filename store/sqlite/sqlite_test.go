package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/store/sqlite"
	"github.com/hashtrail/hashtrail/store/storetest"
)

// MustOpen opens a store in a new temporary directory; the caller closes it.
func MustOpen(tb testing.TB) *sqlite.Store {
	tb.Helper()
	return mustOpenAt(tb, filepath.Join(tb.TempDir(), "hashtrail.db"))
}

func mustOpenAt(tb testing.TB, path string) *sqlite.Store {
	tb.Helper()
	s, err := sqlite.Open(tb.Context(), path, sqlite.Config{})
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) hashtrail.Store { return MustOpen(t) })
}

func TestSearch(t *testing.T) {
	storetest.RunSearch(t, func(t *testing.T) hashtrail.Store { return MustOpen(t) })
}

func TestDurable(t *testing.T) {
	storetest.RunDurable(t, func(t *testing.T, dir string) hashtrail.Store {
		return mustOpenAt(t, filepath.Join(dir, "hashtrail.db"))
	})
}

// TestPragmas checks the settings durability and concurrency rely on.
func TestPragmas(t *testing.T) {
	s := MustOpen(t)
	defer s.Close()
	for name, want := range map[string][2]string{
		"journal_mode": {"wal", "wal"},
		"synchronous":  {"2", "2"}, // FULL
		"foreign_keys": {"1", "1"},
		"query_only":   {"0", "1"},
		"page_size":    {"4096", "4096"},
	} {
		w, r, err := s.Pragma(t.Context(), name)
		if err != nil {
			t.Fatalf("PRAGMA %s: %v", name, err)
		}
		if w != want[0] || r != want[1] {
			t.Errorf("PRAGMA %s = %s (writer), %s (reader); want %s, %s", name, w, r, want[0], want[1])
		}
	}
}
