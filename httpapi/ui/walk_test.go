package ui_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// walkPaths gives every UI route a concrete path; a route missing here
// fails the walk, so a new page cannot skip it.
var walkPaths = map[string]string{
	"GET /ui/static/{file}":                       "/ui/static/app.js",
	"GET /ui/signin":                              "/ui/signin",
	"POST /ui/signin":                             "/ui/signin",
	"POST /ui/signout":                            "/ui/signout",
	"GET /ui/{$}":                                 "/ui/",
	"GET /ui/tenants":                             "/ui/tenants",
	"GET /ui/t/{tenant}/{$}":                      "/ui/t/acme/",
	"GET /ui/t/{tenant}/live":                     "/ui/t/acme/live?after=0",
	"GET /ui/t/{tenant}/export":                   "/ui/t/acme/export?format=csv",
	"POST /ui/t/{tenant}/searches":                "/ui/t/acme/searches",
	"POST /ui/t/{tenant}/searches/{id}/delete":    "/ui/t/acme/searches/ss_none/delete",
	"GET /ui/t/{tenant}/events/{id}":              "/ui/t/acme/events/e3",
	"GET /ui/t/{tenant}/events/{id}/proof.json":   "/ui/t/acme/events/e3/proof.json",
	"GET /ui/t/{tenant}/people/{actor}":           "/ui/t/acme/people/user:42",
	"GET /ui/t/{tenant}/objects/{type}/{id}":      "/ui/t/acme/objects/project/7",
	"GET /ui/t/{tenant}/dashboard":                "/ui/t/acme/dashboard",
	"GET /ui/t/{tenant}/integrity":                "/ui/t/acme/integrity",
	"GET /ui/t/{tenant}/admin/keys":               "/ui/t/acme/admin/keys",
	"POST /ui/t/{tenant}/admin/keys":              "/ui/t/acme/admin/keys",
	"POST /ui/t/{tenant}/admin/keys/{id}/revoke":  "/ui/t/acme/admin/keys/key_none/revoke",
	"GET /ui/t/{tenant}/admin/retention":          "/ui/t/acme/admin/retention",
	"POST /ui/t/{tenant}/admin/holds":             "/ui/t/acme/admin/holds",
	"POST /ui/t/{tenant}/admin/holds/{id}/remove": "/ui/t/acme/admin/holds/hold_none/remove",
	"GET /ui/t/{tenant}/admin/sinks":              "/ui/t/acme/admin/sinks",
	"POST /ui/t/{tenant}/admin/sinks/{id}/pause":  "/ui/t/acme/admin/sinks/snk_none/pause",
	"POST /ui/t/{tenant}/admin/sinks/{id}/resume": "/ui/t/acme/admin/sinks/snk_none/resume",
	"GET /ui/t/{tenant}/admin/alerts":             "/ui/t/acme/admin/alerts",
}

// TestRouteWalk calls every UI route with every kind of credential: signed
// out, a tenant's admin and read keys, a viewer token, an installation-wide
// admin key and another tenant's admin key. Pages render (200) for those
// who may read them, admin pages answer 403 to others, another tenant's
// pages 404, and nothing answers 500. Every POST refuses a missing CSRF
// token.
func TestRouteWalk(t *testing.T) {
	e := newEnv(t)
	type cred struct {
		name, secret  string
		admin, viewer bool
		otherTenant   bool
	}
	creds := []cred{
		{name: "signed out"},
		{name: "tenant admin", secret: e.acmeAdmin, admin: true},
		{name: "tenant read", secret: e.acmeRead},
		{name: "viewer token", secret: e.viewer, viewer: true},
		{name: "installation admin", secret: e.install, admin: true},
		{name: "other tenant's admin", secret: e.globexAdmin, admin: true, otherTenant: true},
	}
	open := []string{"GET /ui/static/{file}", "GET /ui/signin"}
	for _, route := range e.ui.Routes() {
		path, ok := walkPaths[route]
		if !ok {
			t.Errorf("route %s is not in the walk", route)
			continue
		}
		method, pattern, _ := strings.Cut(route, " ")
		for _, c := range creds {
			b := e.browser()
			csrf := ""
			if c.secret != "" {
				csrf = b.signIn(c.secret)
			}
			var got page
			if method == http.MethodGet {
				got = b.get(path)
			} else {
				got = b.post(path, url.Values{}) // no CSRF token
			}
			if got.status >= 500 {
				t.Errorf("%s as %s: %d", route, c.name, got.status)
				continue
			}
			want := 0
			adminPage := strings.Contains(pattern, "/admin/")
			switch {
			case method == http.MethodPost && route == "POST /ui/signin":
				want = http.StatusForbidden // no sign-in form token
			case method == http.MethodPost && c.secret == "":
				if route == "POST /ui/signout" {
					want = http.StatusSeeOther
				} else {
					want = http.StatusUnauthorized
				}
			case method == http.MethodPost:
				want = http.StatusForbidden // the CSRF token is missing
			case slices.Contains(open, route):
				want = http.StatusOK
			case c.secret == "":
				want = http.StatusSeeOther // to the sign-in page
			case route == "GET /ui/{$}":
				want = http.StatusSeeOther
			case route == "GET /ui/tenants":
				want = http.StatusOK
			case route == "GET /ui/t/{tenant}/export" && c.viewer && !c.otherTenant:
				want = http.StatusForbidden // viewer tokens may not export
			case c.otherTenant:
				want = http.StatusNotFound
			case adminPage && !c.admin:
				want = http.StatusForbidden
			default:
				want = http.StatusOK
			}
			if got.status != want {
				t.Errorf("%s as %s: %d, want %d\n%.300s", route, c.name, got.status, want, got.body)
			}
			// With the session's token, a POST reaches the service, which
			// decides: the test's ids do not exist, so 404 for admins, 403
			// for the others.
			if method == http.MethodPost && csrf != "" && strings.HasPrefix(pattern, "/ui/t/") && !c.otherTenant {
				form := url.Values{"csrf": {csrf}, "role": {"read"}, "filter": {"actor:user:1"}, "reason": {"walk"}, "name": {"walk"}, "q": {"action:user.*"}}
				got := b.post(path, form)
				ok := got.status == http.StatusNotFound || got.status == http.StatusCreated || got.status == http.StatusSeeOther
				if !c.admin {
					ok = got.status == http.StatusForbidden
				}
				if !ok {
					t.Errorf("%s as %s with the token: %d\n%.300s", route, c.name, got.status, got.body)
				}
			}
		}
	}
}
