package httpapi_test

import (
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/api"
	"github.com/hashtrail/hashtrail/httpapi"
)

func TestAuthRequired(t *testing.T) {
	s := newServer(t)
	tests := []struct {
		name, auth, challenge string
	}{
		{"missing", "", `Bearer realm="hashtrail"`},
		{"unknown key", "Bearer htk_nobody", `Bearer realm="hashtrail", error="invalid_token"`},
		{"basic scheme", "Basic " + adminSecret, `Bearer realm="hashtrail", error="invalid_token"`},
		{"no secret", "Bearer ", `Bearer realm="hashtrail", error="invalid_token"`},
		{"no scheme", adminSecret, `Bearer realm="hashtrail", error="invalid_token"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := s.do(t, req{method: "GET", target: "/v1/tenants/acme/events", headers: []string{"Authorization", tt.auth}})
			p := decodeProblem(t, rec, 401)
			if p.Code != hashtrail.EUNAUTHORIZED {
				t.Errorf("code = %q", p.Code)
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != tt.challenge {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tt.challenge)
			}
			if s.svc.called("Events") {
				t.Error("the service was called without credentials")
			}
		})
	}
}

func TestAuthSchemeCaseInsensitive(t *testing.T) {
	s := newServer(t)
	rec := s.do(t, req{method: "GET", target: "/v1/tenants", headers: []string{"Authorization", "bearer " + adminSecret}})
	if rec.Code != 200 {
		t.Fatalf("status = %d: %s", rec.Code, rec.Body)
	}
}

func TestOpenRoutesNeedNoAuth(t *testing.T) {
	s := newServer(t)
	for _, target := range []string{"/healthz", "/readyz", "/v1/openapi.json", "/v1/catalog"} {
		rec := s.do(t, req{method: "GET", target: target, headers: []string{"Authorization", ""}})
		if rec.Code != 200 {
			t.Errorf("GET %s without credentials: %d %s", target, rec.Code, rec.Body)
		}
	}
}

func TestPrincipalAndTenantPassedThrough(t *testing.T) {
	s := newServer(t)
	rec := s.do(t, req{method: "GET", target: "/v1/tenants/acme/events"})
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	c := s.svc.last(t, "Events")
	if c.principal == nil || c.principal.KeyID != "key_admin" || c.principal.Role != hashtrail.RoleAdmin {
		t.Errorf("principal = %+v", c.principal)
	}
	if q := c.args[0].(*hashtrail.Query); q.Tenant != "acme" {
		t.Errorf("query tenant = %q", q.Tenant)
	}

	rec = s.do(t, req{method: "GET", target: "/v1/tenants/other/events/ev1",
		headers: []string{"Authorization", "Bearer " + installSecret}})
	c = s.svc.last(t, "Event")
	if c.principal == nil || c.principal.Tenant != hashtrail.AllTenants || c.args[0] != "other" || c.args[1] != "ev1" {
		t.Errorf("Event call = %+v %v", c.principal, c.args)
	}
}

func TestInvalidPathTenantIsNotFound(t *testing.T) {
	s := newServer(t)
	for _, target := range []string{"/v1/tenants/ACME/events", "/v1/tenants/-x", "/v1/tenants/%2A/keys"} {
		p := decodeProblem(t, s.do(t, req{method: "GET", target: target}), 404)
		if p.Code != hashtrail.ENOTFOUND {
			t.Errorf("%s: code %q", target, p.Code)
		}
	}
}

func TestRequestID(t *testing.T) {
	s := newServer(t)
	rec := s.do(t, req{method: "GET", target: "/healthz", headers: []string{api.HeaderRequestID, "abc-123.x:y_z"}})
	if got := rec.Header().Get(api.HeaderRequestID); got != "abc-123.x:y_z" {
		t.Errorf("kept request id = %q", got)
	}
	rec = s.do(t, req{method: "GET", target: "/healthz"})
	gen := rec.Header().Get(api.HeaderRequestID)
	if len(gen) < 16 {
		t.Errorf("generated request id = %q", gen)
	}
	rec = s.do(t, req{method: "GET", target: "/healthz", headers: []string{api.HeaderRequestID, "bad id\nwith newline"}})
	if got := rec.Header().Get(api.HeaderRequestID); got == "" || strings.ContainsAny(got, " \n") || got == gen {
		t.Errorf("replaced request id = %q", got)
	}
	rec = s.do(t, req{method: "GET", target: "/v1/tenants/acme/events", headers: []string{"Authorization", "", api.HeaderRequestID, "req-42"}})
	if p := decodeProblem(t, rec, 401); p.RequestID != "req-42" {
		t.Errorf("problem request_id = %q", p.RequestID)
	}
	if !strings.Contains(s.logs.String(), `"request_id":"req-42"`) {
		t.Errorf("the request id is not logged")
	}
}

func TestSecurityHeaders(t *testing.T) {
	s := newServer(t)
	rec := s.do(t, req{method: "GET", target: "/v1/tenants"})
	if rec.Header().Get("X-Content-Type-Options") != "nosniff" || rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("headers = %v", rec.Header())
	}
	rec = s.do(t, req{method: "GET", target: "/v1/catalog"})
	if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("headers = %v", rec.Header())
	}
}

// TestLogHygiene checks that the request log names the route, not the path,
// and never carries the credential, query values or the body.
func TestLogHygiene(t *testing.T) {
	s := newServer(t)
	s.do(t, req{method: "GET", target: "/v1/tenants/acme/events?ip=203.0.113.9&actor=alice@example.com"})
	s.do(t, req{method: "POST", target: "/v1/tenants/acme/events",
		body: `{"action":"user.login","actor":{"type":"user","id":"u1","email":"bob@example.com"}}`})
	s.do(t, req{method: "GET", target: "/v1/tenants/acme", headers: []string{"Authorization", "Bearer htk_wrong-secret-value"}})
	logs := s.logs.String()
	for _, secret := range []string{adminSecret, "htk_wrong-secret-value", "203.0.113.9", "alice@example.com", "bob@example.com", "192.0.2.1"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds %q:\n%s", secret, logs)
		}
	}
	for _, want := range []string{`"route":"/v1/tenants/{tenant}/events"`, `"method":"POST"`, `"status":401`, `"key_id":"key_admin"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks %s:\n%s", want, logs)
		}
	}
}

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	tests := []struct {
		remote, xff, want string
		trusted           []netip.Prefix
	}{
		{"192.0.2.1:1234", "198.51.100.7", "192.0.2.1", nil},                          // untrusted peer: header ignored
		{"192.0.2.1:1234", "198.51.100.7", "192.0.2.1", trusted},                      // peer not a trusted proxy
		{"10.1.2.3:1234", "198.51.100.7", "198.51.100.7", trusted},                    // one trusted hop
		{"10.1.2.3:1234", "6.6.6.6, 198.51.100.7, 10.9.9.9", "198.51.100.7", trusted}, // spoofed left part skipped
		{"[::1]:80", "10.0.0.5, 10.0.0.6", "10.0.0.5", trusted},                       // all trusted: left-most
		{"10.1.2.3:1234", "garbage", "10.1.2.3", trusted},
		{"[::ffff:192.0.2.9]:80", "", "192.0.2.9", nil},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/healthz", nil)
		r.RemoteAddr = tt.remote
		if tt.xff != "" {
			r.Header.Set("X-Forwarded-For", tt.xff)
		}
		if got := httpapi.ClientIP(r, tt.trusted); got.String() != tt.want {
			t.Errorf("%s via %q: %s, want %s", tt.remote, tt.xff, got, tt.want)
		}
	}
}
