// Package ui is Hashtrail's web UI: server-rendered pages over a
// hashtrail.LogService, mounted by httpapi under /ui/.
//
// Every page is an html/template rendered on the server, so reading works
// with JavaScript disabled; a little hand-written JavaScript (static/app.js)
// adds endless scroll, live updates and search suggestions. Assets are
// embedded in the binary (embed.FS) and served from /ui/static/ with an
// ETag, and for ?v=<content hash> URLs as immutable.
//
// Signing in takes an API key or a viewer token. The UI keeps no state of
// its own: the credential is sealed (AES-256-GCM) into an HttpOnly cookie
// with its expiry and a CSRF token, and every request re-authenticates it
// with the service and calls the service as that principal. So every
// authorization rule of the API applies unchanged (a viewer token sees only
// its filter and never its hidden fields), a revoked key ends its sessions
// at once, and any node that shares the session key (Config.SessionKey)
// serves any session. Every form carries the session's CSRF token, and
// every page a strict Content-Security-Policy without inline scripts or
// styles.
package ui

import (
	"context"
	"crypto/rand"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
)

// Config configures a Handler. Every field is optional.
type Config struct {
	// SessionKey seals session cookies: 32 bytes, the same on every node
	// that serves the UI. Nil makes a random key, so sessions end when the
	// process does (fine for one node).
	SessionKey []byte
	// SessionTTL is how long a session lasts after sign-in (default 8h).
	// A viewer token's session ends with the token, whichever comes first.
	SessionTTL time.Duration
	// SecureCookies marks cookies Secure even on plain HTTP requests, for a
	// server behind a proxy that terminates TLS. Requests over TLS always
	// get Secure cookies.
	SecureCookies bool
	// Logger receives internal errors (never secrets, paths or personal
	// data). Nil discards.
	Logger *slog.Logger
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// DefaultSessionTTL is Config.SessionTTL's default.
const DefaultSessionTTL = 8 * time.Hour

// Handler serves the UI under /ui/. It is safe for concurrent use.
type Handler struct {
	svc    hashtrail.LogService
	cfg    Config
	log    *slog.Logger
	sealer *sealer
	mux    *http.ServeMux
	pages  map[string]*template.Template
	assets *assets
	alerts alertsService // nil when the service has no alerts
	// patterns are the registered routes, in order.
	patterns []string
}

// New returns the UI over svc.
func New(svc hashtrail.LogService, cfg Config) (*Handler, error) {
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	key := cfg.SessionKey
	if key == nil {
		key = make([]byte, 32)
		rand.Read(key)
	}
	s, err := newSealer(key)
	if err != nil {
		return nil, err
	}
	h := &Handler{svc: svc, cfg: cfg, log: cfg.Logger, sealer: s, mux: http.NewServeMux()}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	h.alerts, _ = svc.(alertsService)
	if h.assets, err = loadAssets(); err != nil {
		return nil, err
	}
	if h.pages, err = parsePages(h.assets, cfg.Now); err != nil {
		return nil, err
	}
	h.routes()
	return h, nil
}

// Routes lists the UI's route patterns, for tests that walk them.
func (h *Handler) Routes() []string { return append([]string(nil), h.patterns...) }

// routes registers every page of the UI.
func (h *Handler) routes() {
	open := func(p string, f handlerFunc) { h.patterns = append(h.patterns, p); h.mux.Handle(p, h.adapt(f, false)) }
	authed := func(p string, f handlerFunc) { h.patterns = append(h.patterns, p); h.mux.Handle(p, h.adapt(f, true)) }

	open("GET /ui/static/{file}", h.static)
	open("GET /ui/signin", h.signInPage)
	open("POST /ui/signin", h.signIn)
	open("POST /ui/signout", h.signOut)
	authed("GET /ui/{$}", h.home)
	authed("GET /ui/tenants", h.tenantsPage)

	authed("GET /ui/t/{tenant}/{$}", h.feed)
	authed("GET /ui/t/{tenant}/live", h.live)
	authed("GET /ui/t/{tenant}/export", h.exportView)
	authed("POST /ui/t/{tenant}/searches", h.saveSearch)
	authed("POST /ui/t/{tenant}/searches/{id}/delete", h.deleteSearch)
	authed("GET /ui/t/{tenant}/events/{id}", h.eventPage)
	authed("GET /ui/t/{tenant}/events/{id}/proof.json", h.proofJSON)
	authed("GET /ui/t/{tenant}/people/{actor}", h.personPage)
	authed("GET /ui/t/{tenant}/objects/{type}/{id}", h.objectPage)
	authed("GET /ui/t/{tenant}/dashboard", h.dashboard)
	authed("GET /ui/t/{tenant}/integrity", h.integrityPage)

	authed("GET /ui/t/{tenant}/admin/keys", h.keysPage)
	authed("POST /ui/t/{tenant}/admin/keys", h.createKey)
	authed("POST /ui/t/{tenant}/admin/keys/{id}/revoke", h.revokeKey)
	authed("GET /ui/t/{tenant}/admin/retention", h.retentionPage)
	authed("POST /ui/t/{tenant}/admin/holds", h.addHold)
	authed("POST /ui/t/{tenant}/admin/holds/{id}/remove", h.removeHold)
	authed("GET /ui/t/{tenant}/admin/sinks", h.sinksPage)
	authed("POST /ui/t/{tenant}/admin/sinks/{id}/pause", h.pauseSink)
	authed("POST /ui/t/{tenant}/admin/sinks/{id}/resume", h.resumeSink)
	authed("GET /ui/t/{tenant}/admin/alerts", h.alertsPage)

	h.mux.Handle("/ui/", h.adapt(func(w http.ResponseWriter, r *http.Request) error {
		return hashtrail.Errorf(hashtrail.ENOTFOUND, "There is no page at this address.")
	}, false))
}

// ServeHTTP answers one request under /ui/.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", contentSecurityPolicy)
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "same-origin") // so that POSTs carry an Origin the UI can check
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()")
	h.mux.ServeHTTP(w, r)
}

// contentSecurityPolicy allows scripts, styles, images and requests from
// the UI's own origin only; nothing inline, no frames, no plugins.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; manifest-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// handlerFunc writes a page or returns an error for the error page.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

type ctxKey int

const sessionKey ctxKey = iota

// adapt wraps a handler: with auth, it opens the session cookie,
// re-authenticates its credential with the service (a revoked key or an
// expired token ends the session) and puts the principal in the context;
// then it checks the CSRF token of a POST, and renders a returned error.
func (h *Handler) adapt(f handlerFunc, auth bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if auth {
			w.Header().Set("Cache-Control", "no-store")
			sess, err := h.readSession(r)
			var p *hashtrail.Principal
			if err == nil {
				p, err = h.svc.Authenticate(r.Context(), sess.Secret)
			}
			if err != nil {
				h.toSignIn(w, r, err)
				return
			}
			ctx := hashtrail.WithPrincipal(r.Context(), p)
			r = r.WithContext(context.WithValue(ctx, sessionKey, sess))
			if r.Method == http.MethodPost && (!sameOrigin(r) || !sameToken(r.PostFormValue("csrf"), sess.CSRF)) {
				h.renderError(w, r, errCSRF)
				return
			}
		}
		if err := f(w, r); err != nil {
			h.renderError(w, r, err)
		}
	})
}

var errCSRF = hashtrail.Errorf(hashtrail.EFORBIDDEN, "This form has expired or did not come from this page. Go back, reload the page and try again.")

// toSignIn answers a request without a valid session: GETs go to the
// sign-in page (which comes back here afterwards), other requests get 401.
func (h *Handler) toSignIn(w http.ResponseWriter, r *http.Request, why error) {
	if _, err := r.Cookie(sessionCookie); err == nil {
		h.endSession(w, r)
	}
	reason := "signin"
	switch {
	case errors.Is(why, errExpired):
		reason = "expired"
	case errors.Is(why, http.ErrNoCookie):
	default:
		reason = "ended"
	}
	if r.Method != http.MethodGet {
		h.renderError(w, r, hashtrail.Errorf(hashtrail.EUNAUTHORIZED, "Your session has ended. Sign in again."))
		return
	}
	next := r.URL.Path
	if r.URL.RawQuery != "" {
		next += "?" + r.URL.RawQuery
	}
	v := url.Values{"next": {next}}
	if reason != "signin" {
		v.Set("why", reason)
	}
	http.Redirect(w, r, "/ui/signin?"+v.Encode(), http.StatusSeeOther)
}

// sessionFrom returns the request's session (authed routes only).
func sessionFrom(r *http.Request) *session {
	s, _ := r.Context().Value(sessionKey).(*session)
	return s
}

// now is the handler's clock.
func (h *Handler) now() time.Time { return h.cfg.Now() }

// safeNext keeps a post-sign-in redirect inside the UI.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/ui/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/ui/"
	}
	return next
}

// tenantOf returns the {tenant} of the path, or ENOTFOUND for one that
// cannot name a tenant or that the principal cannot see.
func tenantOf(r *http.Request) (string, error) {
	t := r.PathValue("tenant")
	if !hashtrail.ValidTenantID(t) || !hashtrail.PrincipalFrom(r.Context()).Sees(t) {
		return "", hashtrail.Errorf(hashtrail.ENOTFOUND, "There is no such tenant, or you cannot see it.")
	}
	return t, nil
}
