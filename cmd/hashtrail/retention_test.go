package main

import (
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/checkpoint"
	"github.com/hashtrail/hashtrail/client"
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

// TestVerifyStoreAfterRetentionPurgePostgres runs the engine's purge on a
// PostgreSQL store and verifies the log as `hashtrail verify --store` does.
func TestVerifyStoreAfterRetentionPurgePostgres(t *testing.T) {
	u := pgSchemaURL(t)
	c := defaultConfig()
	c.Store, c.PGMaxConns = u, 4
	tgt, err := c.storeTarget()
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	st, err := openStore(ctx, tgt, slog.New(slog.DiscardHandler), true)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, key, _ := ed25519.GenerateKey(nil)
	id, err := ledger.SetupLog(ctx, st, ledger.LogSetup{Signer: key, ServerName: "pg.retention.test"})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	led := ledger.New(st, ledger.Config{Signer: key, ServerName: id.ServerName, CheckpointInterval: 10 * time.Millisecond, Now: clock, Cluster: true})
	if _, err := led.CreateTenant(ctx, &hashtrail.Tenant{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	req := &hashtrail.IngestRequest{Tenant: "acme"}
	for i := range 20 {
		ev := &hashtrail.Event{ID: fmt.Sprintf("e%d", i), Action: "user.login",
			Actor: &hashtrail.Actor{Type: hashtrail.ActorUser, ID: fmt.Sprint(i % 3), Email: fmt.Sprintf("u%d@example.com", i%3)}}
		req.Submissions = append(req.Submissions, &hashtrail.Submission{Index: i, Event: ev, ContentHash: hashtrail.HashKey(ev.ID)})
	}
	if _, err := led.Ingest(ctx, req); err != nil {
		t.Fatal(err)
	}
	if _, err := led.PutRetention(ctx, "acme", &hashtrail.RetentionPolicy{Default: hashtrail.MustKeep("1d")}); err != nil {
		t.Fatal(err)
	}
	if _, err := led.AddHold(ctx, "acme", &hashtrail.LegalHold{Filter: "actor:user:0", Reason: "case 1"}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(48 * time.Hour)
	mu.Unlock()
	// 20 logins, 7 of user:0 held; the retention.update and
	// legal_hold.create records expire too.
	n, err := led.Purge(ctx, "acme")
	if err != nil || n != 13+2 {
		t.Fatalf("Purge = %d, %v; want 15", n, err)
	}
	if err := led.Close(ctx); err != nil {
		t.Fatal(err)
	}
	v := &client.Verifier{ServerName: id.ServerName, Keys: []ed25519.PublicKey{key.Public().(ed25519.PublicKey)}}
	rep, err := v.Verify(ctx, &storeSource{st: st, ls: st, tenant: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Purged != 15 {
		t.Errorf("verify --store after the purge: %s (purged %d), want OK with 15", rep.Summary(), rep.Purged)
	}
	if _, err := st.PurgeEvents(ctx, "acme", [][2]int64{{0, 0}}); err != nil { // e0: user:0, held
		t.Fatal(err)
	}
	if rep, err := v.Verify(ctx, &storeSource{st: st, ls: st, tenant: "acme"}); err != nil || rep.OK() {
		t.Errorf("verify after an unannounced deletion: %v, %v; want a failure", rep.Summary(), err)
	}
}
