package ui_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/httpapi/ui"
	"github.com/hashtrail/hashtrail/ledger"
	"github.com/hashtrail/hashtrail/store/sqlite"
)

// BenchmarkPages renders the main pages of a tenant of 10,000 events on
// SQLite, signed in with an admin key: the cost of a page on top of the
// engine's queries.
//
//	go test -run '^$' -bench Pages -benchtime 200x ./httpapi/ui/
func BenchmarkPages(b *testing.B) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "h.db"), sqlite.Config{})
	if err != nil {
		b.Fatal(err)
	}
	l := ledger.New(st, ledger.Config{})
	b.Cleanup(func() { l.Close(context.Background()); st.Close() })
	if _, err := l.CreateTenant(ctx, &hashtrail.Tenant{ID: "acme"}); err != nil {
		b.Fatal(err)
	}
	countries := []string{"DE", "US", "BR", "JP", "FR"}
	for batch := range 10 {
		var subs []*hashtrail.Submission
		for i := range 1000 {
			n := batch*1000 + i
			action, outcome := "user.login", "success"
			if n%7 == 0 {
				action, outcome = "user.login_failed", "failure"
			}
			if n%5 == 0 {
				action = "project.update"
			}
			raw := fmt.Sprintf(`{"id":"b%d","action":%q,"outcome":%q,"actor":{"type":"user","id":"%d","name":"User %d","email":"u%d@example.com"},
				"targets":[{"type":"project","id":"%d"}],"context":{"ip":"203.0.113.%d","user_agent":"Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0","location":{"country":%q}}}`,
				n, action, outcome, n%50, n%50, n%50, n%20, n%250, countries[n%5])
			sub, errs := hashtrail.DecodeEvent([]byte(raw), "", hashtrail.DecodeOptions{PathTenant: "acme"}, hashtrail.NewTime(time.Now()))
			if errs != nil {
				b.Fatal(errs)
			}
			sub.Index = i
			subs = append(subs, sub)
		}
		if _, err := l.Ingest(ctx, &hashtrail.IngestRequest{Tenant: "acme", Submissions: subs}); err != nil {
			b.Fatal(err)
		}
	}
	k, err := l.CreateKey(ctx, &hashtrail.KeyRequest{Tenant: "acme", Role: hashtrail.RoleAdmin})
	if err != nil {
		b.Fatal(err)
	}
	h, err := ui.New(l, ui.Config{})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	e := &env{t: b, srv: srv}
	br := e.browser()
	form := br.get("/ui/signin")
	if p := br.post("/ui/signin", url.Values{"csrf": {form.csrf(e.t)}, "credential": {k.Secret}}); p.status != http.StatusSeeOther {
		b.Fatalf("sign-in: %d", p.status)
	}
	for _, page := range []struct{ name, path string }{
		{"feed", "/ui/t/acme/"},
		{"search", "/ui/t/acme/?q=" + url.QueryEscape("action:user.login_failed country:BR")},
		{"fulltext", "/ui/t/acme/?q=" + url.QueryEscape(`"User 7"`)},
		{"event", "/ui/t/acme/events/b9999"},
		{"person", "/ui/t/acme/people/user:7"},
		{"object", "/ui/t/acme/objects/project/3"},
		{"dashboard", "/ui/t/acme/dashboard"},
	} {
		b.Run(page.name, func(b *testing.B) {
			for b.Loop() {
				if p := br.get(page.path); p.status != 200 || !strings.Contains(p.body, "</html>") {
					b.Fatalf("%s: %d", page.path, p.status)
				}
			}
		})
	}
}
