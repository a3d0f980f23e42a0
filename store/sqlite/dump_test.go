package sqlite_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/merkle"
)

// TestDumper checks what the store lists for copying it elsewhere.
func TestDumper(t *testing.T) {
	s := MustOpen(t)
	defer s.Close()
	ctx := t.Context()
	var d hashtrail.Dumper = s
	if m, err := d.Settings(ctx); err != nil || len(m) != 0 {
		t.Fatalf("Settings of a new store = %v, %v", m, err)
	}
	if err := s.SetSetting(ctx, "server_name", "dump.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.InitSetting(ctx, "log_key_0", "k0"); err != nil {
		t.Fatal(err)
	}
	if m, err := d.Settings(ctx); err != nil || len(m) != 2 || m["server_name"] != "dump.test" || m["log_key_0"] != "k0" {
		t.Fatalf("Settings = %v, %v", m, err)
	}

	if err := s.CreateTenant(ctx, &hashtrail.Tenant{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateTenant(ctx, &hashtrail.Tenant{ID: "zeta"}); err != nil {
		t.Fatal(err)
	}
	now := hashtrail.NewTime(time.Now())
	var entries []*hashtrail.Entry
	for i := range 5 {
		entries = append(entries, &hashtrail.Entry{
			Event: &hashtrail.Event{ID: fmt.Sprintf("e%d", i), Tenant: "acme", Time: now, ReceivedAt: now,
				Action: "user.login", Category: hashtrail.CategoryAuthentication, Severity: hashtrail.SeverityInfo,
				Outcome: hashtrail.OutcomeSuccess},
			ContentHash: []byte{byte(i), 1, 2},
		})
	}
	if err := s.Append(ctx, []*hashtrail.AppendGroup{{Entries: entries}}); err != nil {
		t.Fatal(err)
	}
	hs, err := d.ContentHashes(ctx, "acme", 1, 4)
	if err != nil || len(hs) != 3 {
		t.Fatalf("ContentHashes(acme, 1, 4) = %v, %v", hs, err)
	}
	for seq := int64(1); seq < 4; seq++ {
		if !bytes.Equal(hs[seq], []byte{byte(seq), 1, 2}) {
			t.Errorf("content hash of seq %d = %x", seq, hs[seq])
		}
	}
	if hs, err := d.ContentHashes(ctx, "zeta", 0, 10); err != nil || len(hs) != 0 {
		t.Fatalf("ContentHashes of an empty log = %v, %v (another tenant's range leaked?)", hs, err)
	}
	if _, err := d.ContentHashes(ctx, "nope", 0, 10); hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
		t.Fatalf("ContentHashes of an unknown tenant: %v, want ENOTFOUND", err)
	}

	if cs, err := d.InstallationCheckpoints(ctx); err != nil || cs == nil || len(cs) != 0 {
		t.Fatalf("InstallationCheckpoints of a new store = %v, %v", cs, err)
	}
	var tree merkle.Tree
	var want []*hashtrail.InstallationEntry
	for i := range 3 {
		e := &hashtrail.InstallationEntry{Tenant: "acme", Size: int64(i + 1), Note: fmt.Appendf(nil, "dump.test/acme\n%d\nx\n\n— sig\n", i+1)}
		if err := s.AppendInstallation(ctx, int64(i), []*hashtrail.InstallationEntry{e}); err != nil {
			t.Fatal(err)
		}
		tree.AppendLeaf(e.Note)
		want = append(want, e)
	}
	got, err := d.InstallationEntries(ctx, 1, 10)
	if err != nil || len(got) != 2 || got[0].Size != 2 || !bytes.Equal(got[1].Note, want[2].Note) {
		t.Fatalf("InstallationEntries(1, 10) = %v, %v", got, err)
	}
	for _, size := range []int64{3, 1} {
		root, err := merkle.TreeHash(size, &tree)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.AddInstallationCheckpoint(ctx, &hashtrail.SignedCheckpoint{Size: size, Root: root, Note: fmt.Appendf(nil, "n%d", size)}); err != nil {
			t.Fatal(err)
		}
	}
	cs, err := d.InstallationCheckpoints(ctx)
	if err != nil || len(cs) != 2 || cs[0].Size != 1 || cs[1].Size != 3 || string(cs[1].Note) != "n3" || cs[1].CreatedAt.IsZero() {
		t.Fatalf("InstallationCheckpoints = %v, %v", cs, err)
	}

	if cs, err := d.TenantConfigs(ctx, "acme"); err != nil || len(cs) != 0 {
		t.Fatalf("TenantConfigs of a tenant without = %v, %v", cs, err)
	}
	c := &hashtrail.TenantConfig{Tenant: "acme", Kind: hashtrail.ConfigCatalog, Value: json.RawMessage(`{"a":1}`), UpdatedBy: "k1"}
	if err := s.PutTenantConfig(ctx, c); err != nil {
		t.Fatal(err)
	}
	c.Value = json.RawMessage(`{"a":2}`)
	if err := s.PutTenantConfig(ctx, c); err != nil {
		t.Fatal(err)
	}
	tc, err := d.TenantConfigs(ctx, "acme")
	if err != nil || len(tc) != 1 || tc[0].Version != 2 || string(tc[0].Value) != `{"a":2}` || tc[0].UpdatedBy != "k1" || tc[0].Kind != hashtrail.ConfigCatalog {
		t.Fatalf("TenantConfigs = %+v, %v", tc, err)
	}
}
