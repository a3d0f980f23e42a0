package postgres_test

import (
	"os"
	"testing"

	"github.com/hashtrail/hashtrail/store/postgres"
	"github.com/hashtrail/hashtrail/store/storetest"
)

// TestScale loads a tenant of 10M events (HASHTRAIL_BENCH_10M=1, or
// HASHTRAIL_BENCH_EVENTS=N) into the schema HASHTRAIL_BENCH_SCHEMA
// (default bench_scale, kept so that a rerun resumes the load or only
// measures; drop it when done), then logs the p50 and p99 of the feed,
// full-text searches and stats over 30 days. See docs/benchmarks.md.
func TestScale(t *testing.T) {
	n := storetest.ScaleEvents()
	if n == 0 {
		t.Skip("set HASHTRAIL_BENCH_10M=1 (or HASHTRAIL_BENCH_EVENTS=N) to run the scale benchmark")
	}
	schema := os.Getenv("HASHTRAIL_BENCH_SCHEMA")
	if schema == "" {
		schema = "bench_scale"
	}
	s, err := postgres.Open(t.Context(), testURL(t), postgres.Config{Schema: schema, MaxConns: 8, StatementTimeout: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.RunScale(t, s, n, 4, 100, 5)
}
