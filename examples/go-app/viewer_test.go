package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/api"
)

// TestViewerPages checks the pages that embed the audit log viewer: each
// mints a viewer token for its own view, usable only from the app's origin,
// that reads a project's history (IP addresses and user agents hidden) or
// the signed-in user's own security history (with them), and nothing else.
func TestViewerPages(t *testing.T) {
	h := startHashtrail(t)
	ingest := h.ingestKey("acme")
	var vk map[string]any
	h.api("POST", "/v1/tenants/acme/keys", api.KeyRequest{Role: hashtrail.RoleAdmin, Name: "go-app viewer"}, &vk)
	a, err := open(t.Context(), config{
		DB:             filepath.Join(t.TempDir(), "app.db"),
		HashtrailURL:   h.url,
		HashtrailKey:   ingest,
		ViewerKey:      vk["secret"].(string),
		Tenant:         "acme",
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		BcryptCost:     bcrypt.MinCost,
		RelayPoll:      5 * time.Millisecond,
		Logger:         slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a)
	t.Cleanup(func() {
		srv.Close()
		a.Close(context.Background())
	})
	alice := newBrowser(t, a, srv.URL, "alice", "203.0.113.7", "Firefox/140.0 (alice)")
	bob := newBrowser(t, a, srv.URL, "bob", "198.51.100.9", "Safari/18.0 (bob)")
	alice.do("POST", "/signup", `{"email": "alice@example.com", "name": "Alice", "password": "correct horse"}`, 201)
	bob.do("POST", "/signup", `{"email": "bob@example.com", "name": "Bob", "password": "battery staple"}`, 201)
	alice.do("POST", "/login", `{"email": "alice@example.com", "password": "wrong"}`, 401)
	alice.do("POST", "/login", `{"email": "alice@example.com", "password": "correct horse"}`, 200)
	bob.do("POST", "/login", `{"email": "bob@example.com", "password": "battery staple"}`, 200)
	alice.do("POST", "/projects", `{"name": "Apollo"}`, 201)
	alice.do("PATCH", "/projects/1", `{"description": "to the moon"}`, 204)
	bob.do("POST", "/projects", `{"name": "Gemini"}`, 201)

	tokenRE := regexp.MustCompile(`<hashtrail-log token="(htv_[^"]+)" server="([^"]+)"`)
	page := func(b *browser, path string, status int) (token string) {
		t.Helper()
		resp, err := b.hc.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != status {
			t.Fatalf("GET %s: %d %s, want %d", path, resp.StatusCode, raw, status)
		}
		if status != 200 {
			return ""
		}
		m := tokenRE.FindStringSubmatch(string(raw))
		if m == nil || m[2] != h.url || !strings.Contains(string(raw), `<script src="`+h.url+`/ui/static/embed.js"`) {
			t.Fatalf("GET %s: no viewer in the page:\n%s", path, raw)
		}
		if resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: Cache-Control %q", path, resp.Header.Get("Cache-Control"))
		}
		return m[1]
	}
	// read lists the token's events as the embed does, from origin.
	read := func(token, origin string) ([]*hashtrail.Event, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", h.url+"/v1/tenants/acme/events?limit=100", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Origin", origin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var list api.EventList
		if resp.StatusCode != 200 || json.Unmarshal(raw, &list) != nil {
			t.Fatalf("events with a viewer token: %d %s", resp.StatusCode, raw)
		}
		return list.Events, resp.Header.Get("Access-Control-Allow-Origin")
	}

	// The project page: Apollo's history only, without addresses.
	tok := page(alice, "/projects/1/history", 200)
	evs, acao := read(tok, srv.URL)
	if acao != srv.URL {
		t.Errorf("the app's origin got Access-Control-Allow-Origin %q", acao)
	}
	if _, acao := read(tok, "https://evil.example"); acao != "" {
		t.Errorf("another origin got Access-Control-Allow-Origin %q", acao)
	}
	if got := actions(evs); strings.Join(got, " ") != "project.update project.create" {
		t.Errorf("project history: %v", got)
	}
	for _, e := range evs {
		if e.Context != nil && (e.Context.IP != "" || e.Context.UserAgent != "") {
			t.Errorf("project history shows %s's address or device: %+v", e.Action, e.Context)
		}
	}
	page(bob, "/projects/1/history", 404) // not his project
	page(newBrowser(t, a, srv.URL, "anon", "192.0.2.1", "curl"), "/projects/1/history", 401)

	// The security page: alice's own sign-ins, failed too, with addresses.
	tok = page(alice, "/me/security", 200)
	evs, _ = read(tok, srv.URL)
	if got := actions(evs); strings.Join(got, " ") != "user.login user.login_failed user.create" {
		t.Errorf("security history: %v", got)
	}
	for _, e := range evs {
		if e.ActorKey() != "user:1" {
			t.Errorf("alice's security history shows %s by %s", e.Action, e.ActorKey())
		}
		if e.Context == nil || e.Context.IP != "203.0.113.7" || e.Context.UserAgent != "Firefox/140.0 (alice)" {
			t.Errorf("alice's security history hides her own address or device: %+v", e.Context)
		}
	}
}
