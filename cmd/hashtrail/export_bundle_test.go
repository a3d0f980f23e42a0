package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashtrail/hashtrail/client"
)

// TestServerBundleVerifiesOffline fetches an evidence bundle from the API
// (GET .../export?format=bundle), after an erasure, and checks it with
// `hashtrail verify --bundle` and the client's reader: the filtered events
// with their leaves and proofs against the checkpoint, plus the erasure
// announcement they need. An edited bundle fails.
func TestServerBundleVerifiesOffline(t *testing.T) {
	isolateEnv(t)
	srv := runServeCmd(t, "--data", t.TempDir())
	key := srv.bootstrapKey()
	c := &http.Client{Timeout: 10 * time.Second}
	var evs []any
	for i := range 12 {
		evs = append(evs, map[string]any{"id": fmt.Sprintf("ev-%02d", i), "action": "user.login",
			"actor":   map[string]any{"type": "user", "id": fmt.Sprint(i % 3), "email": fmt.Sprintf("u%d@example.com", i%3)},
			"context": map[string]any{"ip": "203.0.113.7"}})
	}
	if st := callJSON(t, c, http.MethodPost, srv.url+"/v1/tenants/acme/events", key, map[string]any{"events": evs}, nil); st != http.StatusOK {
		t.Fatalf("ingest: %d", st)
	}
	if st := callJSON(t, c, http.MethodPost, srv.url+"/v1/tenants/acme/subjects/user:2/erase", key, map[string]any{}, nil); st != http.StatusOK {
		t.Fatalf("erase: %d", st)
	}
	_, lk := get(t, srv.url+"/v1/log/key", "")
	logKey := strings.TrimSpace(string(lk))
	var body []byte
	deadline := time.Now().Add(20 * time.Second)
	for {
		var code int
		code, body = get(t, srv.url+"/v1/tenants/acme/export?format=bundle&actor=user:2", key)
		if code != http.StatusOK {
			t.Fatalf("bundle: %d %s", code, body)
		}
		b, err := client.ReadBundle(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("the client cannot read the bundle: %v\n%.500s", err, body)
		}
		// Wait for a checkpoint that covers the erasure announcement.
		if len(b.Entries) == 5 {
			if b.Entries[4].Event.Action != client.ActionSubjectErased || b.Tenant != "acme" || b.Query != "actor=user:2" {
				t.Fatalf("entries: last %+v, query %q", b.Entries[4].Event, b.Query)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bundle entries: %d, want 4 events and the announcement", len(b.Entries))
		}
		time.Sleep(100 * time.Millisecond)
	}
	file := filepath.Join(t.TempDir(), "acme.bundle.json")
	if err := os.WriteFile(file, body, 0o600); err != nil {
		t.Fatal(err)
	}
	out := cli(t, "verify", "--bundle", file, "--log-key", logKey)
	mustContain(t, out, "redacted")

	// One event edited: verification fails.
	bad := bytes.Replace(body, []byte(`"action":"user.login"`), []byte(`"action":"user.logout"`), 1)
	if err := os.WriteFile(file, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cliErr(t, "verify", "--bundle", file, "--log-key", logKey); err == nil {
		t.Error("an edited bundle verified")
	}
	// personal_fields only with format=bundle.
	if code, _ := get(t, srv.url+"/v1/tenants/acme/export?format=jsonl&personal_fields=email", key); code != http.StatusBadRequest {
		t.Errorf("personal_fields with jsonl: %d", code)
	}
}
