package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/checkpoint"
	"github.com/hashtrail/hashtrail/ledger"
	"github.com/hashtrail/hashtrail/store/sqlite"
)

// TestVerifyAfterRetentionPurge runs the engine's real purge on a served
// data directory (a policy of one day, a clock a year ahead, one actor's
// events under a legal hold), then `hashtrail verify --data`: it passes and
// counts the purged bodies; one more body deleted without an announcement
// fails it.
func TestVerifyAfterRetentionPurge(t *testing.T) {
	fx := newTamperFixture(t)
	dir, _ := fx.copyData(t)
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "hashtrail.db"), sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := checkpoint.LoadOrCreateKey(func(string) string { return "" }, filepath.Join(dir, "signing-key.pem"), nil)
	if err != nil {
		t.Fatal(err)
	}
	id, err := ledger.SetupLog(t.Context(), st, ledger.LogSetup{Signer: key})
	if err != nil {
		t.Fatal(err)
	}
	later := time.Now().AddDate(1, 0, 0)
	led := ledger.New(st, ledger.Config{Signer: key, ServerName: id.ServerName, CheckpointInterval: 10 * time.Millisecond,
		Now: func() time.Time { return later }})
	ctx := t.Context()
	if _, err := led.PutRetention(ctx, tamperTenant, &hashtrail.RetentionPolicy{Default: hashtrail.MustKeep("1d")}); err != nil {
		t.Fatal(err)
	}
	if _, err := led.AddHold(ctx, tamperTenant, &hashtrail.LegalHold{Filter: "id:ev-00*", Reason: "case 1"}); err != nil {
		t.Fatal(err)
	}
	n, err := led.Purge(ctx, tamperTenant)
	if err != nil || n != tamperEvents-10 {
		t.Fatalf("Purge = %d, %v; want %d (all but the 10 held)", n, err, tamperEvents-10)
	}
	if err := led.Close(ctx); err != nil {
		t.Fatal(err)
	}
	st.Close()
	out := fx.wantOK(t, "--data", dir, "--log-key", fx.logKey, "--tenant", tamperTenant)
	if !strings.Contains(out, "30 purged") {
		t.Errorf("verify after the purge:\n%s", out)
	}

	// A body deleted without an announcement is still tampering.
	st, err = sqlite.Open(t.Context(), filepath.Join(dir, "hashtrail.db"), sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.PurgeEvents(ctx, tamperTenant, [][2]int64{{3, 3}}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	fx.wantFailed(t, []string{"--data", dir, "--log-key", fx.logKey, "--tenant", tamperTenant}, "seq 3 missing", "no signed system.retention_purge")
}
