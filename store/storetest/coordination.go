package storetest

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/hashtrail/hashtrail"
)

// testLeases checks the LeaseStore contract: one holder at a time, renewal
// by the holder, release, and takeover after expiry.
func testLeases(t *testing.T, s hashtrail.Store) {
	ctx := t.Context()
	const name = hashtrail.LeaseCheckpoint + "acme"
	if _, err := s.AcquireLease(ctx, name, "node-a", 0); hashtrail.ErrorCode(err) != hashtrail.EINVALID {
		t.Errorf("AcquireLease with ttl 0 = %v; want EINVALID", err)
	}
	mustLease(t, s, name, "node-a", time.Minute, true)
	mustLease(t, s, name, "node-b", time.Minute, false)
	mustLease(t, s, name, "node-a", time.Minute, true) // renewal
	mustLease(t, s, hashtrail.LeaseCheckpoint+"other", "node-b", time.Minute, true)

	if err := s.ReleaseLease(ctx, name, "node-b"); err != nil {
		t.Fatalf("ReleaseLease by a non-holder: %v", err)
	}
	mustLease(t, s, name, "node-b", time.Minute, false)
	if err := s.ReleaseLease(ctx, name, "node-a"); err != nil {
		t.Fatalf("ReleaseLease: %v", err)
	}
	mustLease(t, s, name, "node-b", time.Minute, true)

	// A lease nobody renews expires and another holder takes it.
	mustLease(t, s, hashtrail.LeaseUpkeep, "node-a", 50*time.Millisecond, true)
	mustLease(t, s, hashtrail.LeaseUpkeep, "node-b", time.Minute, false)
	time.Sleep(120 * time.Millisecond)
	mustLease(t, s, hashtrail.LeaseUpkeep, "node-b", time.Minute, true)
	mustLease(t, s, hashtrail.LeaseUpkeep, "node-a", time.Minute, false)
}

// testLeaseRace checks that of many holders racing for a free lease,
// exactly one gets it.
func testLeaseRace(t *testing.T, s hashtrail.Store) {
	const holders = 8
	var wg sync.WaitGroup
	got := make([]bool, holders)
	errs := make([]error, holders)
	for i := range holders {
		wg.Go(func() {
			got[i], errs[i] = s.AcquireLease(t.Context(), hashtrail.LeaseInstallationLog, string(rune('a'+i)), time.Minute)
		})
	}
	wg.Wait()
	n := 0
	for i := range holders {
		if errs[i] != nil {
			t.Errorf("holder %d: %v", i, errs[i])
		}
		if got[i] {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d holders got the lease; want exactly 1", n)
	}
}

func mustLease(t *testing.T, s hashtrail.Store, name, holder string, ttl time.Duration, want bool) {
	t.Helper()
	got, err := s.AcquireLease(t.Context(), name, holder, ttl)
	if err != nil {
		t.Fatalf("AcquireLease(%s, %s): %v", name, holder, err)
	}
	if got != want {
		t.Fatalf("AcquireLease(%s, %s) = %v; want %v", name, holder, got, want)
	}
}

// testTenantConfig checks the TenantConfigStore contract: versions,
// optimistic concurrency, tenant scoping and deletion with the tenant.
func testTenantConfig(t *testing.T, s hashtrail.Store) {
	ctx := t.Context()
	mustTenant(t, s, "acme")
	mustTenant(t, s, "globex")
	_, err := s.TenantConfig(ctx, "acme", hashtrail.ConfigCatalog)
	wantCode(t, err, hashtrail.ENOTFOUND, "TenantConfig before any Put")

	c := &hashtrail.TenantConfig{Tenant: "acme", Kind: hashtrail.ConfigCatalog,
		Value: json.RawMessage(`{"mode":"open"}`), UpdatedBy: "key_1"}
	if err := s.PutTenantConfig(ctx, c); err != nil {
		t.Fatalf("PutTenantConfig: %v", err)
	}
	if c.Version != 1 || c.UpdatedAt.IsZero() {
		t.Errorf("after the first Put: version %d, updated_at %v; want 1 and set", c.Version, c.UpdatedAt)
	}
	stale := &hashtrail.TenantConfig{Tenant: "acme", Kind: hashtrail.ConfigCatalog, Value: json.RawMessage(`{}`)}
	wantCode(t, s.PutTenantConfig(ctx, stale), hashtrail.ECONFLICT, "Put naming version 0 over version 1")

	next := &hashtrail.TenantConfig{Tenant: "acme", Kind: hashtrail.ConfigCatalog, Version: 1,
		Value: json.RawMessage(`{"mode":"strict"}`), UpdatedBy: "key_2"}
	if err := s.PutTenantConfig(ctx, next); err != nil || next.Version != 2 {
		t.Fatalf("second PutTenantConfig: version %d, %v; want 2", next.Version, err)
	}
	got, err := s.TenantConfig(ctx, "acme", hashtrail.ConfigCatalog)
	if err != nil {
		t.Fatalf("TenantConfig: %v", err)
	}
	if got.Version != 2 || got.UpdatedBy != "key_2" || got.Tenant != "acme" || got.Kind != hashtrail.ConfigCatalog ||
		!jsonEqual(got.Value, `{"mode":"strict"}`) || !got.UpdatedAt.Equal(next.UpdatedAt.Time) {
		t.Errorf("TenantConfig = %+v (value %s); want version 2 by key_2 with the strict mode", got, got.Value)
	}
	_, err = s.TenantConfig(ctx, "globex", hashtrail.ConfigCatalog)
	wantCode(t, err, hashtrail.ENOTFOUND, "another tenant's document")

	wantCode(t, s.PutTenantConfig(ctx, &hashtrail.TenantConfig{Tenant: "nobody", Kind: hashtrail.ConfigCatalog,
		Value: json.RawMessage(`{}`)}), hashtrail.ENOTFOUND, "Put for an unknown tenant")
	wantCode(t, s.PutTenantConfig(ctx, &hashtrail.TenantConfig{Tenant: "acme", Kind: "x",
		Value: json.RawMessage(`{`)}), hashtrail.EINVALID, "Put of a value that is not JSON")

	if err := s.DeleteTenantConfig(ctx, "acme", hashtrail.ConfigCatalog); err != nil {
		t.Fatalf("DeleteTenantConfig: %v", err)
	}
	_, err = s.TenantConfig(ctx, "acme", hashtrail.ConfigCatalog)
	wantCode(t, err, hashtrail.ENOTFOUND, "TenantConfig after Delete")
	if err := s.DeleteTenantConfig(ctx, "acme", hashtrail.ConfigCatalog); err != nil {
		t.Errorf("second DeleteTenantConfig: %v", err)
	}

	// Deleting the tenant deletes its documents: a tenant made again with
	// the same id starts without them.
	if err := s.PutTenantConfig(ctx, &hashtrail.TenantConfig{Tenant: "globex", Kind: hashtrail.ConfigCatalog,
		Value: json.RawMessage(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteTenant(ctx, "globex"); err != nil {
		t.Fatalf("DeleteTenant: %v", err)
	}
	mustTenant(t, s, "globex")
	_, err = s.TenantConfig(ctx, "globex", hashtrail.ConfigCatalog)
	wantCode(t, err, hashtrail.ENOTFOUND, "a document of a deleted tenant")
}

func jsonEqual(a json.RawMessage, b string) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	ja, _ := json.Marshal(x)
	jb, _ := json.Marshal(y)
	return string(ja) == string(jb)
}
