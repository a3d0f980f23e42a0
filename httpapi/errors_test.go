package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/api"
)

// retryLater is an error that says when to retry.
type retryLater struct{ d time.Duration }

func (e retryLater) Error() string             { return "slow down" }
func (e retryLater) RetryAfter() time.Duration { return e.d }

func TestErrorCodes(t *testing.T) {
	tests := []struct {
		code   string
		status int
		header string // a header the answer must carry
		value  string
	}{
		{hashtrail.EINVALID, 400, "", ""},
		{hashtrail.EUNAUTHORIZED, 401, "WWW-Authenticate", `Bearer realm="hashtrail", error="invalid_token"`},
		{hashtrail.EFORBIDDEN, 403, "", ""},
		{hashtrail.ENOTFOUND, 404, "", ""},
		{hashtrail.ECONFLICT, 409, "", ""},
		{hashtrail.ETOOLARGE, 413, "", ""},
		{hashtrail.EUNSUPPORTED, 415, "", ""},
		{hashtrail.ERATELIMIT, 429, "Retry-After", "1"},
		{hashtrail.EUNAVAILABLE, 503, "Retry-After", "5"},
		{hashtrail.EINTERNAL, 500, "", ""},
		{"made_up_code", 500, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			s := newServer(t)
			s.svc.err = &hashtrail.Error{Code: tt.code, Message: "the message " + tt.code,
				Fields: []hashtrail.FieldError{{Field: "name", Message: "is wrong"}}}
			rec := s.do(t, req{method: "GET", target: "/v1/tenants/acme"})
			p := decodeProblem(t, rec, tt.status)
			if tt.header != "" && rec.Header().Get(tt.header) != tt.value {
				t.Errorf("%s = %q, want %q", tt.header, rec.Header().Get(tt.header), tt.value)
			}
			if rec.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q", rec.Header().Get("Cache-Control"))
			}
			if p.Instance != "/v1/tenants/acme" || p.Type != "about:blank" {
				t.Errorf("problem = %+v", p)
			}
			if tt.status == 500 {
				if p.Code != hashtrail.EINTERNAL || strings.Contains(p.Detail, "the message") || len(p.Errors) > 0 {
					t.Errorf("internal problem leaks or lacks the generic text: %+v", p)
				}
				return
			}
			if p.Code != tt.code || p.Detail != "the message "+tt.code {
				t.Errorf("problem = %+v", p)
			}
			if len(p.Errors) != 1 || p.Errors[0].Field != "name" {
				t.Errorf("errors = %+v", p.Errors)
			}
		})
	}
}

func TestRetryAfterFromError(t *testing.T) {
	s := newServer(t)
	s.svc.err = fmt.Errorf("wrapped: %w", errors.Join(retryLater{2500 * time.Millisecond}, hashtrail.Errorf(hashtrail.ERATELIMIT, "too many")))
	rec := s.do(t, req{method: "GET", target: "/v1/tenants/acme"})
	decodeProblem(t, rec, 429)
	if got := rec.Header().Get("Retry-After"); got != "3" {
		t.Errorf("Retry-After = %q, want 3", got)
	}
}

func TestInternalErrorLoggedOnce(t *testing.T) {
	s := newServer(t)
	s.svc.err = fmt.Errorf("store: disk on fire at sector 7")
	rec := s.do(t, req{method: "GET", target: "/v1/tenants/acme"})
	p := decodeProblem(t, rec, 500)
	if strings.Contains(rec.Body.String(), "disk on fire") {
		t.Errorf("answer leaks the internal error: %s", rec.Body)
	}
	logs := s.logs.String()
	if n := strings.Count(logs, "disk on fire"); n != 1 {
		t.Errorf("the internal error is logged %d times, want once:\n%s", n, logs)
	}
	if !strings.Contains(logs, p.RequestID) {
		t.Errorf("the log does not name request id %s", p.RequestID)
	}
}

func TestPanicRecovered(t *testing.T) {
	s := newServer(t)
	s.svc.panicMsg = "boom"
	rec := s.do(t, req{method: "GET", target: "/v1/tenants/acme/events"})
	p := decodeProblem(t, rec, 500)
	if p.Code != hashtrail.EINTERNAL {
		t.Errorf("code = %q", p.Code)
	}
	if logs := s.logs.String(); !strings.Contains(logs, "boom") || !strings.Contains(logs, `"status":500`) {
		t.Errorf("the panic or its 500 is not logged:\n%s", logs)
	}
}

func TestUnknownRoute(t *testing.T) {
	s := newServer(t)
	for _, target := range []string{"/nope", "/v1/tenants/acme/nope", "/v1/", "/"} {
		p := decodeProblem(t, s.do(t, req{method: "GET", target: target}), 404)
		if p.Code != hashtrail.ENOTFOUND {
			t.Errorf("%s: code = %q", target, p.Code)
		}
	}
}

func TestMethodNotAllowed(t *testing.T) {
	s := newServer(t)
	tests := []struct{ method, target, allow string }{
		{"PUT", "/v1/tenants/acme/events", "GET, HEAD, POST"},
		{"DELETE", "/healthz", "GET, HEAD"},
		{"POST", "/v1/tenants/acme", "GET, HEAD, PATCH, DELETE"},
		{"GET", "/v1/events", "POST"},
	}
	for _, tt := range tests {
		rec := s.do(t, req{method: tt.method, target: tt.target})
		p := decodeProblem(t, rec, http.StatusMethodNotAllowed)
		if p.Code != api.CodeMethodNotAllowed || rec.Header().Get("Allow") != tt.allow {
			t.Errorf("%s %s: code %q, Allow %q, want %q", tt.method, tt.target, p.Code, rec.Header().Get("Allow"), tt.allow)
		}
	}
}

func TestClientGoneIsNotAnInternalError(t *testing.T) {
	s := newServer(t)
	s.svc.err = fmt.Errorf("store: %w", context.Canceled)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	r := httptest.NewRequestWithContext(ctx, "GET", "/v1/tenants/acme", nil)
	r.Header.Set("Authorization", "Bearer "+adminSecret)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, r)
	if rec.Code != 499 || strings.Contains(s.logs.String(), "internal error") {
		t.Errorf("status %d, logs %s", rec.Code, s.logs)
	}
}

func TestDeadlineIsUnavailable(t *testing.T) {
	s := newServer(t)
	s.svc.err = fmt.Errorf("store: %w", context.DeadlineExceeded)
	rec := s.do(t, req{method: "GET", target: "/v1/tenants/acme"})
	if p := decodeProblem(t, rec, 503); p.Code != hashtrail.EUNAVAILABLE || rec.Header().Get("Retry-After") != "5" {
		t.Errorf("problem %+v", p)
	}
}
