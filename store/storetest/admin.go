package storetest

import (
	"reflect"
	"testing"

	"github.com/hashtrail/hashtrail"
)

func testTenants(t *testing.T, s hashtrail.Store) {
	ctx := t.Context()
	if ts, err := s.Tenants(ctx); err != nil || len(ts) != 0 {
		t.Errorf("Tenants of an empty store = %v, %v", ts, err)
	}
	beta := &hashtrail.Tenant{ID: "beta", Name: "Beta Inc", CreatedAt: at(3)}
	alpha := &hashtrail.Tenant{ID: "alpha"}
	for _, tn := range []*hashtrail.Tenant{beta, alpha} {
		if err := s.CreateTenant(ctx, tn); err != nil {
			t.Fatalf("CreateTenant(%s): %v", tn.ID, err)
		}
	}
	if alpha.CreatedAt.IsZero() {
		t.Errorf("CreateTenant left CreatedAt zero")
	}
	wantCode(t, s.CreateTenant(ctx, &hashtrail.Tenant{ID: "beta"}), hashtrail.ECONFLICT, "CreateTenant of an existing tenant")
	got, err := s.Tenant(ctx, "beta")
	if err != nil || got.Name != "Beta Inc" || !got.CreatedAt.Equal(at(3).Time) || got.Size != 0 {
		t.Errorf("Tenant(beta) = %+v, %v", got, err)
	}
	_, err = s.Tenant(ctx, "gamma")
	wantCode(t, err, hashtrail.ENOTFOUND, "Tenant of an unknown tenant")
	appendEvents(t, s, newEvent("alpha", "e1"), newEvent("alpha", "e2"), newEvent("aardvark", "e1"))
	ts, err := s.Tenants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	sizes := map[string]int64{}
	for _, tn := range ts {
		ids = append(ids, tn.ID)
		sizes[tn.ID] = tn.Size
	}
	if !reflect.DeepEqual(ids, []string{"aardvark", "alpha", "beta"}) {
		t.Errorf("Tenants = %v, want ordered by id", ids)
	}
	if sizes["alpha"] != 2 || sizes["aardvark"] != 1 || sizes["beta"] != 0 {
		t.Errorf("Tenants sizes = %v", sizes)
	}
	if err := s.UpdateTenant(ctx, &hashtrail.Tenant{ID: "alpha", Name: "Alpha"}); err != nil {
		t.Fatalf("UpdateTenant: %v", err)
	}
	if got, err := s.Tenant(ctx, "alpha"); err != nil || got.Name != "Alpha" || got.Size != 2 || !got.CreatedAt.Equal(alpha.CreatedAt.Time) {
		t.Errorf("after UpdateTenant: %+v, %v", got, err)
	}
	wantCode(t, s.UpdateTenant(ctx, &hashtrail.Tenant{ID: "gamma", Name: "x"}), hashtrail.ENOTFOUND, "UpdateTenant of an unknown tenant")
}

func testDeleteTenant(t *testing.T, s hashtrail.Store) {
	ctx := t.Context()
	mustTenant(t, s, "empty")
	appendEvents(t, s, newEvent("full", "e1"))
	for _, k := range []*hashtrail.APIKey{
		{ID: "k-empty", Tenant: "empty", Role: hashtrail.RoleAdmin, Hash: []byte("h1"), CreatedAt: at(1)},
		{ID: "k-full", Tenant: "full", Role: hashtrail.RoleAdmin, Hash: []byte("h2"), CreatedAt: at(2)},
		{ID: "k-all", Tenant: hashtrail.AllTenants, Role: hashtrail.RoleAdmin, Hash: []byte("h3"), CreatedAt: at(3)},
	} {
		if err := s.CreateKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	wantCode(t, s.DeleteTenant(ctx, "full"), hashtrail.ECONFLICT, "DeleteTenant of a tenant with events")
	wantCode(t, s.DeleteTenant(ctx, "nobody"), hashtrail.ENOTFOUND, "DeleteTenant of an unknown tenant")
	if err := s.DeleteTenant(ctx, "empty"); err != nil {
		t.Fatalf("DeleteTenant(empty): %v", err)
	}
	_, err := s.Tenant(ctx, "empty")
	wantCode(t, err, hashtrail.ENOTFOUND, "Tenant after DeleteTenant")
	_, err = s.Key(ctx, "k-empty")
	wantCode(t, err, hashtrail.ENOTFOUND, "key of a deleted tenant")
	for _, id := range []string{"k-full", "k-all"} {
		if _, err := s.Key(ctx, id); err != nil {
			t.Errorf("Key(%s) after deleting another tenant: %v", id, err)
		}
	}
	// The id can be used again, with a fresh log that shares nothing.
	appendEvents(t, s, newEvent("empty", "e1"))
	wantSeqs(t, s, hashtrail.Query{Tenant: "empty"}, 0)
	wantSeqs(t, s, hashtrail.Query{Tenant: "full"}, 0)
}

func testKeys(t *testing.T, s hashtrail.Store) {
	ctx := t.Context()
	keys := []*hashtrail.APIKey{
		{ID: "k1", Tenant: "acme", Role: hashtrail.RoleIngest, Name: "ingest", Hint: "htk_abcdefgh…",
			Hash: hashtrail.HashKey("secret-1"), CreatedAt: at(1), CreatedBy: "bootstrap", ExpiresAt: at(1000)},
		{ID: "k2", Tenant: hashtrail.AllTenants, Role: hashtrail.RoleAdmin, Hint: "htk_x…",
			Hash: hashtrail.HashKey("secret-2"), CreatedAt: at(2), CreatedBy: "cli"},
		{ID: "k3", Tenant: "acme", Role: hashtrail.RoleRead, Hash: hashtrail.HashKey("secret-3"), CreatedAt: at(3),
			RevokedAt: at(4), LastUsedAt: at(5)},
		{ID: "k0", Tenant: "globex", Role: hashtrail.RoleRead, Hash: hashtrail.HashKey("secret-0"), CreatedAt: at(4)},
	}
	for _, k := range keys {
		if err := s.CreateKey(ctx, k); err != nil {
			t.Fatalf("CreateKey(%s): %v", k.ID, err)
		}
	}
	wantCode(t, s.CreateKey(ctx, &hashtrail.APIKey{ID: "k1", Tenant: "acme", Role: hashtrail.RoleRead,
		Hash: hashtrail.HashKey("other")}), hashtrail.ECONFLICT, "CreateKey with an existing id")
	wantCode(t, s.CreateKey(ctx, &hashtrail.APIKey{ID: "k9", Tenant: "acme", Role: hashtrail.RoleRead,
		Hash: hashtrail.HashKey("secret-1")}), hashtrail.ECONFLICT, "CreateKey with an existing hash")
	fresh := &hashtrail.APIKey{ID: "k5", Tenant: "acme", Role: hashtrail.RoleRead, Hash: hashtrail.HashKey("secret-5")}
	if err := s.CreateKey(ctx, fresh); err != nil || fresh.CreatedAt.IsZero() {
		t.Fatalf("CreateKey without CreatedAt: %v, CreatedAt %v", err, fresh.CreatedAt)
	}
	keys = append(keys, fresh)

	for _, k := range keys {
		got, err := s.KeyByHash(ctx, k.Hash)
		if err != nil || !reflect.DeepEqual(got, k) {
			t.Errorf("KeyByHash(%s) = %+v, %v; want %+v", k.ID, got, err, k)
		}
		if got, err := s.Key(ctx, k.ID); err != nil || !reflect.DeepEqual(got, k) {
			t.Errorf("Key(%s) = %+v, %v; want %+v", k.ID, got, err, k)
		}
	}
	_, err := s.KeyByHash(ctx, hashtrail.HashKey("unknown"))
	wantCode(t, err, hashtrail.ENOTFOUND, "KeyByHash of an unknown secret")
	_, err = s.Key(ctx, "nope")
	wantCode(t, err, hashtrail.ENOTFOUND, "Key of an unknown id")

	for tenant, want := range map[string][]string{
		"acme": {"k1", "k3", "k5"}, hashtrail.AllTenants: {"k2"}, "": {"k1", "k2", "k3", "k0", "k5"}, "nobody": {},
	} {
		got, err := s.Keys(ctx, tenant)
		if err != nil {
			t.Fatalf("Keys(%q): %v", tenant, err)
		}
		ids := []string{}
		for _, k := range got {
			ids = append(ids, k.ID)
		}
		if !reflect.DeepEqual(ids, want) {
			t.Errorf("Keys(%q) = %v, want %v (oldest first)", tenant, ids, want)
		}
	}
}

func testKeyUpdates(t *testing.T, s hashtrail.Store) {
	ctx := t.Context()
	k := &hashtrail.APIKey{ID: "k1", Tenant: "acme", Role: hashtrail.RoleAdmin, Hash: []byte("h"), CreatedAt: at(1)}
	if err := s.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchKey(ctx, "k1", at(10)); err != nil {
		t.Fatalf("TouchKey: %v", err)
	}
	if err := s.TouchKey(ctx, "k1", at(20)); err != nil {
		t.Fatalf("TouchKey: %v", err)
	}
	got, err := s.Key(ctx, "k1")
	if err != nil || !got.LastUsedAt.Equal(at(20).Time) || !got.RevokedAt.IsZero() {
		t.Errorf("after TouchKey: %+v, %v; want LastUsedAt %v", got, err, at(20))
	}
	if err := s.RevokeKey(ctx, "k1", at(30)); err != nil {
		t.Fatalf("RevokeKey: %v", err)
	}
	got, err = s.Key(ctx, "k1")
	if err != nil || !got.RevokedAt.Equal(at(30).Time) || got.Active(at(31)) {
		t.Errorf("after RevokeKey: %+v, %v; want RevokedAt %v", got, err, at(30))
	}
	wantCode(t, s.RevokeKey(ctx, "nope", at(1)), hashtrail.ENOTFOUND, "RevokeKey of an unknown key")
	wantCode(t, s.TouchKey(ctx, "nope", at(1)), hashtrail.ENOTFOUND, "TouchKey of an unknown key")
}

func testSettings(t *testing.T, s hashtrail.Store) {
	ctx := t.Context()
	_, err := s.Setting(ctx, "server_name")
	wantCode(t, err, hashtrail.ENOTFOUND, "Setting before InitSetting")
	if v, err := s.InitSetting(ctx, "server_name", "first.example"); err != nil || v != "first.example" {
		t.Errorf("InitSetting = %q, %v; want first.example", v, err)
	}
	if v, err := s.InitSetting(ctx, "server_name", "second.example"); err != nil || v != "first.example" {
		t.Errorf("second InitSetting = %q, %v; want the first value", v, err)
	}
	if v, err := s.Setting(ctx, "server_name"); err != nil || v != "first.example" {
		t.Errorf("Setting = %q, %v", v, err)
	}
	if v, err := s.InitSetting(ctx, "other", ""); err != nil || v != "" {
		t.Errorf("InitSetting(other, \"\") = %q, %v", v, err)
	}
}

func testPingAndSize(t *testing.T, s hashtrail.Store) {
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
	appendEvents(t, s, fullEvent("acme", "e1"))
	n, err := s.Size(t.Context())
	if err != nil || n <= 0 {
		t.Errorf("Size = %d, %v; want > 0", n, err)
	}
}
