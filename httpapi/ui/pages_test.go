package ui_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	hashtrail "github.com/hashtrail/hashtrail"
)

func TestPagingAndLive(t *testing.T) {
	e := newEnv(t)
	var batch []string
	for i := range 60 {
		batch = append(batch, `{"id":"p`+strconv.Itoa(i)+`","action":"data.read","actor":{"type":"user","id":"42"},"targets":[{"type":"report","id":"r`+strconv.Itoa(i)+`"}]}`)
	}
	e.ingest("acme", "["+strings.Join(batch, ",")+"]")
	b := e.browser()
	b.signIn(e.acmeRead)
	first := b.get("/ui/t/acme/?q=" + url.QueryEscape("action:data.read"))
	older := regexp.MustCompile(`href="([^"]+)" rel="next"`).FindStringSubmatch(first.body)
	if older == nil || strings.Count(first.body, `class="ev `) != 50 {
		t.Fatalf("first page: %d rows, older link %v", strings.Count(first.body, `class="ev `), older)
	}
	next := b.get(strings.ReplaceAll(older[1], "&amp;", "&") + "&partial=1")
	if next.status != 200 || strings.Count(next.body, `class="ev `) != 10 || strings.Contains(next.body, "<html") {
		t.Fatalf("second page fragment: %d, %d rows", next.status, strings.Count(next.body, `class="ev `))
	}
	top := regexp.MustCompile(`data-top-seq="(\d+)"`).FindStringSubmatch(first.body)
	e.ingest("acme", `[{"id":"new1","action":"data.read","actor":{"type":"user","id":"42"}},{"id":"new2","action":"user.logout","actor":{"type":"user","id":"42"}}]`)
	live := b.get("/ui/t/acme/live?q=action%3Adata.read&after=" + top[1])
	if live.status != 200 || !strings.Contains(live.body, `"count":1`) {
		t.Fatalf("live: %d %s", live.status, live.body)
	}
}

func TestEventPageAndProof(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn(e.acmeRead)
	p := b.get("/ui/t/acme/events/e3")
	for _, want := range []string{"<del>viewer</del>", "<ins>admin</ins>", `data-hashtrail-verify`, `data-proof-url="/ui/t/acme/events/e3/proof.json"`, "checkpoint <strong>"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("event page lacks %q", want)
		}
	}
	secret := b.get("/ui/t/acme/events/e5")
	if !strings.Contains(secret.body, "[redacted]") {
		t.Error("a secret change is not shown as redacted")
	}
	deploy := b.get("/ui/t/acme/events/e4")
	if !strings.Contains(deploy.body, `class="terminal"`) || !strings.Contains(deploy.body, "dokku git:sync checkout") || !strings.Contains(deploy.body, "Exit code 0") {
		t.Error("the deploy's output is not in a terminal block")
	}
	proof := b.get("/ui/t/acme/events/e3/proof.json")
	var doc struct {
		ID         string   `json:"id"`
		Leaf       []byte   `json:"leaf"`
		Checkpoint string   `json:"checkpoint"`
		LogKeys    []string `json:"log_keys"`
		Origin     string   `json:"origin"`
		Proof      struct {
			LeafIndex int64 `json:"leaf_index"`
			TreeSize  int64 `json:"tree_size"`
		} `json:"proof"`
	}
	if err := json.Unmarshal([]byte(proof.body), &doc); err != nil {
		t.Fatalf("proof.json: %v\n%s", err, proof.body)
	}
	if doc.ID != "e3" || len(doc.Leaf) == 0 || len(doc.LogKeys) == 0 || doc.Origin != "ui.example/acme" || doc.Proof.LeafIndex != 2 || doc.Proof.TreeSize < 3 ||
		!strings.HasPrefix(doc.Checkpoint, "ui.example/acme\n") {
		t.Fatalf("proof.json: %+v", doc)
	}
}

func TestPersonAndObjectPages(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn(e.acmeAdmin)
	p := b.get("/ui/t/acme/people/user:42")
	for _, want := range []string{"Alice", "Germany (DE)", "Brazil (BR)", "Firefox on Linux", "failed sign-ins"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("person page lacks %q", want)
		}
	}
	bob := b.get("/ui/t/acme/people/user:7")
	if !strings.Contains(bob.body, `<span class="role">admin</span>`) {
		t.Error("bob's roles do not show admin")
	}
	obj := b.get("/ui/t/acme/objects/project/7")
	for _, want := range []string{"Payments", "/ui/t/acme/objects/app/checkout", "/ui/t/acme/events/e3", "/ui/t/acme/events/e4"} {
		if !strings.Contains(obj.body, want) {
			t.Errorf("object page lacks %q", want)
		}
	}
	app := b.get("/ui/t/acme/objects/app/checkout")
	if !strings.Contains(app.body, "/ui/t/acme/objects/env_var/DATABASE_URL") {
		t.Error("the app's page does not list its environment variable")
	}
}

func TestSavedViews(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn(e.acmeAdmin)
	view := "/ui/t/acme/?bucket=day&columns=time%2Cactor%2Ccontext.ip%2Coutcome&group_by=country&q=action%3Auser.login%2Cuser.login_failed&range=7d"
	p := b.get(view)
	if p.status != 200 || !strings.Contains(p.body, "Events by country") || !strings.Contains(p.body, "Germany (DE)") ||
		!strings.Contains(p.body, `<th scope="col">IP address</th>`) || !strings.Contains(p.body, "<code>203.0.113.7</code>") || !strings.Contains(p.body, `class="chart-svg"`) {
		t.Fatalf("a view with stats and columns: %d\n%.2000s", p.status, p.body)
	}
	form := url.Values{"csrf": {p.csrf(t)}, "name": {"Sign-ins by country"}, "q": {"action:user.login,user.login_failed"},
		"range": {"7d"}, "group_by": {"country"}, "bucket": {"day"}, "columns": {"time,actor,context.ip,outcome"}}
	saved := b.post("/ui/t/acme/searches", form)
	if saved.status != http.StatusSeeOther || !strings.HasPrefix(saved.header.Get("Location"), view+"&saved=") {
		t.Fatalf("save: %d %s", saved.status, saved.header.Get("Location"))
	}
	again := b.get(view)
	if !strings.Contains(again.body, `aria-current="page">Sign-ins by country</a>`) {
		t.Error("the saved view is not listed as the current one")
	}
	r := e.browser()
	r.signIn(e.acmeRead)
	if p := r.get("/ui/t/acme/"); !strings.Contains(p.body, "Sign-ins by country") || strings.Contains(p.body, "Save this view") {
		t.Error("a read key should see saved views but not the save form")
	}
	v := e.browser()
	v.signIn(e.viewer)
	if p := v.get("/ui/t/acme/"); strings.Contains(p.body, "Sign-ins by country") {
		t.Error("a viewer token sees the tenant's saved views")
	}
	list, err := e.led.SavedSearches(t.Context(), "acme")
	if err != nil || len(list.Searches) != 1 {
		t.Fatalf("saved searches: %v", err)
	}
	del := b.post("/ui/t/acme/searches/"+list.Searches[0].ID+"/delete", url.Values{"csrf": {again.csrf(t)}})
	if del.status != http.StatusSeeOther {
		t.Fatalf("delete: %d", del.status)
	}
	if list, _ := e.led.SavedSearches(t.Context(), "acme"); len(list.Searches) != 0 {
		t.Fatal("the saved view was not deleted")
	}
}

func TestRootRedirectsToUI(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	if p := b.get("/"); p.status != http.StatusFound || p.header.Get("Location") != "/ui/" {
		t.Fatalf("/: %d %s", p.status, p.header.Get("Location"))
	}
	// The API is untouched: its own 404 for an unknown path, problem+json.
	if p := b.get("/nowhere"); p.status != http.StatusNotFound || !strings.HasPrefix(p.header.Get("Content-Type"), "application/problem+json") {
		t.Fatalf("/nowhere: %d %s", p.status, p.header.Get("Content-Type"))
	}
	// A UI page that does not exist is an HTML 404.
	if p := b.get("/ui/t/acme/nowhere/at/all"); p.status != http.StatusSeeOther && p.status != http.StatusNotFound {
		t.Fatalf("/ui/ unknown: %d", p.status)
	}
}

// A viewer token that hides the fields the dashboard groups by still gets
// the dashboard, with totals and without those groups.
func TestDashboardHidingViewer(t *testing.T) {
	e := newEnv(t)
	vt, err := e.led.CreateViewerToken(t.Context(), &hashtrail.ViewerTokenRequest{Tenant: "acme",
		HiddenFields: []string{"context.location", "actor.email", "context.ip"}, ExpiresIn: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.signIn(vt.Token)
	p := b.get("/ui/t/acme/dashboard")
	if p.status != 200 || strings.Contains(p.body, "Brazil") || strings.Contains(p.body, "alice@example.com") {
		t.Fatalf("dashboard for a viewer hiding location and email: %d", p.status)
	}
	m := regexp.MustCompile(`stat-n">(\d+)</span><span class="stat-l">events`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatal("the dashboard's total is missing")
	}
	if n, _ := strconv.Atoi(m[1]); n < 5 {
		t.Errorf("the dashboard counts %d events; the tenant has at least 5", n)
	}
}

func TestExportView(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn(e.acmeRead)
	feed := b.get("/ui/t/acme/?q=" + url.QueryEscape("outcome:failure"))
	if !strings.Contains(feed.body, `href="/ui/t/acme/export?format=csv&amp;q=outcome%3Afailure" download`) {
		t.Fatal("the feed offers no CSV download of its view")
	}
	p := b.get("/ui/t/acme/export?format=csv&q=" + url.QueryEscape("outcome:failure"))
	if p.status != 200 || !strings.HasPrefix(p.header.Get("Content-Type"), "text/csv") || !strings.Contains(p.header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("export: %d %s", p.status, p.header.Get("Content-Type"))
	}
	if lines := strings.Count(strings.TrimSpace(p.body), "\n"); lines != 1 || !strings.Contains(p.body, "e2") || strings.Contains(p.body, "e1,") {
		t.Fatalf("export of outcome:failure: %d rows\n%s", lines, p.body)
	}
	got, err := e.led.Events(t.Context(), &hashtrail.Query{Tenant: "acme", Actions: []string{"data.export"}, Limit: 5, Order: hashtrail.OrderDesc})
	if err != nil || len(got.Events) == 0 {
		t.Fatalf("the export was not recorded: %v", err)
	}
	v := e.browser()
	v.signIn(e.viewer)
	if p := v.get("/ui/t/acme/export?format=csv"); p.status != http.StatusForbidden {
		t.Fatalf("a viewer token's export: %d", p.status)
	}
	if p := v.get("/ui/t/acme/"); strings.Contains(p.body, "/export?") {
		t.Error("a viewer token is offered downloads")
	}
}

// Behind a proxy that terminated TLS, the cookies are Secure.
func TestSecureCookiesBehindTLSProxy(t *testing.T) {
	e := newEnv(t)
	req, _ := http.NewRequest("GET", e.srv.URL+"/ui/signin", nil)
	req.Header.Set("X-Forwarded-Proto", "https")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	c := res.Header.Get("Set-Cookie")
	if !strings.HasPrefix(c, "ht_login=") || !strings.Contains(c, "Secure") || !strings.Contains(c, "HttpOnly") {
		t.Fatalf("sign-in form cookie behind TLS: %q", c)
	}
	res, err = http.Get(e.srv.URL + "/ui/signin")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if strings.Contains(res.Header.Get("Set-Cookie"), "Secure") {
		t.Fatal("a plain-HTTP answer set a Secure cookie the browser would drop")
	}
}
