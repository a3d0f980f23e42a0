package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp/kb"

	"github.com/hashtrail/hashtrail/internal/browser"
)

// uiPageWait bounds each wait for a page or a check in the UI tests.
const uiPageWait = 15 * time.Second

// TestUIInBrowser drives the web UI of `hashtrail serve --demo` in
// Chromium as a newcomer would: sign in with a key, search with
// qualifiers (and a malformed search), open an event and see its proof
// verified in the browser, its person and object pages, the dashboard,
// the integrity and admin pages, page through 10,000 events by cursor, and
// move through the feed with the keyboard. axe-core checks every main page
// (HASHTRAIL_TEST_AXE); HASHTRAIL_SCREENSHOTS=1 saves them to
// docs/screenshots at 1280×800.
func TestUIInBrowser(t *testing.T) {
	b := chromium.Get(t)
	isolateEnv(t)
	s := runServeCmd(t, "--data", t.TempDir(), "--demo", "--server-name", "audit.example.com")
	key := s.bootstrapKey()
	if code := callJSON(t, http.DefaultClient, "GET", s.url+"/ui/signin", "", nil, nil); code != 200 {
		t.Fatalf("GET /ui/signin: %d (the web UI is not served)", code)
	}
	const bigN = 10_000
	bigTenant(t, s.url, key, "big", bigN)

	ctx := b.Tab(t, 3*time.Minute)
	browser.Viewport(t, ctx, 1280, 800)
	shots := repoFile(t, "docs/screenshots")
	open := func(path string) {
		t.Helper()
		browser.Navigate(t, ctx, s.url+path)
	}
	text := func(sel string) string {
		t.Helper()
		return browser.Eval[string](t, ctx, `(document.querySelector(`+browser.JSON(sel)+`) || {textContent: ""}).textContent`)
	}
	here := func() string { return browser.Eval[string](t, ctx, `location.pathname + location.search`) }

	// Signed out, a page sends to the sign-in form, which takes a key.
	open("/ui/t/acme/")
	browser.WaitFor(t, ctx, uiPageWait, "the sign-in form", `document.querySelector("#credential")`, `location.href`)
	axeCheck(t, ctx, "sign-in")
	browser.Eval[bool](t, ctx, `document.querySelector("#credential").value = `+browser.JSON(key)+`; document.querySelector("#credential").form.submit(); true`)
	browser.WaitFor(t, ctx, uiPageWait, "the feed after signing in", `document.querySelector("ol.events li.ev")`, `location.href + " " + document.title`)
	if p := here(); !strings.HasPrefix(p, "/ui/t/acme/") {
		t.Errorf("after signing in: %s, want the page asked for", p)
	}
	browser.SaveScreenshot(t, ctx, shots, "feed")
	axeCheck(t, ctx, "feed")

	// Search with qualifiers: failed sign-ins only.
	actionsShown := func() []string {
		return browser.Eval[[]string](t, ctx, `Array.from(document.querySelectorAll("ol.events li.ev .ev-action code"), (c) => c.textContent)`)
	}
	browser.Eval[bool](t, ctx, `document.querySelector("#q").value = "action:user.login* -outcome:success"; document.querySelector("#q").form.submit(); true`)
	browser.WaitFor(t, ctx, uiPageWait, "the search's results", `location.search.includes("q=") && document.querySelector("ol.events li.ev")`, `document.querySelector("main") && document.querySelector("main").innerText`)
	got := actionsShown()
	if len(got) == 0 {
		t.Fatal("no failed sign-in in the demo data")
	}
	for _, a := range got {
		if !strings.HasPrefix(a, "user.login") {
			t.Errorf("search action:user.login* -outcome:success shows %s", a)
		}
	}
	if n := browser.Eval[int](t, ctx, `document.querySelectorAll("ol.events li.ev:not(.is-fail)").length`); n != 0 {
		t.Errorf("%d events shown are not marked failed", n)
	}
	if chips := text(".chips"); !strings.Contains(chips, "action:user.login*") {
		t.Errorf("filter chips: %q", chips)
	}
	// A category link filters the feed to that category.
	open("/ui/t/acme/")
	browser.Eval[bool](t, ctx, `document.querySelector("nav.cats a.cat-security").click(); true`)
	browser.WaitFor(t, ctx, uiPageWait, "the security category", `location.search.includes("security") && document.readyState === "complete" && document.querySelector("ol.events li.ev")`, `location.href`)
	if n := browser.Eval[int](t, ctx, `document.querySelectorAll("ol.events li.ev:not(.cat-security)").length`); n != 0 {
		t.Errorf("the security category shows %d events of other categories", n)
	}
	// A malformed search names the position.
	open("/ui/t/acme/?q=" + url.QueryEscape(`action:user.login created:>=notadate`))
	if e := text("#q-error"); !strings.Contains(e, "malformed") || !strings.Contains(e, "position") {
		t.Errorf("malformed search: %q", e)
	}

	// An event: every field, and the proof verified in this browser
	// (127.0.0.1 is a secure context).
	open("/ui/t/acme/?q=" + url.QueryEscape("action:role.assign"))
	browser.WaitFor(t, ctx, uiPageWait, "a role assignment", `document.querySelector("ol.events li.ev a.ev-action")`, "")
	browser.Eval[bool](t, ctx, `document.querySelector("ol.events li.ev a.ev-action").click(); true`)
	browser.WaitFor(t, ctx, uiPageWait, "the receipt verified in the browser",
		`document.querySelector("[data-hashtrail-verify]") && document.querySelector("[data-hashtrail-verify]").dataset.state === "verified"`,
		`location.href + " " + (document.querySelector("[data-hashtrail-verify]") || document.body).innerText`)
	if r := text("[data-hashtrail-verify]"); !strings.Contains(r, "Verified in your browser") || !strings.Contains(r, "audit.example.com/acme") {
		t.Errorf("receipt: %q", r)
	}
	browser.SaveScreenshot(t, ctx, shots, "event")
	browser.Eval[bool](t, ctx, `document.querySelector("[data-hashtrail-verify]").scrollIntoView({block: "center"}); true`)
	browser.SaveScreenshot(t, ctx, shots, "event-receipt")
	axeCheck(t, ctx, "event")
	eventPath := here()

	// The actor's person page and the target's object page, by their links.
	follow := func(what, sel string) {
		t.Helper()
		href := browser.Eval[string](t, ctx, `(document.querySelector(`+browser.JSON(sel)+`) || {}).href || ""`)
		if href == "" {
			t.Fatalf("no %s link (%s) on %s", what, sel, here())
		}
		browser.Navigate(t, ctx, href)
		browser.WaitFor(t, ctx, uiPageWait, what, `document.querySelector("main h1")`, `location.href`)
	}
	follow("person page", `main a[href*="/people/"]`)
	if h := text("main h1"); h == "" {
		t.Error("person page without a name")
	}
	browser.SaveScreenshot(t, ctx, shots, "person")
	axeCheck(t, ctx, "person")
	open(eventPath)
	follow("object page", `main a[href*="/objects/"]`)
	browser.SaveScreenshot(t, ctx, shots, "object")
	axeCheck(t, ctx, "object")

	// Keys for the admin page to list (made here, after the feed's
	// screenshot, which they would top).
	for _, k := range []map[string]any{{"role": "ingest", "name": "acme-app production"}, {"role": "read", "name": "support dashboard"}} {
		if code := callJSON(t, http.DefaultClient, "POST", s.url+"/v1/tenants/acme/keys", key, k, nil); code != 201 {
			t.Fatalf("create key: %d", code)
		}
	}
	for _, p := range []struct{ path, name, heading string }{
		{"/ui/t/acme/dashboard", "dashboard", "Dashboard"},
		{"/ui/t/acme/integrity", "integrity", ""},
		{"/ui/t/acme/admin/keys", "admin", "API keys"},
		{"/ui/t/acme/admin/retention", "retention", ""},
		{"/ui/t/acme/admin/sinks", "sinks", ""},
		{"/ui/t/acme/admin/alerts", "alerts", ""},
		{"/ui/tenants", "tenants", ""},
	} {
		open(p.path)
		browser.WaitFor(t, ctx, uiPageWait, p.name+" page", `document.querySelector("main h1")`, `location.href + " " + document.body.innerText.slice(0, 300)`)
		if h := text("main h1"); p.heading != "" && !strings.Contains(h, p.heading) {
			t.Errorf("%s: heading %q", p.path, h)
		}
		switch p.name {
		case "dashboard", "admin", "integrity":
			browser.SaveScreenshot(t, ctx, shots, p.name)
		}
		axeCheck(t, ctx, p.name)
	}

	// The embed tells each event as the UI does: the first 200 of acme,
	// the UI's feed against <hashtrail-log> on another origin.
	uiSentences := map[string]string{}
	open("/ui/t/acme/")
	for i := range 3 {
		browser.Eval[bool](t, ctx, `window.scrollTo(0, document.body.scrollHeight); true`)
		browser.WaitFor(t, ctx, uiPageWait, "more events", fmt.Sprintf(`document.querySelectorAll("ol.events li.ev").length >= %d`, 50*(i+2)), "")
	}
	for _, r := range browser.Eval[[][2]string](t, ctx, `Array.from(document.querySelectorAll("ol.events li.ev"), (li) => [li.dataset.seq, li.querySelector(".ev-line").textContent.replace(/\s+/g, " ").trim()])`) {
		uiSentences[r[0]] = r[1]
	}
	compareEmbedSentences(t, b, s.url, key, uiSentences)

	// Keyboard: from the search box, Tab reaches an event's link (past the
	// filters and its sentence's links); Enter opens the event.
	open("/ui/t/acme/")
	// j and k move between the events, / jumps to the search box.
	focusedSeq := func() string {
		return browser.Eval[string](t, ctx, `(document.activeElement.closest("li.ev") || {dataset: {}}).dataset.seq || ""`)
	}
	seqs := browser.Eval[[]string](t, ctx, `Array.from(document.querySelectorAll("ol.events li.ev"), (li) => li.dataset.seq)`)
	for _, step := range []struct {
		key  string
		want string
	}{{"j", seqs[0]}, {"j", seqs[1]}, {"j", seqs[2]}, {"k", seqs[1]}} {
		browser.Keys(t, ctx, step.key)
		if got := focusedSeq(); got != step.want {
			t.Fatalf("after %q the focus is on event %q, want %q", step.key, got, step.want)
		}
	}
	browser.Keys(t, ctx, "/")
	if id := browser.Eval[string](t, ctx, `document.activeElement.id`); id != "q" {
		t.Errorf("/ focused %q, not the search box", id)
	}
	browser.Eval[bool](t, ctx, `document.querySelector("#q").focus(); true`)
	reached := false
	for range 60 {
		browser.Keys(t, ctx, kb.Tab)
		if browser.Eval[bool](t, ctx, `!!(document.activeElement && document.activeElement.matches("ol.events li.ev a.ev-action"))`) {
			reached = true
			break
		}
	}
	if !reached {
		t.Fatalf("60 Tabs from the search box never reached an event link; focus is on %s", browser.Eval[string](t, ctx, `document.activeElement.outerHTML.slice(0, 200)`))
	}
	if outline := browser.Eval[string](t, ctx, `getComputedStyle(document.activeElement).outlineStyle`); outline == "none" {
		t.Error("the focused event link shows no focus outline")
	}
	browser.Keys(t, ctx, kb.Enter)
	browser.WaitFor(t, ctx, uiPageWait, "the event page from the keyboard", `location.pathname.includes("/events/")`, `location.href`)

	// Over plain HTTP on a name other than localhost the page is not a
	// secure context: no WebCrypto, and the receipt says verification is
	// unavailable rather than pretending.
	insecure := hostURL(s.url, "hashtrail.test")
	browser.Navigate(t, ctx, insecure+"/ui/signin?next="+url.QueryEscape(eventPath))
	browser.WaitFor(t, ctx, uiPageWait, "the sign-in form on hashtrail.test", `document.querySelector("#credential")`, `location.href`)
	browser.Eval[bool](t, ctx, `document.querySelector("#credential").value = `+browser.JSON(key)+`; document.querySelector("#credential").form.submit(); true`)
	browser.WaitFor(t, ctx, uiPageWait, "the receipt unavailable on an insecure page",
		`location.host.startsWith("hashtrail.test") && document.querySelector("[data-hashtrail-verify]") && document.querySelector("[data-hashtrail-verify]").dataset.state === "unavailable"`,
		`location.href + " " + (document.querySelector("[data-hashtrail-verify]") || document.body).innerText.slice(0, 400)`)
	if r := text("[data-hashtrail-verify]"); !strings.Contains(r, "not a secure context") || strings.Contains(r, "Verified in your browser") {
		t.Errorf("receipt on an insecure page: %q", r)
	}
	browser.Navigate(t, ctx, s.url+"/ui/t/acme/")

	// A viewer token signs in too: its filter limits every page, its hidden
	// fields are in no page, and its proofs still verify.
	var vt struct{ Token string }
	if code := callJSON(t, http.DefaultClient, "POST", s.url+"/v1/tenants/acme/viewer-tokens", key,
		map[string]any{"filter": "category:authentication", "expires_in": "10m"}, &vt); code != 201 {
		t.Fatalf("viewer token: %d", code)
	}
	browser.Eval[bool](t, ctx, `document.querySelector('form[action="/ui/signout"]').submit(); true`)
	browser.WaitFor(t, ctx, uiPageWait, "signed out", `!document.querySelector('form[action="/ui/signout"]')`, `location.href`)
	open("/ui/signin?next=" + url.QueryEscape("/ui/t/acme/"))
	browser.WaitFor(t, ctx, uiPageWait, "the sign-in form", `document.querySelector("#credential")`, `location.href`)
	browser.Eval[bool](t, ctx, `document.querySelector("#credential").value = `+browser.JSON(vt.Token)+`; document.querySelector("#credential").form.submit(); true`)
	browser.WaitFor(t, ctx, uiPageWait, "the viewer's feed", `location.pathname === "/ui/t/acme/" && document.querySelector("ol.events li.ev")`, `location.href + " " + document.body.innerText.slice(0, 300)`)
	if n := browser.Eval[int](t, ctx, `document.querySelectorAll("ol.events li.ev:not(.cat-authentication)").length`); n != 0 {
		t.Errorf("the viewer's feed shows %d events outside its filter", n)
	}
	// (the search box's suggestions hold an example range: not an address)
	docIPs := `(() => { const d = document.documentElement.cloneNode(true); d.querySelectorAll("datalist").forEach((x) => x.remove());
		return /(192\.0\.2\.|198\.51\.100\.|203\.0\.113\.|2001:db8:)/.test(d.outerHTML) })()`
	if browser.Eval[bool](t, ctx, docIPs) {
		t.Error("the viewer's feed shows an IP address, which its token hides")
	}
	browser.Eval[bool](t, ctx, `document.querySelector("ol.events li.ev a.ev-action").click(); true`)
	browser.WaitFor(t, ctx, uiPageWait, "the viewer's receipt verified",
		`document.querySelector("[data-hashtrail-verify]") && document.querySelector("[data-hashtrail-verify]").dataset.state === "verified"`,
		`location.href + " " + (document.querySelector("[data-hashtrail-verify]") || document.body).innerText`)
	if browser.Eval[bool](t, ctx, docIPs) {
		t.Error("the viewer's event page shows an IP address, which its token hides")
	}
	axeCheck(t, ctx, "viewer event")

	// 10,000 events, every one reached by following the cursor links: the
	// first pages by navigating, then every page as the browser fetches it
	// (same session, same HTML, same links; no rendering, to stay fast).
	browser.Eval[bool](t, ctx, `document.querySelector('form[action="/ui/signout"]').submit(); true`)
	browser.WaitFor(t, ctx, uiPageWait, "signed out", `!document.querySelector('form[action="/ui/signout"]')`, `location.href`)
	open("/ui/signin?next=" + url.QueryEscape("/ui/t/big/"))
	browser.WaitFor(t, ctx, uiPageWait, "the sign-in form", `document.querySelector("#credential")`, `location.href`)
	browser.Eval[bool](t, ctx, `document.querySelector("#credential").value = `+browser.JSON(key)+`; document.querySelector("#credential").form.submit(); true`)
	start := time.Now()
	browser.WaitFor(t, ctx, uiPageWait, "the big tenant's feed", `location.pathname === "/ui/t/big/" && document.readyState === "complete"`, `location.href`)
	// Endless scroll: scrolling down appends the older pages in place.
	for i := range 4 {
		browser.Eval[bool](t, ctx, `window.scrollTo(0, document.body.scrollHeight); true`)
		want := 50 * (i + 2)
		browser.WaitFor(t, ctx, uiPageWait, fmt.Sprintf("%d events after scrolling", want),
			fmt.Sprintf(`document.querySelectorAll("ol.events li.ev").length >= %d`, want), `document.querySelectorAll("ol.events li.ev").length`)
	}
	if dup := browser.Eval[bool](t, ctx, `(() => { const s = Array.from(document.querySelectorAll("ol.events li.ev"), (li) => li.dataset.seq); return new Set(s).size !== s.length })()`); dup {
		t.Error("endless scroll shows an event twice")
	}
	browser.Navigate(t, ctx, s.url+"/ui/t/big/")
	for range 3 {
		older := browser.Eval[string](t, ctx, `(document.querySelector("a[data-older]") || {}).href || ""`)
		if older == "" {
			t.Fatalf("no link to older events on %s", here())
		}
		browser.Navigate(t, ctx, older)
	}
	if n := browser.Eval[int](t, ctx, `document.querySelectorAll("ol.events li.ev").length`); n == 0 || !strings.Contains(here(), "cursor=") {
		t.Fatalf("the fourth page: %s with %d events", here(), n)
	}
	type walk struct {
		Seqs  []string `json:"seqs"`
		Pages int      `json:"pages"`
		Error string   `json:"error"`
	}
	w := browser.Eval[walk](t, ctx, `(async () => {
		let url = new URL("/ui/t/big/", location.href).href;
		const seqs = [];
		let pages = 0;
		while (url && pages <= 10000) {
			const res = await fetch(url, {credentials: "same-origin"});
			if (!res.ok) return {seqs, pages, error: url + ": HTTP " + res.status};
			const doc = new DOMParser().parseFromString(await res.text(), "text/html");
			for (const li of doc.querySelectorAll("ol.events li.ev")) seqs.push(li.dataset.seq);
			const a = doc.querySelector("a[data-older]");
			url = a ? new URL(a.getAttribute("href"), url).href : "";
			pages++;
		}
		return {seqs, pages, error: ""};
	})()`)
	if w.Error != "" {
		t.Fatal(w.Error)
	}
	seen := map[string]bool{}
	for _, s := range w.Seqs {
		if seen[s] {
			t.Fatalf("event seq %s shown twice", s)
		}
		seen[s] = true
	}
	pages := w.Pages
	var total struct{ Size int64 }
	callJSON(t, http.DefaultClient, "GET", s.url+"/v1/tenants/big", key, nil, &total)
	if int64(len(seen)) != total.Size || total.Size < bigN {
		t.Errorf("paging showed %d events, the tenant has %d (≥ %d ingested)", len(seen), total.Size, bigN)
	}
	t.Logf("paged through %d events in %d pages in %s", len(seen), pages, time.Since(start).Round(time.Millisecond))
}

// bigTenant creates tenant with n events, ingested in batches of 1,000.
func bigTenant(t *testing.T, base, key, tenant string, n int) {
	t.Helper()
	if code := callJSON(t, http.DefaultClient, "POST", base+"/v1/tenants", key, map[string]any{"id": tenant}, nil); code != 201 {
		t.Fatalf("create tenant %s: %d", tenant, code)
	}
	now := time.Now().UTC()
	for i := 0; i < n; i += 1000 {
		batch := make([]map[string]any, 0, 1000)
		for j := i; j < min(i+1000, n); j++ {
			batch = append(batch, map[string]any{"id": fmt.Sprintf("big-%05d", j), "action": "user.login",
				"time":  now.Add(time.Duration(j-n) * time.Second).Format(time.RFC3339),
				"actor": map[string]any{"type": "user", "id": fmt.Sprint(j % 50)}})
		}
		if code := callJSON(t, http.DefaultClient, "POST", base+"/v1/tenants/"+tenant+"/events", key, map[string]any{"events": batch}, nil); code != 200 {
			t.Fatalf("ingest into %s: %d", tenant, code)
		}
	}
}

// compareEmbedSentences opens the embed for acme (a viewer token hiding
// nothing) on another origin, loads 200 events and compares each one's
// sentence with the UI's, by seq.
func compareEmbedSentences(t *testing.T, b *browser.Browser, server, key string, ui map[string]string) {
	t.Helper()
	var html string
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { servePage(html)(w, r) })
	host := httptest.NewServer(mux)
	defer host.Close()
	var tok struct{ Token string }
	if code := callJSON(t, http.DefaultClient, "POST", server+"/v1/tenants/acme/viewer-tokens", key,
		map[string]any{"hidden_fields": []string{}, "allowed_origins": []string{host.URL}}, &tok); code != 201 {
		t.Fatalf("viewer token: %d", code)
	}
	html = fmt.Sprintf(hostPage, tok.Token, server, server+"/ui/static/embed.js")
	html = strings.Replace(html, `page-size="25"`, `page-size="200"`, 1)
	ctx := b.Tab(t, time.Minute)
	browser.Navigate(t, ctx, host.URL)
	browser.WaitFor(t, ctx, uiPageWait, "200 events in the embed", shadow+` && `+shadow+`.querySelectorAll("article").length >= 200`, "")
	rows := browser.Eval[[][2]string](t, ctx, `Array.from(`+shadow+`.querySelectorAll("article"), (a) => [a.dataset.seq, a.querySelector(".sentence").firstChild.textContent.replace(/\s+/g, " ").trim()])`)
	compared := 0
	for _, r := range rows {
		want, ok := ui[r[0]]
		if !ok {
			continue
		}
		compared++
		if r[1] != want {
			t.Errorf("event %s: the embed says %q, the UI %q", r[0], r[1], want)
		}
	}
	if compared < 150 {
		t.Errorf("only %d events compared", compared)
	}
	t.Logf("%d sentences of the embed and the UI compared", compared)
}
