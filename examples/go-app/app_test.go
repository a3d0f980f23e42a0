package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/api"
	"github.com/hashtrail/hashtrail/httpapi"
	"github.com/hashtrail/hashtrail/ledger"
	"github.com/hashtrail/hashtrail/store/sqlite"
)

// TestApp drives the app over HTTP as its users would, against a real
// Hashtrail server, and checks through Hashtrail's query API every event
// the app should have recorded, and nothing else.
func TestApp(t *testing.T) {
	h := startHashtrail(t)
	a, err := open(t.Context(), config{
		DB:             filepath.Join(t.TempDir(), "app.db"),
		HashtrailURL:   h.url,
		HashtrailKey:   h.ingestKey("acme"),
		Tenant:         "acme",
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, // the test's "reverse proxy"
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
		if err := a.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	alice := newBrowser(t, a, srv.URL, "alice", "203.0.113.7", "Firefox/140.0 (alice)")
	bob := newBrowser(t, a, srv.URL, "bob", "198.51.100.9", "Safari/18.0 (bob)")
	mallory := newBrowser(t, a, srv.URL, "mallory", "192.0.2.66", "curl/8.9")
	var want []expected

	// Sign-ups: the first user is the admin; each is the actor of their own.
	alice.do("POST", "/signup", `{"email": "alice@example.com", "name": "Alice", "password": "correct horse"}`, 201)
	want = append(want, alice.expect("user.create", "user:1"))
	bob.do("POST", "/signup", `{"email": "bob@example.com", "name": "Bob", "password": "battery staple"}`, 201)
	want = append(want, bob.expect("user.create", "user:2"))

	// Sign-ins, two of them failed.
	alice.do("POST", "/login", `{"email": "alice@example.com", "password": "wrong"}`, 401)
	wrongPassword := alice.expect("user.login_failed", "user:1")
	mallory.do("POST", "/login", `{"email": "root@example.com", "password": "admin"}`, 401)
	unknownUser := mallory.expect("user.login_failed", "email:root@example.com")
	alice.do("POST", "/login", `{"email": "alice@example.com", "password": "correct horse"}`, 200)
	signIn := alice.expect("user.login", "user:1")
	want = append(want, wrongPassword, unknownUser, signIn)
	bob.do("POST", "/login", `{"email": "bob@example.com", "password": "battery staple"}`, 200)
	want = append(want, bob.expect("user.login", "user:2"))

	// A project, changed (with a password that must never be recorded).
	alice.do("POST", "/projects", `{"name": "Apollo"}`, 201)
	want = append(want, alice.expect("project.create", "user:1"))
	alice.do("PATCH", "/projects/1", `{"description": "to the moon", "protected": true, "registry_password": "hunter2-registry"}`, 204)
	protect := alice.expect("project.update", "user:1")
	want = append(want, protect)

	// An API key, recorded synchronously: its seq comes back.
	key := alice.do("POST", "/projects/1/keys", `{"name": "ci"}`, 201)
	createKey := alice.expect("api_key.create", "user:1")
	want = append(want, createKey)

	// Deleting a protected project fails after its key was deleted and the
	// revocation written to the outbox: all of it rolls back, nothing is
	// recorded.
	alice.do("DELETE", "/projects/1", "", 409)
	failedDelete := alice.lastRequest

	// Roles and permissions (bob may not; then alice makes him an admin).
	bob.do("POST", "/roles/member/permissions", `{"permission": "project.delete"}`, 403)
	alice.do("PUT", "/users/2/role", `{"role": "admin"}`, 204)
	want = append(want, alice.expect("role.unassign", "user:1"), alice.expect("role.assign", "user:1"))
	bob.do("POST", "/roles/member/permissions", `{"permission": "project.delete"}`, 204)
	want = append(want, bob.expect("role.permission_grant", "user:2"))

	alice.do("POST", "/me/password", `{"current": "correct horse", "new": "correct horse battery"}`, 204)
	passwordChange := alice.expect("user.password_change", "user:1")
	want = append(want, passwordChange)

	// Unprotected, the project goes, and its key with it.
	alice.do("PATCH", "/projects/1", `{"protected": false}`, 204)
	want = append(want, alice.expect("project.update", "user:1"))
	alice.do("DELETE", "/projects/1", "", 204)
	want = append(want, alice.expect("api_key.revoke", "user:1"), alice.expect("project.delete", "user:1"))

	alice.do("POST", "/logout", "", 204)
	want = append(want, alice.expect("user.logout", "user:1"))

	// Every event, in order, each from its request.
	all := h.events("acme", nil)
	got := h.appEvents("acme", nil)
	if len(got) != len(want) {
		var wa []string
		for _, w := range want {
			wa = append(wa, w.action)
		}
		t.Fatalf("%d events %v, want %d %v", len(got), actions(got), len(want), wa)
	}
	for i, w := range want {
		w.check(t, got[i])
		if i > 0 && got[i].Seq <= got[i-1].Seq {
			t.Errorf("event %d: seq %d after %d", i, got[i].Seq, got[i-1].Seq)
		}
	}

	// What some of them say.
	byReq := func(w expected) *hashtrail.Event { return got[slices.Index(want, w)] }
	checkJSON(t, "the project's changes", byReq(protect).Changes, `[
		{"field": "description", "old": "", "new": "to the moon"},
		{"field": "protected", "old": false, "new": true},
		{"field": "registry_password", "redacted": true}]`)
	if ev := byReq(createKey); fmt.Sprint(ev.Seq) != fmt.Sprint(key["audit_seq"]) ||
		ev.Targets[0] != (hashtrail.Target{Type: "api_key", ID: key["id"].(string), Name: "ci"}) ||
		ev.Targets[1] != (hashtrail.Target{Type: "project", ID: "1", Name: "Apollo"}) {
		t.Errorf("api_key.create %+v, the app answered %v", ev, key)
	}
	if ev := byReq(wrongPassword); ev.Outcome != hashtrail.OutcomeFailure || ev.Error != "invalid_credentials" {
		t.Errorf("failed sign-in: %s %q", ev.Outcome, ev.Error)
	}
	if ev := byReq(unknownUser); ev.Error != "unknown_user" {
		t.Errorf("unknown user's sign-in: %q", ev.Error)
	}
	if ev := byReq(signIn); ev.Actor.Auth == nil || ev.Actor.Auth.Method != "password" || ev.Actor.Name != "Alice" {
		t.Errorf("sign-in actor %+v", ev.Actor)
	}
	checkJSON(t, "the password change", byReq(passwordChange).Changes, `[{"field": "password", "redacted": true}]`)

	// No secret reached Hashtrail, whatever the field.
	raw, _ := json.Marshal(all)
	for _, secret := range []string{"hunter2", "correct horse", "battery staple", key["key"].(string)} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("the log holds the secret %q", secret)
		}
	}

	// The query API's filters, as an auditor would use them.
	for _, q := range []struct {
		filter string
		want   []string
	}{
		{"action=user.*", []string{"user.create", "user.create", "user.login_failed", "user.login_failed",
			"user.login", "user.login", "user.password_change", "user.logout"}},
		{"actor=user:2", []string{"user.create", "user.login", "role.permission_grant"}},
		{"actor=root@example.com", []string{"user.login_failed"}},
		{"target=project:1", []string{"project.create", "project.update", "api_key.create", "project.update", "project.delete"}},
		{"outcome=failure", []string{"user.login_failed", "user.login_failed"}},
		{"ip=203.0.113.0/24&action=project.*", []string{"project.create", "project.update", "project.update", "project.delete"}},
		{"q=" + url.QueryEscape("action:api_key.* apollo"), []string{"api_key.create"}},
		{"action=api_key.revoke", []string{"api_key.revoke"}}, // once: the failed delete left nothing
	} {
		v, _ := url.ParseQuery(q.filter)
		if got := actions(h.appEvents("acme", v)); !slices.Equal(got, q.want) {
			t.Errorf("%s: %v, want %v", q.filter, got, q.want)
		}
	}
	for _, ev := range got {
		if ev.Context.RequestID == failedDelete {
			t.Errorf("the rolled-back delete recorded %s", ev.Action)
		}
	}
	if st := a.audit.Stats(); st.Failed != 0 || st.Dropped != 0 {
		t.Errorf("client stats %+v", st)
	}
}

// expected is an event the app should have recorded for a request.
type expected struct {
	action, actor     string // actor "user:<id>" or "email:<address>"
	requestID, ip, ua string
	method, path      string
}

func (w expected) check(t *testing.T, ev *hashtrail.Event) {
	t.Helper()
	if ev.Action != w.action {
		t.Errorf("event %d is %s, want %s", ev.Seq, ev.Action, w.action)
		return
	}
	actor := ""
	if ev.Actor != nil {
		actor = "user:" + ev.Actor.ID
		if ev.Actor.ID == "" {
			actor = "email:" + ev.Actor.Email
		}
	}
	c := ev.Context
	if actor != w.actor || c == nil || c.RequestID != w.requestID || c.IP != w.ip || c.UserAgent != w.ua ||
		c.Method != w.method || c.Path != w.path || c.Source != "web" {
		t.Errorf("%s (seq %d): actor %s, context %+v; want actor %s, %+v", ev.Action, ev.Seq, actor, c, w.actor, w)
	}
}

// browser is one user's HTTP client, behind a proxy that says where the
// user is (X-Forwarded-For).
type browser struct {
	t                   *testing.T
	a                   *app
	base, name, ip, ua  string
	hc                  *http.Client
	n                   int
	lastRequest         string
	lastMethod, lastURL string
}

func newBrowser(t *testing.T, a *app, base, name, ip, ua string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, a: a, base: base, name: name, ip: ip, ua: ua, hc: &http.Client{Jar: jar}}
}

// do sends a request, checks its status and returns its JSON answer, once
// every event it caused is in Hashtrail.
func (b *browser) do(method, path, body string, status int) map[string]any {
	b.t.Helper()
	b.n++
	b.lastRequest, b.lastMethod, b.lastURL = fmt.Sprintf("%s-%d", b.name, b.n), method, path
	req, _ := http.NewRequest(method, b.base+path, strings.NewReader(body))
	req.Header.Set("User-Agent", b.ua)
	req.Header.Set("X-Forwarded-For", b.ip)
	req.Header.Set("X-Request-Id", b.lastRequest)
	resp, err := b.hc.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		b.t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, raw, status)
	}
	b.settle()
	var out map[string]any
	if resp.Header.Get("Content-Type") == "application/json" {
		json.Unmarshal(raw, &out)
	}
	return out
}

// settle waits until the outbox is relayed and the client's queue sent, so
// that events reach Hashtrail in the order of the requests.
func (b *browser) settle() {
	b.t.Helper()
	ctx := b.t.Context()
	for {
		n, err := b.a.outbox.Pending(ctx)
		if err != nil {
			b.t.Fatal(err)
		}
		if n == 0 {
			break
		}
		// Relay alongside the app's relay (one of the two sends; the other
		// returns at once), so that a failure surfaces here.
		if _, err := b.a.outbox.Relay(ctx); err != nil {
			b.t.Fatalf("outbox relay: %v", err)
		}
		time.Sleep(time.Millisecond)
	}
	if err := b.a.audit.Flush(ctx); err != nil {
		b.t.Fatal(err)
	}
}

// expect is the event the last request should have recorded.
func (b *browser) expect(action, actor string) expected {
	return expected{action: action, actor: actor, requestID: b.lastRequest, ip: b.ip, ua: b.ua,
		method: b.lastMethod, path: b.lastURL}
}

func actions(evs []*hashtrail.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Action)
	}
	return out
}

func checkJSON(t *testing.T, what string, got any, want string) {
	t.Helper()
	var g, w any
	b, _ := json.Marshal(got)
	json.Unmarshal(b, &g)
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Errorf("%s: %s, want %s", what, gb, wb)
	}
}

// hashtrailServer is a real Hashtrail server (the ledger over SQLite behind
// the HTTP API) in this process.
type hashtrailServer struct {
	t   *testing.T
	url string
}

// adminKey is the server's bootstrap key: installation-wide admin.
const adminKey = "htk_go-app-example-bootstrap-0123456789"

func startHashtrail(t *testing.T) *hashtrailServer {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "hashtrail.db"), sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	l := ledger.New(st, ledger.Config{Logger: slog.New(slog.DiscardHandler)})
	if _, err := l.Bootstrap(t.Context(), adminKey); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(httpapi.New(l, httpapi.Config{}))
	t.Cleanup(func() {
		srv.Close()
		l.Close(context.Background())
		st.Close()
	})
	return &hashtrailServer{t: t, url: srv.URL}
}

// api calls the server with the admin key and decodes its answer into out.
func (h *hashtrailServer) api(method, path string, in, out any) {
	h.t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, h.url+path, body)
	req.Header.Set("Authorization", "Bearer "+adminKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		h.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		h.t.Fatal(err)
	}
}

// ingestKey creates tenant and returns a key that may only write its events,
// as the app should have.
func (h *hashtrailServer) ingestKey(tenant string) string {
	var tn, k map[string]any
	h.api("POST", "/v1/tenants", api.TenantRequest{ID: tenant}, &tn)
	h.api("POST", "/v1/tenants/"+tenant+"/keys", api.KeyRequest{Role: hashtrail.RoleIngest, Name: "go-app"}, &k)
	return k["secret"].(string)
}

// events lists a tenant's events matching filter, oldest first.
func (h *hashtrailServer) events(tenant string, filter url.Values) []*hashtrail.Event {
	q := url.Values{"order": {"asc"}, "limit": {"1000"}}
	for k, v := range filter {
		q[k] = v
	}
	var list api.EventList
	h.api("GET", "/v1/tenants/"+tenant+"/events?"+q.Encode(), nil, &list)
	if list.NextCursor != "" {
		h.t.Fatal("more than one page of events")
	}
	return list.Events
}

// appEvents are the events the app recorded (not the server's own, such as
// the creation of the app's key).
func (h *hashtrailServer) appEvents(tenant string, filter url.Values) []*hashtrail.Event {
	var out []*hashtrail.Event
	for _, e := range h.events(tenant, filter) {
		if e.Service != nil && e.Service.Name == "go-app" {
			out = append(out, e)
		}
	}
	return out
}
