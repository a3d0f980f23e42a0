package ledger_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/ledger"
)

// waitDeleted waits until the store no longer shows tenant.
func waitDeleted(t *testing.T, st hashtrail.Store, tenant string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := st.Tenant(t.Context(), tenant)
		if hashtrail.ErrorCode(err) == hashtrail.ENOTFOUND {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("tenant %s is still there: %v", tenant, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func wantConflict(t *testing.T, err error, what string, parts ...string) {
	t.Helper()
	if hashtrail.ErrorCode(err) != hashtrail.ECONFLICT {
		t.Fatalf("%s: %v, want ECONFLICT", what, err)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("%s: %q does not say %q", what, err, p)
		}
	}
}

func TestDeleteTenantWithEvents(t *testing.T) {
	clock := &testClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l, st := MustOpenLog(t, ledger.Config{Now: clock.Now, CheckpointInterval: 10 * time.Millisecond, KeyCacheTTL: time.Millisecond})
	ctx := t.Context()
	inst := as(ctx, hashtrail.AllTenants, hashtrail.RoleAdmin)
	for _, id := range []string{"acme", "other"} {
		if _, err := l.CreateTenant(inst, &hashtrail.Tenant{ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	events(t, ctx, l, "acme", 0, 30)
	events(t, ctx, l, "other", 0, 5)
	size := func() int64 {
		tn, err := st.Tenant(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		return tn.Size
	}

	_, err := l.DeleteTenantLog(as(ctx, "acme", hashtrail.RoleAdmin), "acme", size())
	if hashtrail.ErrorCode(err) != hashtrail.EFORBIDDEN {
		t.Errorf("a tenant admin deleting its tenant: %v, want EFORBIDDEN", err)
	}
	wantConflict(t, l.DeleteTenant(inst, "acme"), "DeleteTenant of a tenant with events", "events=delete&size=")
	_, err = l.DeleteTenantLog(inst, "acme", size())
	wantConflict(t, err, "deleting an active tenant", "not suspended")
	if _, err := l.SuspendTenant(inst, "acme", true, "offboarding"); err != nil {
		t.Fatal(err)
	}
	n := size()
	_, err = l.DeleteTenantLog(inst, "acme", n-1)
	wantConflict(t, err, "a stale size", fmt.Sprintf("has %d events", n), fmt.Sprintf("size=%d", n))

	// A legal hold wins.
	hold, err := l.AddHold(inst, "acme", &hashtrail.LegalHold{Filter: "actor:user:3", Reason: "case 12"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = l.DeleteTenantLog(inst, "acme", size())
	wantConflict(t, err, "a tenant under legal hold", hold.ID, "case 12")
	if err := l.RemoveHold(inst, "acme", hold.ID); err != nil {
		t.Fatal(err)
	}
	// So does a locked compliance floor, until the newest event is past it.
	if _, err := l.PutRetentionFloor(inst, &hashtrail.RetentionFloor{Keep: ptrKeep("12mo"), Locked: true, Reason: "PCI DSS 10.5.1"}); err != nil {
		t.Fatal(err)
	}
	_, err = l.DeleteTenantLog(inst, "acme", size())
	wantConflict(t, err, "a tenant within the floor", "can be deleted from 2027-01-01")
	clock.Add(366 * 24 * time.Hour)

	n = size()
	rec, err := l.DeleteTenantLog(inst, "acme", n)
	if err != nil {
		t.Fatal(err)
	}
	if rec.State != hashtrail.TenantDeleting || rec.Size != n || len(rec.RootHash) != 64 {
		t.Errorf("DeleteTenantLog = %+v", rec)
	}
	waitDeleted(t, st, "acme")

	// The installation's log records it, with the final size and root.
	list, err := l.Events(inst, &hashtrail.Query{Tenant: hashtrail.SystemTenant, Actions: []string{"tenant.delete"}, Limit: 10})
	if err != nil || len(list.Events) != 1 {
		t.Fatalf("tenant.delete events: %+v, %v", list, err)
	}
	var meta struct {
		Size     int64  `json:"size"`
		RootHash string `json:"root_hash"`
	}
	if err := json.Unmarshal(list.Events[0].Metadata, &meta); err != nil || meta.Size != n || meta.RootHash != rec.RootHash {
		t.Errorf("tenant.delete metadata %s, want size %d root %s", list.Events[0].Metadata, n, rec.RootHash)
	}
	// Writes fail; the id is never used again.
	if _, err := ingest(t, as(ctx, hashtrail.AllTenants, hashtrail.RoleIngest), l, "acme", `{"action":"user.login"}`); err == nil {
		t.Errorf("an event was written to a deleted tenant")
	}
	_, err = l.CreateTenant(inst, &hashtrail.Tenant{ID: "acme"})
	wantConflict(t, err, "CreateTenant with a deleted id", "never used again")
	// What remains verifies.
	for _, tn := range []string{"other", hashtrail.SystemTenant} {
		if rep := verifyStore(t, st, tn); !rep.OK() {
			t.Errorf("verify %s after the deletion: %+v", tn, rep)
		}
	}
	if tn, err := l.Tenant(inst, "other"); err != nil || tn.Size != 5 {
		t.Errorf("the other tenant: %+v, %v", tn, err)
	}
}

// TestTenantDeletionResumes: a node that stopped half-way through a
// deletion (a crash) leaves the tenant "deleting"; the next start finishes
// it and records tenant.delete if the crash came before the record.
func TestTenantDeletionResumes(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "hashtrail.db")
	cfg := ledger.Config{Signer: testKey("a"), ServerName: testServerName, CheckpointInterval: 10 * time.Millisecond}
	st := openStore(t, path)
	if _, err := ledger.SetupLog(t.Context(), st, ledger.LogSetup{ServerName: cfg.ServerName, Signer: cfg.Signer}); err != nil {
		t.Fatal(err)
	}
	l := ledger.New(st, cfg)
	ctx := t.Context()
	inst := as(ctx, hashtrail.AllTenants, hashtrail.RoleAdmin)
	for _, id := range []string{"acme", "other"} {
		if _, err := l.CreateTenant(inst, &hashtrail.Tenant{ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	events(t, ctx, l, "acme", 0, 700)
	events(t, ctx, l, "other", 0, 3)
	waitCheckpointSize(t, st, "acme", 700)
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// The crash: deletion begun, a part of the data deleted, no record.
	if err := st.BeginTenantDeletion(ctx, "acme", 700); err != nil {
		t.Fatal(err)
	}
	if n, done, err := st.DeleteTenantData(ctx, "acme", 300); err != nil || n != 300 || done {
		t.Fatalf("DeleteTenantData = %d, %v, %v", n, done, err)
	}
	l = ledger.New(st, cfg)
	defer l.Close(context.Background())
	waitDeleted(t, st, "acme")
	list, err := l.Events(inst, &hashtrail.Query{Tenant: hashtrail.SystemTenant, Actions: []string{"tenant.delete"}, Limit: 10})
	if err != nil || len(list.Events) != 1 || list.Events[0].Targets[0].ID != "acme" {
		t.Fatalf("tenant.delete events after the resumed deletion: %+v, %v", list, err)
	}
	if rep := verifyStore(t, st, "other"); !rep.OK() {
		t.Errorf("verify other: %+v", rep)
	}
}

func waitCheckpointSize(t *testing.T, st hashtrail.Store, tenant string, size int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		cp, err := st.LatestCheckpoint(t.Context(), tenant)
		if err == nil && cp.Size >= size {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint of %s at size %d: %+v, %v", tenant, size, cp, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestStorageQuota(t *testing.T) {
	clock := &testClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l, _ := MustOpenLog(t, ledger.Config{Now: clock.Now, KeyCacheTTL: time.Millisecond, CheckpointInterval: 10 * time.Millisecond})
	ctx := t.Context()
	inst := as(ctx, hashtrail.AllTenants, hashtrail.RoleAdmin)
	if _, err := l.CreateTenant(inst, &hashtrail.Tenant{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	events(t, ctx, l, "acme", 0, 10)
	tn, err := l.Tenant(inst, "acme")
	if err != nil || tn.StorageBytes <= 0 {
		t.Fatalf("Tenant: %+v, %v", tn, err)
	}
	if _, err := l.SetTenantStorageQuota(as(ctx, "acme", hashtrail.RoleAdmin), "acme", 1); hashtrail.ErrorCode(err) != hashtrail.EFORBIDDEN {
		t.Errorf("a tenant admin set its storage quota: %v", err)
	}
	if _, err := l.SetTenantStorageQuota(inst, "acme", -1); hashtrail.ErrorCode(err) != hashtrail.EINVALID {
		t.Errorf("a negative quota: %v", err)
	}
	// The events-a-day quota and the storage quota live side by side.
	if _, err := l.SetTenantQuota(inst, "acme", 1000); err != nil {
		t.Fatal(err)
	}
	tn, err = l.SetTenantStorageQuota(inst, "acme", tn.StorageBytes+1)
	if err != nil || tn.StorageBytesLimit != tn.StorageBytes+1 || tn.EventsPerDay != 1000 {
		t.Fatalf("SetTenantStorageQuota: %+v, %v", tn, err)
	}
	if tn, err = l.SetTenantQuota(inst, "acme", 2000); err != nil || tn.StorageBytesLimit == 0 {
		t.Fatalf("SetTenantQuota dropped the storage quota: %+v, %v", tn, err)
	}
	// The metrics read the store at each scrape.
	reg := prometheus.NewRegistry()
	reg.MustRegister(l.Collectors()...)
	gauge := func(name string) float64 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				if mf.GetName() == name && len(m.GetLabel()) == 1 && m.GetLabel()[0].GetValue() == "acme" {
					return m.GetGauge().GetValue()
				}
			}
		}
		return -1
	}
	if got := gauge("hashtrail_tenant_storage_bytes"); got != float64(tn.StorageBytes) {
		t.Errorf("hashtrail_tenant_storage_bytes{tenant=acme} = %v, want %d", got, tn.StorageBytes)
	}
	if got := gauge("hashtrail_tenant_storage_bytes_limit"); got != float64(tn.StorageBytesLimit) {
		t.Errorf("hashtrail_tenant_storage_bytes_limit{tenant=acme} = %v, want %d", got, tn.StorageBytesLimit)
	}
	w := as(ctx, "acme", hashtrail.RoleIngest)
	ev := `{"action":"user.login","actor":{"type":"user","id":"1"}}`
	if _, err := ingest(t, w, l, "acme", ev); err != nil {
		t.Fatalf("below the quota: %v", err)
	}
	clock.Add(time.Second) // past KeyCacheTTL
	_, err = ingest(t, w, l, "acme", ev)
	if hashtrail.ErrorCode(err) != hashtrail.EQUOTA || !strings.Contains(err.Error(), "storage quota of") {
		t.Fatalf("past the quota: %v, want EQUOTA naming the quota", err)
	}
	// A purge frees quota: keep user.login 1 day, and let two pass.
	stored := mustTenant(t, l, inst, "acme").StorageBytes
	if _, err := l.PutRetention(inst, "acme", &hashtrail.RetentionPolicy{Rules: []hashtrail.RetentionRule{{Action: "user.login", Keep: hashtrail.MustKeep("1d")}}}); err != nil {
		t.Fatal(err)
	}
	clock.Add(48 * time.Hour)
	if n, err := l.Purge(ctx, "acme"); err != nil || n != 11 {
		t.Fatalf("Purge = %d, %v; want the 11 logins", n, err)
	}
	if got := mustTenant(t, l, inst, "acme").StorageBytes; got >= stored {
		t.Fatalf("after a purge, %d bytes stored, before %d", got, stored)
	}
	clock.Add(time.Second)
	if _, err := ingest(t, w, l, "acme", ev); err != nil {
		t.Fatalf("after a purge freed space: %v", err)
	}
	if _, err := l.SetTenantStorageQuota(inst, "acme", 0); err != nil {
		t.Fatal(err)
	}
}

func mustTenant(t *testing.T, l *ledger.Ledger, ctx context.Context, id string) *hashtrail.Tenant {
	t.Helper()
	tn, err := l.Tenant(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return tn
}
