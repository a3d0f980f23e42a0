package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp/kb"

	"github.com/hashtrail/hashtrail/internal/browser"
)

// hostPage is an application's page on its own origin that embeds the
// viewer. It records every answer its scripts fetch (window.__bodies), so
// the test can check what reached the browser, not only what is shown.
const hostPage = `<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Apollo · project history</title>
<script>
window.__bodies = [];
const realFetch = window.fetch;
window.fetch = async (...args) => {
  const res = await realFetch(...args);
  res.clone().text().then((t) => window.__bodies.push(String(args[0]) + "\n" + t), () => {});
  return res;
};
</script>
<style>
body { margin: 0; font-family: system-ui, sans-serif; background: #f6f8fa; color: #1f2328; }
.bar { background: #24292f; color: #fff; padding: 14px 32px; font-weight: 600; }
main { max-width: 880px; margin: 24px auto; padding: 0 24px; }
h1 { font-size: 22px; margin: 0 0 4px; } p.lead { margin: 0 0 16px; color: #59636e; }
hashtrail-log { --hashtrail-accent: #8250df; --hashtrail-radius: 10px; }
</style></head>
<body><header class="bar">Acme Cloud</header>
<main><h1>Project Apollo</h1><p class="lead">Everything that happened to this project, from Acme's audit log.</p>
<hashtrail-log token="%s" server="%s" heading="Project history" page-size="25"></hashtrail-log>
</main>
<script src="%s" defer></script></body></html>`

// shadow is the embed's shadow root in the page.
const shadow = `document.querySelector("hashtrail-log").shadowRoot`

// TestEmbedOnAnotherOrigin opens the embed in a page served from another
// origin with a viewer token for one project: it shows only that project's
// events, never the hidden fields (not in the DOM, not in any answer), pages
// by cursor, searches within the filter (never past it), opens an event
// with its proof verified in the browser, works from the keyboard, and
// shows nothing to an origin the token does not allow.
func TestEmbedOnAnotherOrigin(t *testing.T) {
	b := chromium.Get(t)
	isolateEnv(t)
	s := runServeCmd(t, "--data", t.TempDir(), "--server-name", "audit.example.com")
	key := s.bootstrapKey()
	if code := callJSON(t, http.DefaultClient, "POST", s.url+"/v1/tenants", key, map[string]any{"id": "acme"}, nil); code != 201 {
		t.Fatalf("create tenant: %d", code)
	}
	var events []map[string]any
	in := map[string]bool{}
	people := []map[string]any{
		{"type": "user", "id": "1", "name": "Ada Lovelace", "email": "ada@example.com"},
		{"type": "user", "id": "2", "name": "Grace Hopper", "email": "grace@example.com"},
		{"type": "user", "id": "3", "name": "Alan Turing", "email": "alan@example.com"},
	}
	apollo := map[string]any{"type": "project", "id": "7", "name": "Apollo"}
	for i := range 60 {
		id := fmt.Sprintf("apollo-%02d", i)
		in[id] = true
		ev := map[string]any{"id": id,
			"time":    time.Now().Add(time.Duration(i-60) * 7 * time.Minute).UTC().Format(time.RFC3339),
			"actor":   people[i%3],
			"context": map[string]any{"ip": fmt.Sprintf("203.0.113.%d", i+1), "user_agent": "SecretBrowser/9.9"}}
		switch i % 4 {
		case 0:
			ev["action"], ev["targets"] = "project.update", []any{apollo}
			ev["changes"] = []any{map[string]any{"field": "description", "old": "Moon", "new": "Moon and back"}}
		case 1:
			ev["action"], ev["targets"] = "member.add", []any{map[string]any{"type": "user", "id": fmt.Sprint(10 + i), "name": fmt.Sprintf("Member %d", i)}, apollo}
		case 2:
			ev["action"], ev["targets"] = "role.assign", []any{map[string]any{"type": "user", "id": "2", "name": "Grace Hopper"}, map[string]any{"type": "role", "id": "admin", "name": "admin"}, apollo}
		case 3:
			ev["action"], ev["targets"] = "api_key.create", []any{map[string]any{"type": "api_key", "id": fmt.Sprintf("k%d", i), "name": "deploy bot"}, apollo}
		}
		events = append(events, ev)
	}
	events = append(events, map[string]any{"id": "apollo-failed", "action": "project.delete", "outcome": "failure", "severity": "high",
		"actor":   map[string]any{"type": "user", "id": "1", "name": "Grace Hopper"},
		"targets": []any{map[string]any{"type": "project", "id": "7", "name": "Apollo"}},
		"context": map[string]any{"ip": "203.0.113.250", "user_agent": "SecretBrowser/9.9"}})
	in["apollo-failed"] = true
	for i := range 15 {
		events = append(events, map[string]any{"id": fmt.Sprintf("gemini-%02d", i), "action": "project.update",
			"actor":   map[string]any{"type": "user", "id": "9", "name": "Mallory"},
			"targets": []any{map[string]any{"type": "project", "id": "8", "name": "Gemini"}}, "metadata": map[string]any{"codename": "nightjar"}})
	}
	if code := callJSON(t, http.DefaultClient, "POST", s.url+"/v1/tenants/acme/events", key, map[string]any{"events": events}, nil); code != 200 {
		t.Fatalf("ingest: %d", code)
	}

	// The application's page, on another origin (another port).
	var html string
	mux := http.NewServeMux()
	mux.Handle("/static/", staticHandler(t))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { servePage(html)(w, r) })
	var cspHTML, csp string
	mux.HandleFunc("/csp", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", csp)
		servePage(cspHTML)(w, r)
	})
	host := httptest.NewServer(mux)
	defer host.Close()
	var tok struct{ Token string }
	if code := callJSON(t, http.DefaultClient, "POST", s.url+"/v1/tenants/acme/viewer-tokens", key,
		map[string]any{"filter": "target:project:7", "allowed_origins": []string{host.URL}, "expires_in": "10m"}, &tok); code != 201 {
		t.Fatalf("viewer token: %d", code)
	}
	embedURL := host.URL + "/static/embed.js"
	if resp, err := http.Get(s.url + "/ui/static/embed.js"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			embedURL = s.url + "/ui/static/embed.js" // served by Hashtrail itself, as users load it
		}
	}
	t.Logf("embed.js from %s", embedURL)
	html = fmt.Sprintf(hostPage, tok.Token, s.url, embedURL)
	csp = fmt.Sprintf("default-src 'none'; script-src %s %s; connect-src %s; style-src 'self'; img-src 'self'", s.url, host.URL, s.url)
	cspHTML = fmt.Sprintf(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Strict host</title></head>
<body><main><h1>Apollo</h1><hashtrail-log token="%s" server="%s" heading="Project history"></hashtrail-log></main>
<script src="%s" defer></script></body></html>`, tok.Token, s.url, embedURL)

	ctx := b.Tab(t, 90*time.Second)
	browser.Viewport(t, ctx, 1280, 800)
	browser.Navigate(t, ctx, host.URL)
	ids := func() []string {
		return browser.Eval[[]string](t, ctx, `Array.from(`+shadow+`.querySelectorAll("article"), (a) => a.dataset.id)`)
	}
	waitCount := func(n int) {
		t.Helper()
		browser.WaitFor(t, ctx, 10*time.Second, fmt.Sprintf("%d events in the embed", n),
			shadow+`.querySelectorAll("article").length === `+fmt.Sprint(n)+` && `+shadow+`.querySelector("[role=feed]").getAttribute("aria-busy") === "false"`,
			shadow+`.querySelector(".status").textContent + " / " + `+shadow+`.querySelectorAll("article").length`)
	}
	waitCount(25)
	browser.SaveScreenshot(t, ctx, repoFile(t, "docs/screenshots"), "embed")
	for _, n := range []int{50, 61} {
		browser.Eval[bool](t, ctx, shadow+`.querySelector('[part~="more"]').click() || true`)
		waitCount(n)
	}
	if more := browser.Eval[bool](t, ctx, shadow+`.querySelector(".more").hidden`); !more {
		t.Error("Load more is still shown after the last page")
	}
	for _, id := range ids() {
		if !in[id] {
			t.Errorf("the embed shows %s, outside the token's filter", id)
		}
	}
	if failed := browser.Eval[string](t, ctx, shadow+`.querySelector('article[data-id="apollo-failed"]').textContent`); !strings.Contains(failed, "failed") || !strings.Contains(failed, "high") {
		t.Errorf("the failed high-severity event is not marked: %q", failed)
	}

	if n := browser.Eval[int](t, ctx, `(`+shadow+`.querySelector("input").list || {options: []}).options.length`); n < 5 {
		t.Errorf("the search box suggests %d qualifiers", n)
	}
	// Search: within the filter only.
	search := func(q string) {
		t.Helper()
		browser.Eval[bool](t, ctx, `(() => { const r = `+shadow+`; r.querySelector("input").value = `+browser.JSON(q)+`; r.querySelector("form").requestSubmit(); return true })()`)
	}
	search("action:member.add")
	waitCount(15)
	for _, id := range ids() {
		if !in[id] {
			t.Errorf("search shows %s", id)
		}
	}
	search("target:project:8")
	waitCount(0)
	browser.WaitFor(t, ctx, 5*time.Second, "the no-match message", shadow+`.querySelector(".status").textContent.includes("No events match")`, shadow+`.querySelector(".status").textContent`)
	search("nightjar")
	waitCount(0)
	search("ip:203.0.113.0/24")
	browser.WaitFor(t, ctx, 5*time.Second, "the hidden-field search refused", shadow+`.querySelector(".status.error") && `+shadow+`.querySelector(".status").textContent.includes("hides")`, shadow+`.querySelector(".status").textContent`)
	search("")
	waitCount(25)

	// Keyboard: the first event takes focus, arrows move, Enter opens,
	// Escape goes back to the event it came from.
	browser.Eval[bool](t, ctx, shadow+`.querySelector("article").focus() || true`)
	browser.Keys(t, ctx, kb.ArrowDown)
	browser.Keys(t, ctx, kb.ArrowDown)
	focused := browser.Eval[string](t, ctx, shadow+`.activeElement && `+shadow+`.activeElement.dataset.id`)
	if want := ids()[2]; focused != want {
		t.Fatalf("after ↓↓ the focus is on %q, want %q", focused, want)
	}
	browser.Keys(t, ctx, kb.Enter)
	browser.WaitFor(t, ctx, 20*time.Second, "the proof verified in the embed",
		shadow+`.querySelector('[part~="receipt"]') && `+shadow+`.querySelector('[part~="receipt"]').dataset.state === "verified"`,
		shadow+`.querySelector('[part~="detail"]').outerHTML`)
	detail := browser.Eval[string](t, ctx, shadow+`.querySelector('[part~="detail"]').textContent`)
	if !strings.Contains(detail, "Verified in your browser") || !strings.Contains(detail, "audit.example.com/acme") || !strings.Contains(detail, "Hidden from this view: context.ip, context.user_agent") {
		t.Errorf("detail: %q", detail)
	}
	browser.SaveScreenshot(t, ctx, repoFile(t, "docs/screenshots"), "embed-event")
	// The offline receipt downloads as C2SP tlog-proof@v1.
	downloads := t.TempDir()
	browser.AllowDownloads(t, ctx, downloads)
	browser.Eval[bool](t, ctx, shadow+`.querySelector('[part~="download"]').click(); true`)
	receiptFile := filepath.Join(downloads, focused+".tlog-proof")
	waitFile(t, receiptFile)
	if raw, _ := os.ReadFile(receiptFile); !strings.HasPrefix(string(raw), "c2sp.org/tlog-proof@v1\nextra ") || !strings.Contains(string(raw), "\u2014 audit.example.com/acme ") {
		t.Errorf("downloaded receipt:\n%s", raw)
	}
	browser.Keys(t, ctx, kb.Escape)
	browser.WaitFor(t, ctx, 5*time.Second, "the list back with focus on the opened event",
		shadow+`.activeElement && `+shadow+`.activeElement.dataset.id === `+browser.JSON(focused), "")

	// Nothing hidden reached the page: not in the DOM, not in any answer.
	dom := browser.Eval[string](t, ctx, shadow+`.innerHTML + document.documentElement.outerHTML`)
	bodies := browser.Eval[[]string](t, ctx, `window.__bodies`)
	if len(bodies) < 5 {
		t.Fatalf("only %d answers recorded", len(bodies))
	}
	for _, secret := range []string{"203.0.113.", "SecretBrowser", "nightjar", "Mallory", "gemini-"} {
		if strings.Contains(dom, secret) {
			t.Errorf("the DOM holds %q", secret)
		}
		for _, answer := range bodies {
			// the URL (the test's own searches), then the body
			if _, body, _ := strings.Cut(answer, "\n"); strings.Contains(body, secret) {
				t.Errorf("an answer holds %q: %.300s", secret, answer)
			}
		}
	}
	axeCheck(t, ctx, "embed")

	// Themed by the host page: --hashtrail-accent (#8250df) reaches the
	// shadow DOM's buttons.
	if bg := browser.Eval[string](t, ctx, `getComputedStyle(`+shadow+`.querySelector('form button')).backgroundColor`); bg != "rgb(130, 80, 223)" {
		t.Errorf("the search button's background is %s, not the host's --hashtrail-accent", bg)
	}

	// A host page with a strict Content-Security-Policy (no inline scripts
	// or styles): the viewer is styled, and checks a proof.
	browser.Navigate(t, ctx, host.URL+"/csp")
	browser.WaitFor(t, ctx, 10*time.Second, "the viewer under a strict CSP", shadow+` && `+shadow+`.querySelectorAll("article").length === 25`, "")
	if bg := browser.Eval[string](t, ctx, `getComputedStyle(`+shadow+`.querySelector('form button')).backgroundColor`); bg != "rgb(9, 105, 218)" {
		t.Errorf("under a strict CSP the search button's background is %s: the style sheet was refused", bg)
	}
	if bg := browser.Eval[string](t, ctx, `getComputedStyle(`+shadow+`.querySelector('article[data-id="apollo-failed"] .icon')).backgroundColor`); bg != "rgb(110, 119, 129)" {
		t.Errorf("under a strict CSP a resource icon's background is %s", bg)
	}
	browser.Eval[bool](t, ctx, shadow+`.querySelector("article").click(); true`)
	browser.WaitFor(t, ctx, 20*time.Second, "the proof verified under a strict CSP",
		shadow+`.querySelector('[part~="receipt"]').dataset.state === "verified"`, shadow+`.querySelector('[part~="receipt"]').textContent`)

	// Another origin (localhost is not 127.0.0.1) gets no CORS answer: the
	// embed shows an error and no event.
	browser.Navigate(t, ctx, strings.Replace(host.URL, "127.0.0.1", "localhost", 1))
	browser.WaitFor(t, ctx, 10*time.Second, "the refusal on a disallowed origin", shadow+` && `+shadow+`.querySelector(".status.error")`, "")
	if n := len(ids()); n != 0 {
		t.Errorf("a disallowed origin shows %d events", n)
	}

	// An expired token: the server refuses it, and the embed says why.
	if code := callJSON(t, http.DefaultClient, "POST", s.url+"/v1/tenants/acme/viewer-tokens", key,
		map[string]any{"filter": "target:project:7", "allowed_origins": []string{host.URL}, "expires_in": "1s"}, &tok); code != 201 {
		t.Fatalf("viewer token: %d", code)
	}
	html = strings.Replace(fmt.Sprintf(hostPage, tok.Token, s.url, embedURL), "<script>",
		`<script>window.__errors = []; addEventListener("hashtrail-error", (e) => window.__errors.push(e.detail));</script><script>`, 1)
	time.Sleep(2 * time.Second)
	browser.Navigate(t, ctx, host.URL)
	browser.WaitFor(t, ctx, 10*time.Second, "the expiry explained", shadow+` && `+shadow+`.querySelector(".status.error")`, "")
	if msg := browser.Eval[string](t, ctx, shadow+`.querySelector(".status").textContent`); !strings.Contains(msg, "expired") {
		t.Errorf("expired token: %q", msg)
	}
	if expired := browser.Eval[bool](t, ctx, `window.__errors.length === 1 && window.__errors[0].expired`); !expired {
		t.Errorf("hashtrail-error events: %s", browser.Eval[string](t, ctx, `JSON.stringify(window.__errors)`))
	}

	// The host page mints a new token on hashtrail-error and sets it: the
	// viewer reloads with it.
	if code := callJSON(t, http.DefaultClient, "POST", s.url+"/v1/tenants/acme/viewer-tokens", key,
		map[string]any{"filter": "target:project:7", "allowed_origins": []string{host.URL}}, &tok); code != 201 {
		t.Fatalf("viewer token: %d", code)
	}
	browser.Eval[bool](t, ctx, `document.querySelector("hashtrail-log").setAttribute("token", `+browser.JSON(tok.Token)+`); true`)
	waitCount(25)

	// Dark, by attribute: still no serious accessibility problem.
	browser.Eval[bool](t, ctx, `document.querySelector("hashtrail-log").setAttribute("theme", "dark"); document.body.style.cssText = "background: #010409; color: #e6edf3"; document.querySelector(".lead").style.color = "#9198a1"; true`)
	if bg := browser.Eval[string](t, ctx, `getComputedStyle(document.querySelector("hashtrail-log")).backgroundColor`); bg != "rgb(13, 17, 23)" {
		t.Errorf("theme=dark background %s", bg)
	}
	browser.SaveScreenshot(t, ctx, repoFile(t, "docs/screenshots"), "embed-dark")
	axeCheck(t, ctx, "embed, dark")
}

// axeCheck runs axe-core (HASHTRAIL_TEST_AXE: a directory holding
// node_modules/axe-core) on the page and fails on serious or critical
// violations; it logs and returns when axe-core is not installed.
func axeCheck(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	dir := os.Getenv("HASHTRAIL_TEST_AXE")
	if dir == "" {
		t.Logf("axe-core check of %s skipped: set HASHTRAIL_TEST_AXE to a directory with node_modules/axe-core (npm install axe-core)", page)
		return
	}
	src, err := os.ReadFile(dir + "/node_modules/axe-core/axe.min.js")
	if err != nil {
		t.Fatalf("axe-core: %v", err)
	}
	browser.Eval[bool](t, ctx, string(src)+"\n;true")
	type violation struct {
		ID     string `json:"id"`
		Impact string `json:"impact"`
		Help   string `json:"help"`
		Nodes  []struct {
			Target []any `json:"target"`
		} `json:"nodes"`
	}
	vs := browser.Eval[[]violation](t, ctx, `axe.run(document, {resultTypes: ["violations"]}).then((r) => r.violations)`)
	for _, v := range vs {
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Errorf("axe-core on %s: %s (%s): %s, at %v", page, v.ID, v.Impact, v.Help, v.Nodes)
		} else {
			t.Logf("axe-core on %s: %s (%s): %s", page, v.ID, v.Impact, v.Help)
		}
	}
}

// waitFile waits up to 10 seconds for a complete file at path.
func waitFile(t *testing.T, path string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
			return
		}
	}
	t.Fatalf("no file %s", path)
}
