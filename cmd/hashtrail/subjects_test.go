package main

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/hashtrail/hashtrail/checkpoint"
	"github.com/hashtrail/hashtrail/ledger"
	"github.com/hashtrail/hashtrail/store/sqlite"
)

// TestVerifyAfterErasure erases a subject with the engine on a served data
// directory, then runs `hashtrail verify --data`: it passes; personal values
// deleted without an announcement fail it.
func TestVerifyAfterErasure(t *testing.T) {
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
	led := ledger.New(st, ledger.Config{Signer: key, ServerName: id.ServerName, CheckpointInterval: 10 * time.Millisecond})
	ctx := t.Context()
	n, err := led.EraseSubject(ctx, tamperTenant, "u3@example.com")
	if err != nil || n != tamperEvents/5 {
		t.Fatalf("EraseSubject = %d, %v; want %d", n, err, tamperEvents/5)
	}
	if n, err := led.EraseSubject(ctx, tamperTenant, "user:3"); err != nil || n != 0 {
		t.Errorf("EraseSubject of the same person by id = %d, %v; want 0", n, err)
	}
	if err := led.Close(ctx); err != nil {
		t.Fatal(err)
	}
	st.Close()
	fx.wantOK(t, "--data", dir, "--log-key", fx.logKey, "--tenant", tamperTenant)

	// Personal values deleted without an announcement are tampering.
	st, err = sqlite.Open(t.Context(), filepath.Join(dir, "hashtrail.db"), sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	roles, err := st.SubjectRoles(ctx, tamperTenant, "user:99")
	if err != nil || len(roles) == 0 {
		t.Fatalf("SubjectRoles(user:99) = %v, %v", roles, err)
	}
	if _, err := st.ErasePersonal(ctx, tamperTenant, roles[:1]); err != nil {
		t.Fatal(err)
	}
	st.Close()
	fx.wantFailed(t, []string{"--data", dir, "--log-key", fx.logKey, "--tenant", tamperTenant}, "no signed system.subject_erased")
}
