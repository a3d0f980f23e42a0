package sqlite_test

import (
	"os"
	"testing"

	"github.com/hashtrail/hashtrail/store/sqlite"
	"github.com/hashtrail/hashtrail/store/storetest"
)

// TestScale loads a tenant of 10M events (HASHTRAIL_BENCH_10M=1, or
// HASHTRAIL_BENCH_EVENTS=N) into the file HASHTRAIL_BENCH_DB (kept, so a
// rerun resumes the load or only measures), then logs the p50 and p99 of
// the feed, full-text searches and stats over 30 days. See
// docs/benchmarks.md.
func TestScale(t *testing.T) {
	n := storetest.ScaleEvents()
	if n == 0 {
		t.Skip("set HASHTRAIL_BENCH_10M=1 (or HASHTRAIL_BENCH_EVENTS=N) to run the scale benchmark")
	}
	path := os.Getenv("HASHTRAIL_BENCH_DB")
	if path == "" {
		path = t.TempDir() + "/scale.db"
	}
	s, err := sqlite.Open(t.Context(), path, sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.RunScale(t, s, n, 1, 100, 5)
}
