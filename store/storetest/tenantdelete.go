package storetest

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/hashtrail/hashtrail"
)

// The conformance tests of hashtrail.TenantEraser (deleting a tenant with
// its events) and of Tenant.StorageBytes; Run and RunDurable run them.

func eraser(t *testing.T, s hashtrail.Store) hashtrail.TenantEraser {
	t.Helper()
	e, ok := s.(hashtrail.TenantEraser)
	if !ok {
		t.Fatalf("%T does not implement hashtrail.TenantEraser", s)
	}
	return e
}

func tenantOf(t testing.TB, s hashtrail.Store, id string) *hashtrail.Tenant {
	t.Helper()
	tn, err := s.Tenant(t.Context(), id)
	if err != nil {
		t.Fatalf("Tenant(%s): %v", id, err)
	}
	return tn
}

func mustDeleteData(t testing.TB, e hashtrail.TenantEraser, id string, limit int, wantN int64, wantDone bool) {
	t.Helper()
	n, done, err := e.DeleteTenantData(t.Context(), id, limit)
	if err != nil || n != wantN || done != wantDone {
		t.Fatalf("DeleteTenantData(%s, %d) = %d, %v, %v; want %d, %v", id, limit, n, done, err, wantN, wantDone)
	}
}

func testDeleteTenantWithEvents(t *testing.T, s hashtrail.Store) {
	ctx := t.Context()
	er := eraser(t, s)
	var acme, other []*hashtrail.Event
	for i := range 10 {
		acme = append(acme, purgeEvent("acme", i))
		other = append(other, purgeEvent("other", i))
	}
	appendEvents(t, s, append(slices.Clone(acme), other...)...)
	hashes := storedHashes(t, s, "acme", 10)
	otherBefore := tenantOf(t, s, "other")
	if err := s.CreateKey(ctx, &hashtrail.APIKey{ID: "k-acme", Tenant: "acme", Role: hashtrail.RoleAdmin, Hash: []byte("h-acme"), CreatedAt: at(1)}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutTenantConfig(ctx, &hashtrail.TenantConfig{Tenant: "acme", Kind: "quota", Value: json.RawMessage(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSink(ctx, &hashtrail.SinkConfig{ID: "sink-acme", Tenant: "acme", Type: "file", State: hashtrail.SinkActive, Settings: json.RawMessage(`{}`), CreatedAt: at(1), UpdatedAt: at(1)}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSetting(ctx, "purge_done/acme", "3"); err != nil {
		t.Fatal(err)
	}

	wantCode(t, er.BeginTenantDeletion(ctx, "acme", 9), hashtrail.ECONFLICT, "BeginTenantDeletion with the wrong size")
	wantCode(t, er.BeginTenantDeletion(ctx, "nobody", 0), hashtrail.ENOTFOUND, "BeginTenantDeletion of an unknown tenant")
	_, _, err := er.DeleteTenantData(ctx, "acme", 100)
	wantCode(t, err, hashtrail.ECONFLICT, "DeleteTenantData before BeginTenantDeletion")
	for range 2 { // idempotent
		if err := er.BeginTenantDeletion(ctx, "acme", 10); err != nil {
			t.Fatalf("BeginTenantDeletion: %v", err)
		}
	}
	if tn := tenantOf(t, s, "acme"); tn.State != hashtrail.TenantDeleting || tn.Size != 10 {
		t.Errorf("Tenant(acme) while deleting = %+v", tn)
	}
	ts, err := s.Tenants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tn := range ts {
		if tn.ID == "acme" {
			t.Errorf("Tenants lists a tenant being deleted")
		}
	}
	if ids, err := er.DeletingTenants(ctx); err != nil || !slices.Equal(ids, []string{"acme"}) {
		t.Errorf("DeletingTenants = %v, %v", ids, err)
	}
	// Appends to it fail, alone; the other groups of the call go in.
	late, more := group(purgeEvent("acme", 10)), group(purgeEvent("other", 10))
	if err := s.Append(ctx, []*hashtrail.AppendGroup{late, more}); err != nil {
		t.Fatalf("Append: %v", err)
	}
	wantCode(t, late.Err, hashtrail.ENOTFOUND, "an append to a tenant being deleted")
	if more.Err != nil {
		t.Errorf("the other tenant's group: %v", more.Err)
	}

	mustDeleteData(t, er, "acme", 3, 3, false)
	mustDeleteData(t, er, "acme", 1000, 7, true)
	mustDeleteData(t, er, "acme", 1000, 0, true) // again: nothing to do

	_, err = s.Tenant(ctx, "acme")
	wantCode(t, err, hashtrail.ENOTFOUND, "Tenant of a deleted tenant")
	wantCode(t, s.CreateTenant(ctx, &hashtrail.Tenant{ID: "acme"}), hashtrail.ECONFLICT, "CreateTenant with a deleted tenant's id")
	again := group(newEvent("acme", "again"))
	if err := s.Append(ctx, []*hashtrail.AppendGroup{again}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, again.Err, hashtrail.ENOTFOUND, "an append creating a deleted tenant again")
	if ids, err := er.DeletingTenants(ctx); err != nil || len(ids) != 0 {
		t.Errorf("DeletingTenants after = %v, %v", ids, err)
	}
	for _, e := range acme {
		if _, err := s.Event(ctx, "acme", e.ID); hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
			t.Errorf("Event(acme, %s) after deletion: %v", e.ID, err)
		}
	}
	if evs, err := s.Events(ctx, &hashtrail.Query{Tenant: "acme", Limit: 100}); err == nil && len(evs) > 0 {
		t.Errorf("Events(acme) after deletion = %d events", len(evs))
	}
	if keys, err := s.Keys(ctx, "acme"); err != nil || len(keys) != 0 {
		t.Errorf("Keys(acme) after deletion = %v, %v", keys, err)
	}
	if _, err := s.TenantConfig(ctx, "acme", "quota"); hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
		t.Errorf("TenantConfig(acme) after deletion: %v", err)
	}
	if _, err := s.Sink(ctx, "sink-acme"); hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
		t.Errorf("Sink(sink-acme) after deletion: %v", err)
	}
	if _, err := s.Setting(ctx, "purge_done/acme"); hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
		t.Errorf("Setting(purge_done/acme) after deletion: %v", err)
	}
	// What proves the log stays.
	if got := storedHashes(t, s, "acme", 10); !slices.Equal(got, hashes) {
		t.Errorf("the deleted tenant's tree hashes changed")
	}
	// The other tenant is untouched.
	wantSeqs(t, s, hashtrail.Query{Tenant: "other", Order: hashtrail.OrderAsc}, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
	if got := tenantOf(t, s, "other"); got.StorageBytes <= otherBefore.StorageBytes {
		t.Errorf("other's storage %d, before the late event %d", got.StorageBytes, otherBefore.StorageBytes)
	}
	for _, e := range other {
		got, err := s.Event(ctx, "other", e.ID)
		if err != nil {
			t.Fatalf("Event(other, %s): %v", e.ID, err)
		}
		if got.Actor == nil || got.Actor.Email == "" {
			t.Errorf("other's event %s lost its personal values", e.ID)
		}
	}
	checkTree(t, s, "other")
}

func testStorageBytes(t *testing.T, s hashtrail.Store) {
	ctx := t.Context()
	mustTenant(t, s, "empty")
	if tn := tenantOf(t, s, "empty"); tn.StorageBytes != 0 {
		t.Errorf("an empty tenant stores %d bytes", tn.StorageBytes)
	}
	// Every store measures alike (ingest.StoredBytes over the same body
	// encoding): this event is 260 bytes on each, so a quota means the
	// same whichever store an installation runs.
	e := &hashtrail.Event{ID: "fixed", Tenant: "fixed", Action: "user.login", Category: hashtrail.CategoryAuthentication,
		Severity: hashtrail.SeverityInfo, Outcome: hashtrail.OutcomeSuccess, Time: at(0), ReceivedAt: at(0),
		Actor:   &hashtrail.Actor{Type: hashtrail.ActorUser, ID: "1", Email: "a@b.example", Name: "Ann"},
		Context: &hashtrail.Context{IP: "203.0.113.1"}, Targets: []hashtrail.Target{{Type: "project", ID: "7"}},
		Tags: []string{"x"}, Metadata: []byte(`{"k":"v"}`)}
	appendEvents(t, s, e)
	if got := tenantOf(t, s, "fixed").StorageBytes; got != 260 {
		t.Errorf("the reference event stores %d bytes, want 260 as on every store", got)
	}
	var events []*hashtrail.Event
	for i := range 8 {
		events = append(events, purgeEvent("acme", i))
	}
	appendEvents(t, s, events[:4]...)
	first := tenantOf(t, s, "acme").StorageBytes
	if first <= 0 {
		t.Fatalf("after 4 events, StorageBytes = %d", first)
	}
	appendEvents(t, s, events[4:]...)
	second := tenantOf(t, s, "acme").StorageBytes
	if second <= first {
		t.Fatalf("after 8 events, StorageBytes = %d, after 4 %d", second, first)
	}
	// A replay stores nothing.
	appendEvents(t, s, events[0])
	if got := tenantOf(t, s, "acme").StorageBytes; got != second {
		t.Errorf("a replay changed StorageBytes from %d to %d", second, got)
	}
	// A purge frees exactly what the purged events took.
	mustPurge(t, s, "acme", 4, [2]int64{4, 7})
	if got := tenantOf(t, s, "acme").StorageBytes; got != first {
		t.Errorf("after purging the last 4 events, StorageBytes = %d, want %d", got, first)
	}
	// An erasure frees the erased values and salts.
	ss, ok := s.(hashtrail.SubjectStore)
	if !ok {
		t.Fatalf("%T does not implement hashtrail.SubjectStore", s)
	}
	roles, err := ss.SubjectRoles(ctx, "acme", "user:u1")
	if err != nil || len(roles) == 0 {
		t.Fatalf("SubjectRoles(user:u1) = %v, %v", roles, err)
	}
	if _, err := ss.ErasePersonal(ctx, "acme", roles); err != nil {
		t.Fatal(err)
	}
	if got := tenantOf(t, s, "acme").StorageBytes; got >= first {
		t.Errorf("after an erasure, StorageBytes = %d, before %d", got, first)
	}
	mustPurge(t, s, "acme", 4, [2]int64{0, 3})
	if got := tenantOf(t, s, "acme").StorageBytes; got != 0 {
		t.Errorf("after purging every event, StorageBytes = %d, want 0", got)
	}
	ts, err := s.Tenants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tn := range ts {
		if tn.ID == "acme" && tn.StorageBytes != 0 {
			t.Errorf("Tenants: acme stores %d bytes", tn.StorageBytes)
		}
	}
}

// runDurableTenantDeletion checks that a deletion stopped half-way (a
// crash) is still pending after a reopen and completes then.
func runDurableTenantDeletion(t *testing.T, open func(t *testing.T, dir string) hashtrail.Store) {
	t.Run("TenantDeletionResumes", func(t *testing.T) {
		dir := t.TempDir()
		ctx := t.Context()
		s := open(t, dir)
		var evs []*hashtrail.Event
		for i := range 600 {
			evs = append(evs, purgeEvent("acme", i))
		}
		appendEvents(t, s, append(evs, newEvent("beta", "b0"))...)
		er := eraser(t, s)
		if err := er.BeginTenantDeletion(ctx, "acme", 600); err != nil {
			t.Fatal(err)
		}
		mustDeleteData(t, er, "acme", 300, 300, false)
		closeStore(t, s)

		s = open(t, dir)
		defer closeStore(t, s)
		er = eraser(t, s)
		if ids, err := er.DeletingTenants(ctx); err != nil || !slices.Equal(ids, []string{"acme"}) {
			t.Fatalf("after reopen, DeletingTenants = %v, %v", ids, err)
		}
		mustDeleteData(t, er, "acme", 1000, 300, true)
		if _, err := s.Tenant(ctx, "acme"); hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
			t.Errorf("after the deletion, Tenant(acme): %v", err)
		}
		if _, err := s.Event(ctx, "beta", "b0"); err != nil {
			t.Errorf("Event(beta, b0): %v", err)
		}
	})
}
