package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/store/storetest"
)

// TestTextWindow runs the search conformance suite with a window of two
// seqs, so that free-text listings take textEvents' second step (below the
// window, by the index of words) as a rare word does at scale.
func TestTextWindow(t *testing.T) {
	url := os.Getenv("HASHTRAIL_TEST_POSTGRES")
	if url == "" {
		t.Skip("HASHTRAIL_TEST_POSTGRES is unset; set it to a PostgreSQL 14+ URL to run the PostgreSQL store's tests")
	}
	old := textWindow
	textWindow = 2
	defer func() { textWindow = old }()
	storetest.RunSearch(t, func(t *testing.T) hashtrail.Store {
		b := make([]byte, 6)
		rand.Read(b)
		schema := "test_" + hex.EncodeToString(b)
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if conn, err := pgx.Connect(ctx, url); err == nil {
				conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`)
				conn.Close(ctx)
			}
		})
		s, err := Open(t.Context(), url, Config{Schema: schema, MaxConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
