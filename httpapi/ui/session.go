package ui

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
)

// Cookie names. The session cookie is scoped to /ui/ so API requests never
// carry it.
const (
	sessionCookie = "ht_session"
	loginCookie   = "ht_login" // the CSRF token of the sign-in form
	cookiePath    = "/ui/"
)

// session is what the sealed cookie carries. Secret is the API key or
// viewer token the user signed in with: every request re-authenticates it
// with the service, so a revoked key or an expired token ends the session
// at once, and the UI holds no state of its own (any node that shares the
// session key opens the cookie).
type session struct {
	Secret  string `json:"s"`
	CSRF    string `json:"c"`
	Issued  int64  `json:"i"` // unix seconds
	Expires int64  `json:"e"` // unix seconds
}

// sealer seals and opens session cookies with AES-256-GCM. The cookie is
// encrypted, not only signed: it holds the credential's secret.
type sealer struct {
	aead cipher.AEAD
}

// newSealer returns a sealer for a 32-byte key.
func newSealer(key []byte) (*sealer, error) {
	if len(key) != 32 {
		return nil, errors.New("ui: the session key must be 32 bytes")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead}, nil
}

// sealAD binds a sealed value to its use, so a sealed value of one kind
// can never be replayed as another.
const sealAD = "hashtrail-ui-session-v1"

func (s *sealer) seal(v *session) (string, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	out := s.aead.Seal(nonce, nonce, plain, []byte(sealAD))
	return base64.RawURLEncoding.EncodeToString(out), nil
}

// open returns the session in a cookie value, or an error if it was not
// sealed with this key, was altered, or has expired by now.
func (s *sealer) open(value string, now time.Time) (*session, error) {
	raw, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || len(raw) < s.aead.NonceSize()+s.aead.Overhead() {
		return nil, errBadSession
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, raw[:n], raw[n:], []byte(sealAD))
	if err != nil {
		return nil, errBadSession
	}
	var v session
	if err := json.Unmarshal(plain, &v); err != nil || v.Secret == "" || v.CSRF == "" {
		return nil, errBadSession
	}
	if now.Unix() >= v.Expires {
		return nil, errExpired
	}
	return &v, nil
}

var (
	errBadSession = errors.New("ui: not a session of this installation")
	errExpired    = errors.New("ui: the session has expired")
)

// randomToken returns 32 random bytes in base64url.
func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// sameToken compares two CSRF tokens in constant time.
func sameToken(a, b string) bool {
	return a != "" && len(a) == len(b) && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// isSecure reports whether the request came over TLS, directly or through
// a proxy that terminated it (X-Forwarded-Proto: https). A client that
// forges the header only gets Secure cookies it cannot use over plain HTTP.
func (h *Handler) isSecure(r *http.Request) bool {
	return r.TLS != nil || h.cfg.SecureCookies || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// setCookie writes a cookie with the UI's attributes: HttpOnly, SameSite
// Lax (a link from elsewhere into the UI keeps the session; forms are
// protected by CSRF tokens as well), Secure over TLS, path /ui/.
func (h *Handler) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge time.Duration) {
	c := &http.Cookie{
		Name: name, Value: value, Path: cookiePath,
		HttpOnly: true, Secure: h.isSecure(r), SameSite: http.SameSiteLaxMode,
	}
	if maxAge < 0 {
		c.MaxAge = -1
	} else {
		c.MaxAge = int(maxAge / time.Second)
	}
	http.SetCookie(w, c)
}

// startSession seals a new session for secret into the session cookie.
func (h *Handler) startSession(w http.ResponseWriter, r *http.Request, secret string) error {
	now := h.now()
	s := &session{Secret: secret, CSRF: randomToken(), Issued: now.Unix(), Expires: now.Add(h.cfg.SessionTTL).Unix()}
	v, err := h.sealer.seal(s)
	if err != nil {
		return err
	}
	h.setCookie(w, r, sessionCookie, v, h.cfg.SessionTTL)
	return nil
}

// endSession clears the session cookie.
func (h *Handler) endSession(w http.ResponseWriter, r *http.Request) {
	h.setCookie(w, r, sessionCookie, "", -1)
}

// readSession returns the request's session, or nil and why not.
func (h *Handler) readSession(r *http.Request) (*session, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil, http.ErrNoCookie
	}
	return h.sealer.open(c.Value, h.now())
}

// loginToken returns the sign-in form's CSRF token, setting its cookie
// when the request has none (double-submit: the form must echo it).
func (h *Handler) loginToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(loginCookie); err == nil && len(c.Value) == 43 {
		return c.Value
	}
	tok := randomToken()
	h.setCookie(w, r, loginCookie, tok, time.Hour)
	return tok
}

// sameOrigin rejects a state-changing request whose Origin (or, without
// one, Referer) names another site. Browsers send Origin on every POST;
// a request without either is a non-browser client, which the CSRF token
// still covers.
func sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		if ref := r.Header.Get("Referer"); ref != "" {
			origin = ref
		} else {
			return true
		}
	}
	if origin == "null" {
		return false
	}
	_, rest, ok := strings.Cut(origin, "://")
	if !ok {
		return false
	}
	host, _, _ := strings.Cut(rest, "/")
	return strings.EqualFold(host, r.Host)
}
