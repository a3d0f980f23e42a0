package main

// The embedded audit-log viewer: two pages that show Hashtrail's
// <hashtrail-log> element (docs/embed.md) with a viewer token the app
// mints on the server for each page view, so the browser never holds an
// API key:
//
//   - GET /projects/{id}/history: everything that happened to a project,
//     for its owner; the token's filter is target:project:ID and it hides
//     the IP addresses and user agents of whoever acted (the default);
//   - GET /me/security: the signed-in user's own security history
//     (sign-ins, failed sign-ins, password changes, keys), as PyPI shows
//     it: the token's filter is actor:user:ID and it hides nothing, since
//     these are the user's own addresses and devices.

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"strings"
	"time"
)

// viewerTokenTTL is how long a page's token lives: a page view, plus
// margin for a user who reads for a while.
const viewerTokenTTL = "30m"

// viewerToken asks Hashtrail for a viewer token (POST
// /v1/tenants/{t}/viewer-tokens) with the app's viewer key, a key of the
// tenant allowed to mint them. hidden nil keeps Hashtrail's default
// (context.ip and context.user_agent hidden).
func (a *app) viewerToken(ctx context.Context, filter string, hidden []string, origin string) (string, error) {
	if a.cfg.ViewerKey == "" {
		return "", &httpError{http.StatusServiceUnavailable, "the audit log viewer is not set up (HASHTRAIL_VIEWER_KEY)"}
	}
	req := map[string]any{"filter": filter, "allowed_origins": []string{origin}, "expires_in": viewerTokenTTL}
	if hidden != nil {
		req["hidden_fields"] = hidden
	}
	body, _ := json.Marshal(req)
	r, err := http.NewRequestWithContext(ctx, "POST", strings.TrimRight(a.cfg.HashtrailURL, "/")+"/v1/tenants/"+a.cfg.Tenant+"/viewer-tokens", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	r.Header.Set("Authorization", "Bearer "+a.cfg.ViewerKey)
	r.Header.Set("Content-Type", "application/json")
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(r)
	if err != nil {
		return "", fmt.Errorf("minting a viewer token: %w", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("minting a viewer token: Hashtrail answered %d: %.200s", resp.StatusCode, raw)
	}
	var tok struct{ Token string }
	if err := json.Unmarshal(raw, &tok); err != nil || tok.Token == "" {
		return "", errors.New("minting a viewer token: no token in Hashtrail's answer")
	}
	return tok.Token, nil
}

// origin is the app's origin as the browser sees it: APP_ORIGIN when set
// (behind a proxy), else the request's scheme and host.
func (a *app) origin(r *http.Request) string {
	if a.cfg.Origin != "" {
		return a.cfg.Origin
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// publicURL is Hashtrail's address as browsers reach it.
func (a *app) publicURL() string {
	if a.cfg.HashtrailPublicURL != "" {
		return strings.TrimRight(a.cfg.HashtrailPublicURL, "/")
	}
	return strings.TrimRight(a.cfg.HashtrailURL, "/")
}

// projectHistory serves GET /projects/{id}/history to the project's owner.
func (a *app) projectHistory(w http.ResponseWriter, r *http.Request, u *user) error {
	ctx := r.Context()
	var p *project
	err := a.inTx(ctx, func(tx *sql.Tx) (err error) {
		p, err = loadProject(ctx, tx, r.PathValue("id"), u)
		return err
	})
	if err != nil {
		return err
	}
	tok, err := a.viewerToken(ctx, "target:project:"+p.idString(), nil, a.origin(r))
	if err != nil {
		return err
	}
	return a.viewerPage(w, viewerPageData{Title: p.Name + " · history", Heading: "Project " + p.Name,
		Lead: "Everything that happened to this project.", LogHeading: "Project history", Token: tok, Server: a.publicURL()})
}

// mySecurity serves GET /me/security: the user's own security history.
func (a *app) mySecurity(w http.ResponseWriter, r *http.Request, u *user) error {
	tok, err := a.viewerToken(r.Context(), "actor:user:"+u.id()+" category:authentication,account,security", []string{}, a.origin(r))
	if err != nil {
		return err
	}
	return a.viewerPage(w, viewerPageData{Title: "Security history", Heading: "Your security history",
		Lead:       "Sign-ins, failed sign-ins and changes to your account, with the addresses and devices they came from.",
		LogHeading: "Security history", Token: tok, Server: a.publicURL()})
}

type viewerPageData struct {
	Title, Heading, Lead, LogHeading string
	Token, Server                    string
}

var viewerTemplate = template.Must(template.New("viewer").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body { margin: 0; font-family: system-ui, sans-serif; background: #f6f8fa; color: #1f2328; }
header { background: #24292f; color: #fff; padding: 14px 32px; font-weight: 600; }
main { max-width: 880px; margin: 24px auto; padding: 0 24px; }
h1 { font-size: 22px; margin: 0 0 4px; } p { margin: 0 0 16px; color: #59636e; }
hashtrail-log { --hashtrail-accent: #0969da; }
</style></head>
<body><header>go-app</header>
<main><h1>{{.Heading}}</h1><p>{{.Lead}}</p>
<hashtrail-log token="{{.Token}}" server="{{.Server}}" heading="{{.LogHeading}}"></hashtrail-log>
</main>
<script src="{{.Server}}/ui/static/embed.js" defer></script>
</body></html>`))

// viewerPage answers a page with the viewer. The token is in the page, so
// the page must not be cached or framed elsewhere.
func (a *app) viewerPage(w http.ResponseWriter, d viewerPageData) error {
	var b bytes.Buffer
	if err := viewerTemplate.Execute(&b, d); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	_, err := w.Write(b.Bytes())
	return err
}
