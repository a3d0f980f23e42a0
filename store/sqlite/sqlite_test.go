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

func TestDurable(t *testing.T) {
	storetest.RunDurable(t, func(t *testing.T, dir string) hashtrail.Store {
		return mustOpenAt(t, filepath.Join(dir, "hashtrail.db"))
	})
}
