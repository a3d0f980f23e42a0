package postgres_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/store/postgres"
	"github.com/hashtrail/hashtrail/store/storetest"
)

// testURL returns the address of the test server, or skips the test when
// HASHTRAIL_TEST_POSTGRES is unset.
func testURL(tb testing.TB) string {
	tb.Helper()
	url := os.Getenv("HASHTRAIL_TEST_POSTGRES")
	if url == "" {
		tb.Skip("HASHTRAIL_TEST_POSTGRES is unset; set it to a PostgreSQL 14+ URL such as postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run the PostgreSQL store's tests")
	}
	return url
}

// newSchema returns a fresh schema name, dropped (with everything in it)
// when the test ends.
func newSchema(tb testing.TB) string {
	tb.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	return dropAtCleanup(tb, "test_"+hex.EncodeToString(b))
}

// dropAtCleanup drops schema when the test ends, after the stores it
// opened are closed.
func dropAtCleanup(tb testing.TB, schema string) string {
	url := testURL(tb)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schema
}

// MustOpen opens a store on a fresh schema; the caller closes it.
func MustOpen(tb testing.TB) *postgres.Store {
	tb.Helper()
	return mustOpenSchema(tb, newSchema(tb), postgres.Config{})
}

// mustOpenSchema opens a store on schema with cfg (MaxConns 4 unless set,
// as tests share the server's connections).
func mustOpenSchema(tb testing.TB, schema string, cfg postgres.Config) *postgres.Store {
	tb.Helper()
	cfg.Schema = schema
	if cfg.MaxConns == 0 {
		cfg.MaxConns = 4
	}
	s, err := postgres.Open(tb.Context(), testURL(tb), cfg)
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
		h := sha256.Sum256([]byte(dir))
		schema := dropAtCleanup(t, "test_"+hex.EncodeToString(h[:6]))
		return mustOpenSchema(t, schema, postgres.Config{})
	})
}

func TestSearch(t *testing.T) {
	storetest.RunSearch(t, func(t *testing.T) hashtrail.Store { return MustOpen(t) })
}

// TestConnectionSettings checks what Open sets on every connection.
func TestConnectionSettings(t *testing.T) {
	s := mustOpenSchema(t, newSchema(t), postgres.Config{StatementTimeout: 1500 * time.Millisecond})
	defer s.Close()
	for name, want := range map[string]string{"statement_timeout": "1500ms", "TimeZone": "UTC", "search_path": `"` + s.Schema() + `"`} {
		var got string
		if err := s.Pool().QueryRow(t.Context(), "SELECT current_setting($1)", name).Scan(&got); err != nil || got != want {
			t.Errorf("%s = %q, %v; want %q", name, got, err, want)
		}
	}
	if got := s.Pool().Config().MaxConns; got != 4 {
		t.Errorf("MaxConns = %d, want 4", got)
	}
}
