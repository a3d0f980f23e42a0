package ui

import (
	"net/http"
	"net/url"
	"strings"

	hashtrail "github.com/hashtrail/hashtrail"
)

// signInData is the sign-in page's data.
type signInData struct {
	Next    string
	Token   string // the form's CSRF token
	Message string // why the user is here: an expired session, a failed attempt
	Problem bool
}

var signInReasons = map[string]string{
	"expired": "Your session has expired. Sign in again.",
	"ended":   "Your session has ended: the key was revoked or the token expired. Sign in again.",
	"out":     "You are signed out.",
}

// signInPage serves GET /ui/signin.
func (h *Handler) signInPage(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "no-store")
	q := r.URL.Query()
	d := &signInData{Next: safeNext(q.Get("next")), Token: h.loginToken(w, r), Message: signInReasons[q.Get("why")]}
	return h.render(w, http.StatusOK, "signin", h.frame(r, "Sign in", "", "", d))
}

// signIn serves POST /ui/signin: it checks the credential with the service
// and starts a session. The secret is never logged nor rendered back.
func (h *Handler) signIn(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "no-store")
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	c, err := r.Cookie(loginCookie)
	if err != nil || !sameOrigin(r) || !sameToken(r.PostFormValue("csrf"), c.Value) {
		return errCSRF
	}
	next := safeNext(r.PostFormValue("next"))
	secret := strings.TrimSpace(r.PostFormValue("credential"))
	fail := func(msg string) error {
		d := &signInData{Next: next, Token: c.Value, Message: msg, Problem: true}
		return h.render(w, http.StatusUnauthorized, "signin", h.frame(r, "Sign in", "", "", d))
	}
	if secret == "" {
		return fail("Paste an API key (htk_…) or a viewer token (htv_…).")
	}
	p, err := h.svc.Authenticate(r.Context(), secret)
	if err != nil {
		if code := hashtrail.ErrorCode(err); code != hashtrail.EUNAUTHORIZED {
			return err
		}
		return fail("That key or token is not valid: it is unknown, revoked or expired.")
	}
	if p.Role == hashtrail.RoleIngest {
		return fail("That is an ingest key: it can only write events. Sign in with a read or admin key, or a viewer token.")
	}
	if err := h.startSession(w, r, secret); err != nil {
		return err
	}
	h.setCookie(w, r, loginCookie, "", -1)
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// signOut serves POST /ui/signout. It needs the session's CSRF token, so
// another site cannot sign a user out.
func (h *Handler) signOut(w http.ResponseWriter, r *http.Request) error {
	sess, err := h.readSession(r)
	if err == nil && (!sameOrigin(r) || !sameToken(r.PostFormValue("csrf"), sess.CSRF)) {
		return errCSRF
	}
	h.endSession(w, r)
	http.Redirect(w, r, "/ui/signin?why=out", http.StatusSeeOther)
	return nil
}

// home serves GET /ui/: a tenant's key goes to its feed, an installation
// key to the list of tenants.
func (h *Handler) home(w http.ResponseWriter, r *http.Request) error {
	p := hashtrail.PrincipalFrom(r.Context())
	if p.Tenant != hashtrail.AllTenants {
		http.Redirect(w, r, "/ui/t/"+url.PathEscape(p.Tenant)+"/", http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, "/ui/tenants", http.StatusSeeOther)
	return nil
}

// tenantsPage serves GET /ui/tenants: the tenants the principal sees.
func (h *Handler) tenantsPage(w http.ResponseWriter, r *http.Request) error {
	p := hashtrail.PrincipalFrom(r.Context())
	var ts []*hashtrail.Tenant
	if p.Tenant == hashtrail.AllTenants {
		all, err := h.svc.Tenants(r.Context())
		if err != nil {
			return err
		}
		ts = all
	} else {
		t, err := h.svc.Tenant(r.Context(), p.Tenant)
		if err != nil {
			// A read key may not read the tenant's record: show its id.
			t = &hashtrail.Tenant{ID: p.Tenant}
		}
		ts = []*hashtrail.Tenant{t}
	}
	return h.render(w, http.StatusOK, "tenants", h.frame(r, "Tenants", "tenants", "", ts))
}
