package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/client"
)

// TestTenantsDeleteWithFinalExport deletes a tenant with events through
// the API (final export as a bundle) and another offline (JSON Lines),
// checks each export, and verifies what remains of the installation.
func TestTenantsDeleteWithFinalExport(t *testing.T) {
	isolateEnv(t)
	clearEnv(t)
	dir := t.TempDir()
	srv := runServeCmd(t, "--data", dir)
	key := srv.bootstrapKey()
	c := &http.Client{Timeout: 10 * time.Second}
	for _, tenant := range []string{"acme", "globex", "initech"} {
		var evs []any
		for i := range 25 {
			evs = append(evs, map[string]any{"id": fmt.Sprintf("%s-%02d", tenant, i), "action": "user.login",
				"actor":   map[string]any{"type": "user", "id": fmt.Sprint(i), "email": fmt.Sprintf("%s%d@example.com", tenant, i)},
				"context": map[string]any{"ip": "203.0.113.7"}})
		}
		if st := callJSON(t, c, http.MethodPost, srv.url+"/v1/tenants/"+tenant+"/events", key, map[string]any{"events": evs}, nil); st != http.StatusOK {
			t.Fatalf("ingest %s: %d", tenant, st)
		}
	}
	_, lk := get(t, srv.url+"/v1/log/key", "")
	logKey := strings.TrimSpace(string(lk))
	api := []string{"--url", srv.url, "--api-key", key}

	_, _, err := cliErr(t, append([]string{"tenants", "delete", "acme"}, api...)...)
	if err == nil || !strings.Contains(err.Error(), "--final-export FILE") {
		t.Fatalf("delete without --final-export: %v", err)
	}
	var tn hashtrail.Tenant
	decode(t, cli(t, append([]string{"tenants", "show", "acme", "--json"}, api...)...), &tn)
	if tn.Suspended || tn.Size != 25 {
		t.Fatalf("a refused delete changed the tenant: %+v", tn)
	}
	if tn.StorageBytes <= 0 {
		t.Errorf("storage_bytes = %d", tn.StorageBytes)
	}

	bundle := filepath.Join(t.TempDir(), "acme-final.bundle")
	out := cli(t, append([]string{"tenants", "delete", "acme", "--final-export", bundle}, api...)...)
	mustContain(t, out, "deleted tenant acme")
	f, err := os.Open(bundle)
	if err != nil {
		t.Fatal(err)
	}
	b, err := client.ReadBundle(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Entries) < 25 || b.Entries[0].Event.Actor.Email != "acme0@example.com" {
		t.Errorf("the final bundle holds %d entries", len(b.Entries))
	}
	mustContain(t, cli(t, "verify", "--bundle", bundle, "--log-key", logKey), "OK")
	_, _, err = cliErr(t, append([]string{"tenants", "show", "acme"}, api...)...)
	if hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
		t.Errorf("show after delete: %v", err)
	}
	_, _, err = cliErr(t, append([]string{"tenants", "create", "acme"}, api...)...)
	if err == nil || !strings.Contains(err.Error(), "never used again") {
		t.Errorf("create with a deleted id: %v", err)
	}
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}

	// Offline, with a JSON Lines export.
	lines := filepath.Join(t.TempDir(), "globex.jsonl")
	out = cli(t, "tenants", "delete", "globex", "--data", dir, "--final-export", lines, "--format", "jsonl")
	mustContain(t, out, "deleted tenant globex")
	data, err := os.ReadFile(lines)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(data), "\n"); n < 25 || !strings.Contains(string(data), "globex24@example.com") {
		t.Errorf("the JSON Lines export holds %d lines", n)
	}
	mustContain(t, cli(t, "tenants", "list", "--data", dir), "initech")
	mustContain(t, cli(t, "tenants", "quota", "initech", "--storage", "1.5KiB", "--data", dir), "storage quota 1.5 KiB (")
	decode(t, cli(t, "tenants", "show", "initech", "--json", "--data", dir), &tn)
	if tn.StorageBytesLimit != 1536 || tn.StorageBytes <= 0 {
		t.Errorf("show after quota --storage: %+v", tn)
	}
	if strings.Contains(cli(t, "tenants", "list", "--data", dir), "globex") {
		t.Error("a deleted tenant is listed")
	}
	// What remains verifies: the other tenant and the installation's log,
	// which records both deletions.
	mustContain(t, cli(t, "verify", "--data", dir), "OK")
	out = cli(t, "events", "--data", dir, "--tenant", hashtrail.SystemTenant, "--action", "tenant.delete", "--json")
	if n := strings.Count(strings.TrimSpace(out), "\n") + 1; n != 2 || !strings.Contains(out, `"root_hash"`) {
		t.Errorf("tenant.delete events: %d\n%s", n, out)
	}
}

func TestParseByteSize(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "1048576": 1 << 20, "10GiB": 10 << 30, "500MB": 500e6, "1.5KiB": 1536, "2 TB": 2e12, "7B": 7} {
		if got, err := parseByteSize(in); err != nil || got != want {
			t.Errorf("parseByteSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "ten", "10XB", "1e30GiB"} {
		if _, err := parseByteSize(in); err == nil {
			t.Errorf("parseByteSize(%q) succeeded", in)
		}
	}
}
