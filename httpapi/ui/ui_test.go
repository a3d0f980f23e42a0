package ui_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/checkpoint"
	"github.com/hashtrail/hashtrail/httpapi"
	"github.com/hashtrail/hashtrail/httpapi/ui"
	"github.com/hashtrail/hashtrail/ledger"
	"github.com/hashtrail/hashtrail/store/sqlite"
)

// env is a real engine on SQLite with two tenants of events, behind the
// API server with the UI mounted, as `hashtrail serve` runs it.
type env struct {
	t     testing.TB
	srv   *httptest.Server
	led   *ledger.Ledger
	clock *atomic.Int64
	// Secrets of every kind of credential.
	acmeAdmin, acmeRead, acmeIngest, globexAdmin, install string
	viewer                                                string
	ui                                                    *ui.Handler
}

func (e *env) now() time.Time { return time.UnixMicro(e.clock.Load()) }

func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "h.db"), sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, clock: &atomic.Int64{}}
	e.clock.Store(time.Now().UnixMicro())
	signer, err := checkpoint.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := ledger.SetupLog(ctx, st, ledger.LogSetup{ServerName: "ui.example", Signer: signer}); err != nil {
		t.Fatal(err)
	}
	e.led = ledger.New(st, ledger.Config{Now: e.now, KeyCacheTTL: time.Millisecond, Signer: signer, ServerName: "ui.example",
		CheckpointInterval: 20 * time.Millisecond})
	t.Cleanup(func() { e.led.Close(context.Background()); st.Close() })
	for _, id := range []string{"acme", "globex"} {
		if _, err := e.led.CreateTenant(ctx, &hashtrail.Tenant{ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	e.ingest("acme", acmeEvents)
	e.ingest("globex", `[{"id":"g1","action":"user.login","actor":{"type":"user","id":"9","email":"gina@globex.example"}}]`)
	key := func(tenant string, role hashtrail.Role) string {
		k, err := e.led.CreateKey(ctx, &hashtrail.KeyRequest{Tenant: tenant, Role: role, Name: "test " + string(role)})
		if err != nil {
			t.Fatal(err)
		}
		return k.Secret
	}
	e.acmeAdmin, e.acmeRead, e.acmeIngest = key("acme", hashtrail.RoleAdmin), key("acme", hashtrail.RoleRead), key("acme", hashtrail.RoleIngest)
	e.globexAdmin, e.install = key("globex", hashtrail.RoleAdmin), key(hashtrail.AllTenants, hashtrail.RoleAdmin)
	vt, err := e.led.CreateViewerToken(ctx, &hashtrail.ViewerTokenRequest{Tenant: "acme", Filter: "target:project:7", ExpiresIn: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	e.viewer = vt.Token
	h, err := ui.New(e.led, ui.Config{Now: e.now, SessionTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	e.ui = h
	e.srv = httptest.NewServer(httpapi.New(e.led, httpapi.Config{UI: h, Now: e.now}))
	t.Cleanup(e.srv.Close)
	for deadline := time.Now().Add(10 * time.Second); ; { // proofs need a checkpoint
		if cp, err := e.led.Checkpoint(ctx, "acme"); err == nil && cp.Size >= 4 {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("no checkpoint: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return e
}

// acmeEvents: a sign-in from Germany, a failure, a role change in a
// project, a deploy with command output, a secret change.
const acmeEvents = `[
 {"id":"e1","action":"user.login","actor":{"type":"user","id":"42","name":"Alice","email":"alice@example.com","auth":{"method":"password+totp"}},
  "context":{"ip":"203.0.113.7","user_agent":"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0","location":{"country":"DE","city":"Berlin"}}},
 {"id":"e2","action":"user.login_failed","outcome":"failure","error":"invalid password","actor":{"type":"user","id":"42","email":"alice@example.com"},
  "context":{"ip":"198.51.100.9","location":{"country":"BR"}}},
 {"id":"e3","action":"role.assign","severity":"high","actor":{"type":"user","id":"42","email":"alice@example.com"},
  "targets":[{"type":"user","id":"7","name":"bob"},{"type":"role","id":"admin"},{"type":"project","id":"7","name":"Payments"}],
  "changes":[{"field":"role","old":"viewer","new":"admin"}],"context":{"ip":"203.0.113.7"}},
 {"id":"e4","action":"app.deploy","actor":{"type":"api_key","id":"ak_1","name":"CI"},"targets":[{"type":"app","id":"checkout"},{"type":"project","id":"7"}],
  "output":{"command":"dokku git:sync checkout","exit_code":0,"stdout":"-----> Application deployed"}},
 {"id":"e5","action":"app.env_var_change","actor":{"type":"user","id":"42"},"targets":[{"type":"app","id":"checkout"},{"type":"env_var","id":"DATABASE_URL"}],
  "changes":[{"field":"DATABASE_URL","redacted":true}]}
]`

func (e *env) ingest(tenant, batch string) {
	e.t.Helper()
	var raws []json.RawMessage
	if err := json.Unmarshal([]byte(batch), &raws); err != nil {
		e.t.Fatal(err)
	}
	var subs []*hashtrail.Submission
	for i, raw := range raws {
		sub, errs := hashtrail.DecodeEvent(raw, "", hashtrail.DecodeOptions{PathTenant: tenant}, hashtrail.NewTime(e.now()))
		if errs != nil {
			e.t.Fatal(errs)
		}
		sub.Index = i
		subs = append(subs, sub)
	}
	if _, err := e.led.Ingest(e.t.Context(), &hashtrail.IngestRequest{Tenant: tenant, Submissions: subs}); err != nil {
		e.t.Fatal(err)
	}
}

// browser is a client with a cookie jar that does not follow redirects.
type browser struct {
	e *env
	c *http.Client
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	status int
	header http.Header
	body   string
}

func (b *browser) get(path string) page {
	b.e.t.Helper()
	res, err := b.c.Get(b.e.srv.URL + path)
	if err != nil {
		b.e.t.Fatal(err)
	}
	return read(b.e.t, res)
}

func (b *browser) post(path string, form url.Values) page {
	b.e.t.Helper()
	req, _ := http.NewRequest("POST", b.e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.e.srv.URL)
	res, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	return read(b.e.t, res)
}

func read(t testing.TB, res *http.Response) page {
	t.Helper()
	defer res.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := res.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return page{status: res.StatusCode, header: res.Header, body: sb.String()}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf returns the CSRF token of a page's first form.
func (p page) csrf(t testing.TB) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no CSRF token in the page:\n%.500s", p.body)
	}
	return m[1]
}

// signIn signs in with secret and returns the session's CSRF token.
func (b *browser) signIn(secret string) string {
	t := b.e.t
	t.Helper()
	form := b.get("/ui/signin?next=/ui/t/acme/")
	p := b.post("/ui/signin", url.Values{"csrf": {form.csrf(t)}, "credential": {secret}, "next": {"/ui/"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("sign-in: %d\n%.800s", p.status, p.body)
	}
	home := b.get("/ui/tenants")
	if home.status != 200 {
		t.Fatalf("after sign-in: %d", home.status)
	}
	return home.csrf(t)
}

func TestSignInAndOut(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	if p := b.get("/ui/t/acme/"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/ui/signin?next=%2Fui%2Ft%2Facme%2F") {
		t.Fatalf("signed out: %d %s", p.status, p.header.Get("Location"))
	}
	form := b.get("/ui/signin")
	// The sign-in form's token must come back with the form.
	if p := b.post("/ui/signin", url.Values{"csrf": {"forged"}, "credential": {e.acmeAdmin}}); p.status != http.StatusForbidden {
		t.Fatalf("sign-in with a bad CSRF token: %d", p.status)
	}
	if p := b.post("/ui/signin", url.Values{"csrf": {form.csrf(t)}, "credential": {"htk_wrong-wrong-wrong-wrong-wrong-wrong"}}); p.status != http.StatusUnauthorized || strings.Contains(p.body, "htk_wrong") {
		t.Fatalf("a wrong key: %d, or the secret was rendered back", p.status)
	}
	if p := b.post("/ui/signin", url.Values{"csrf": {form.csrf(t)}, "credential": {e.acmeIngest}}); p.status != http.StatusUnauthorized || !strings.Contains(p.body, "ingest key") {
		t.Fatalf("an ingest key: %d", p.status)
	}
	p := b.post("/ui/signin", url.Values{"csrf": {form.csrf(t)}, "credential": {e.acmeAdmin}, "next": {"/ui/t/acme/dashboard"}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/ui/t/acme/dashboard" {
		t.Fatalf("sign-in: %d %s", p.status, p.header.Get("Location"))
	}
	var cookie string
	for _, c := range p.header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "ht_session=") {
			cookie = c
		}
	}
	for _, attr := range []string{"HttpOnly", "SameSite=Lax", "Path=/ui/", "Max-Age=3600"} {
		if !strings.Contains(cookie, attr) {
			t.Errorf("session cookie %q lacks %s", cookie, attr)
		}
	}
	if strings.Contains(cookie, e.acmeAdmin) || strings.Contains(cookie, strings.TrimPrefix(e.acmeAdmin, "htk_")) {
		t.Fatal("the session cookie holds the secret in the clear")
	}
	feed := b.get("/ui/t/acme/")
	if feed.status != 200 || strings.Contains(feed.body, e.acmeAdmin) {
		t.Fatalf("feed: %d (or the secret is in the page)", feed.status)
	}
	if !strings.Contains(feed.body, `<a href="/ui/t/acme/people/user:42">Alice</a> signed in with password&#43;totp from Berlin, DE`) {
		t.Errorf("the feed lacks the sign-in sentence")
	}
	// Signing out needs the session's CSRF token.
	if p := b.post("/ui/signout", url.Values{"csrf": {"nope"}}); p.status != http.StatusForbidden {
		t.Fatalf("sign-out without the token: %d", p.status)
	}
	if p := b.post("/ui/signout", url.Values{"csrf": {feed.csrf(t)}}); p.status != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", p.status)
	}
	if p := b.get("/ui/t/acme/"); p.status != http.StatusSeeOther {
		t.Fatalf("after sign-out: %d", p.status)
	}
}

func TestCSRFAndOrigin(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	tok := b.signIn(e.acmeAdmin)
	before, _ := e.led.Keys(t.Context(), "acme")
	if p := b.post("/ui/t/acme/admin/keys", url.Values{"role": {"read"}, "name": {"x"}}); p.status != http.StatusForbidden {
		t.Fatalf("no token: %d", p.status)
	}
	// The right token from another site's page.
	req, _ := http.NewRequest("POST", e.srv.URL+"/ui/t/acme/admin/keys", strings.NewReader(url.Values{"csrf": {tok}, "role": {"read"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	res, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site post: %d", res.StatusCode)
	}
	after, _ := e.led.Keys(t.Context(), "acme")
	if len(after) != len(before) {
		t.Fatal("a forged form created a key")
	}
	p := b.post("/ui/t/acme/admin/keys", url.Values{"csrf": {tok}, "role": {"read"}, "name": {"from the ui"}})
	secret := regexp.MustCompile(`value="(htk_[^"]+)"`).FindStringSubmatch(p.body)
	if p.status != http.StatusCreated || secret == nil || p.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("create key: %d %q", p.status, p.header.Get("Cache-Control"))
	}
	if _, err := e.led.Authenticate(t.Context(), secret[1]); err != nil {
		t.Fatalf("the shown secret does not work: %v", err)
	}
	if list := b.get("/ui/t/acme/admin/keys"); strings.Contains(list.body, secret[1]) || !strings.Contains(list.body, "from the ui") {
		t.Fatal("the keys page shows a secret, or not the new key")
	}
	// The act is in the tenant's own log, by the signed-in key.
	got, err := e.led.Events(t.Context(), &hashtrail.Query{Tenant: "acme", Actions: []string{"api_key.create"}, Limit: 10, Order: hashtrail.OrderDesc})
	if err != nil || len(got.Events) == 0 {
		t.Fatalf("the key creation was not audited: %v", err)
	}
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn(e.acmeRead)
	for _, path := range []string{"/ui/signin", "/ui/t/acme/", "/ui/t/acme/events/e1", "/ui/nowhere"} {
		p := b.get(path)
		csp := p.header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "style-src 'self'") ||
			strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: CSP %q", path, csp)
		}
		if p.header.Get("X-Frame-Options") != "DENY" || p.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: framing or sniffing headers missing", path)
		}
		// Nothing inline: no script bodies, no style attributes or elements.
		if regexp.MustCompile(`<script(?:\s[^>]*)?>[^<]+</script>|\sstyle="|<style`).MatchString(p.body) {
			t.Errorf("%s: inline script or style", path)
		}
	}
	css := b.get("/ui/static/style.css")
	if css.status != 200 || css.header.Get("ETag") == "" || css.header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("static without version: %d %q", css.status, css.header.Get("Cache-Control"))
	}
	feed := b.get("/ui/t/acme/")
	versioned := regexp.MustCompile(`href="(/ui/static/style\.css\?v=[0-9a-f]+)"`).FindStringSubmatch(feed.body)
	if versioned == nil {
		t.Fatal("the page does not link a versioned stylesheet")
	}
	if p := b.get(versioned[1]); p.header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
		t.Fatalf("versioned static: %q", p.header.Get("Cache-Control"))
	}
	req, _ := http.NewRequest("GET", e.srv.URL+"/ui/static/style.css", nil)
	req.Header.Set("If-None-Match", css.header.Get("ETag"))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotModified {
		t.Fatalf("ETag revalidation: %d", res.StatusCode)
	}
}

func TestSessionEnds(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn(e.acmeRead)
	e.clock.Add((time.Hour + time.Second).Microseconds())
	p := b.get("/ui/t/acme/")
	if p.status != http.StatusSeeOther || !strings.Contains(p.header.Get("Location"), "why=expired") {
		t.Fatalf("an expired session: %d %s", p.status, p.header.Get("Location"))
	}
	e.clock.Add(-(time.Hour + time.Second).Microseconds())
	// Revoking the key ends its sessions at once.
	b = e.browser()
	b.signIn(e.acmeAdmin)
	keys, _ := e.led.Keys(t.Context(), "acme")
	for _, k := range keys {
		if k.Role == hashtrail.RoleAdmin {
			if err := e.led.RevokeKey(t.Context(), "acme", k.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	time.Sleep(5 * time.Millisecond) // past the key cache
	if p := b.get("/ui/t/acme/"); p.status != http.StatusSeeOther || !strings.Contains(p.header.Get("Location"), "why=ended") {
		t.Fatalf("a revoked key's session: %d %s", p.status, p.header.Get("Location"))
	}
	// A cookie sealed by another installation is no session.
	other := e.browser()
	u, _ := url.Parse(e.srv.URL + "/ui/")
	other.c.Jar.SetCookies(u, []*http.Cookie{{Name: "ht_session", Value: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", Path: "/ui/"}})
	if p := other.get("/ui/t/acme/"); p.status != http.StatusSeeOther {
		t.Fatalf("a forged cookie: %d", p.status)
	}
}

func TestTenantIsolation(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn(e.acmeAdmin)
	for _, path := range []string{"/ui/t/globex/", "/ui/t/globex/events/g1", "/ui/t/globex/dashboard", "/ui/t/globex/admin/keys",
		"/ui/t/globex/people/user:9", "/ui/t/globex/events/g1/proof.json", "/ui/t/acme/events/g1"} {
		if p := b.get(path); p.status != http.StatusNotFound || strings.Contains(p.body, "gina") {
			t.Errorf("%s with acme's key: %d", path, p.status)
		}
	}
	// An installation key switches between tenants.
	inst := e.browser()
	inst.signIn(e.install)
	p := inst.get("/ui/t/globex/")
	if p.status != 200 || !strings.Contains(p.body, "gina@globex.example") || !strings.Contains(p.body, `href="/ui/t/acme/"`) {
		t.Fatalf("installation key on globex: %d", p.status)
	}
}

func TestViewerToken(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn(e.viewer)
	feed := b.get("/ui/t/acme/")
	if feed.status != 200 {
		t.Fatalf("feed: %d", feed.status)
	}
	// Its filter is target:project:7: e3 and e4 only.
	for _, id := range []string{"e3", "e4"} {
		if !strings.Contains(feed.body, "/events/"+id+`"`) {
			t.Errorf("the viewer does not see %s", id)
		}
	}
	for _, id := range []string{"e1", "e2", "e5"} {
		if strings.Contains(feed.body, "/events/"+id+`"`) {
			t.Errorf("the viewer sees %s outside its filter", id)
		}
	}
	ev := b.get("/ui/t/acme/events/e3")
	if ev.status != 200 || strings.Contains(ev.body, "203.0.113.7") {
		t.Fatalf("event page: %d, or the hidden IP shows", ev.status)
	}
	if !strings.Contains(ev.body, `<a href="/ui/t/acme/people/user:42">alice@example.com</a> added <a href="/ui/t/acme/people/user:7">bob</a> to role <a href="/ui/t/acme/objects/role/admin">admin</a> in project <a href="/ui/t/acme/objects/project/7">Payments</a>`) {
		t.Errorf("the event's sentence is missing:\n%.4000s", ev.body)
	}
	if p := b.get("/ui/t/acme/events/e3/proof.json"); p.status == 200 && (strings.Contains(p.body, "203.0.113.7") || strings.Contains(p.body, `"salt"`)) {
		t.Error("the viewer's proof.json carries the hidden IP or a salt")
	}
	for _, path := range []string{"/ui/t/acme/events/e1", "/ui/t/acme/events/e1/proof.json"} {
		if p := b.get(path); p.status != http.StatusNotFound {
			t.Errorf("%s outside the filter: %d", path, p.status)
		}
	}
	if p := b.get("/ui/t/acme/admin/keys"); p.status != http.StatusForbidden {
		t.Errorf("admin page with a viewer token: %d", p.status)
	}
	if strings.Contains(feed.body, "/admin/keys") {
		t.Error("the viewer's navigation offers admin pages")
	}
	if p := b.get("/ui/t/acme/people/user:42"); p.status != 200 || strings.Contains(p.body, "203.0.113.7") || strings.Contains(p.body, "Berlin") {
		t.Errorf("person page for a viewer: %d, or it shows what the filter hides", p.status)
	}
}

func TestMalformedSearch(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn(e.acmeRead)
	p := b.get("/ui/t/acme/?q=" + url.QueryEscape(`action:user.login severity:>=loud`))
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, "at position") || !strings.Contains(p.body, `aria-invalid="true"`) || !strings.Contains(p.body, "<mark>") {
		t.Fatalf("malformed search: %d\n%.3000s", p.status, p.body)
	}
	ok := b.get("/ui/t/acme/?q=" + url.QueryEscape("outcome:failure"))
	if ok.status != 200 || !strings.Contains(ok.body, "/events/e2\"") || strings.Contains(ok.body, "/events/e1\"") {
		t.Fatalf("search outcome:failure: %d", ok.status)
	}
	if !strings.Contains(ok.body, `aria-label="Remove filter outcome:failure"`) {
		t.Error("no removable chip for the filter")
	}
	if p := b.get("/ui/t/acme/?from=2026-01-01&to=2026-01-31"); p.status != http.StatusSeeOther ||
		p.header.Get("Location") != "/ui/t/acme/?q=created%3A2026-01-01..2026-01-31" {
		t.Fatalf("custom range: %d %s", p.status, p.header.Get("Location"))
	}
}
