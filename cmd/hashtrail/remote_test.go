package main

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
)

func TestHTTPServiceRetriesReadsOnly(t *testing.T) {
	var gets, posts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer k" {
			t.Errorf("Authorization = %q", r.Header.Get("Authorization"))
		}
		if r.Method == http.MethodPost {
			posts.Add(1)
			w.Header().Set("Retry-After", "0")
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
			return
		}
		if gets.Add(1) < 3 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.Write([]byte(`{"tenants":[{"id":"acme","created_at":"2026-01-02T03:04:05Z","size":3}]}`))
	}))
	defer srv.Close()
	c, err := newHTTPService(srv.URL+"/", "k")
	if err != nil {
		t.Fatal(err)
	}
	ts, err := c.Tenants(t.Context())
	if err != nil || len(ts) != 1 || ts[0].ID != "acme" || ts[0].Size != 3 || gets.Load() != 3 {
		t.Errorf("Tenants = %v, %v after %d GETs", ts, err, gets.Load())
	}
	_, err = c.CreateTenant(t.Context(), &hashtrail.Tenant{ID: "globex"})
	if hashtrail.ErrorCode(err) != hashtrail.EUNAVAILABLE || posts.Load() != 1 {
		t.Errorf("POST: %v after %d tries, want one try and unavailable", err, posts.Load())
	}
	if msg := err.Error(); msg != "the server answered: overloaded (503 Service Unavailable)" {
		t.Errorf("message = %q", msg)
	}
}

func TestHTTPServiceProblem(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"type":"about:blank","title":"Bad Request","status":400,"detail":"the request has invalid fields","code":"invalid",
			"errors":[{"field":"role","message":"must be one of ingest, read, admin"},{"field":"expires_in","message":"must be positive"}]}`))
	}))
	defer srv.Close()
	c, _ := newHTTPService(srv.URL, "k")
	_, err := c.CreateKey(t.Context(), &hashtrail.KeyRequest{Tenant: "acme", Role: "x"})
	want := "the request has invalid fields (400 Bad Request)\n  role: must be one of ingest, read, admin\n  expires_in: must be positive"
	if err == nil || err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
	var he *hashtrail.Error
	if !errors.As(err, &he) || he.Code != hashtrail.EINVALID || len(he.Fields) != 2 {
		t.Errorf("err does not unwrap to the problem: %#v", err)
	}
}

func TestNewHTTPService(t *testing.T) {
	for _, u := range []string{"", "127.0.0.1:8080", "ftp://x", "http://"} {
		if _, err := newHTTPService(u, "k"); err == nil {
			t.Errorf("newHTTPService(%q) accepted", u)
		}
	}
	if _, err := newHTTPService("http://127.0.0.1:8080", ""); err == nil || !strings.Contains(err.Error(), envAPIKey) {
		t.Errorf("no key: %v", err)
	}
}

func TestParseWhen(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]string{
		"":                          "",
		"2026-01-02T15:04:05Z":      "2026-01-02T15:04:05.000000Z",
		"2026-01-02T16:04:05+01:00": "2026-01-02T15:04:05.000000Z",
		"2026-01-02":                "2026-01-02T00:00:00.000000Z",
		"90m":                       "2026-03-10T10:30:00.000000Z",
		"7d":                        "2026-03-03T12:00:00.000000Z",
	} {
		got, err := parseWhen(in, now)
		if err != nil || (want == "" && !got.IsZero()) || (want != "" && got.String() != want) {
			t.Errorf("parseWhen(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"yesterday", "-1h", "7 d", "1.5d", "0s"} {
		if _, err := parseWhen(in, now); err == nil {
			t.Errorf("parseWhen(%q) accepted", in)
		}
	}
}

func TestEventRow(t *testing.T) {
	e := &hashtrail.Event{
		Time: hashtrail.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)), Seq: 12, Action: "user.login",
		Severity: hashtrail.SeverityMedium, Outcome: hashtrail.OutcomeFailure,
		Actor:   &hashtrail.Actor{Type: hashtrail.ActorUser, Email: "ada@example.com"},
		Context: &hashtrail.Context{IP: "2001:db8::1"},
	}
	got := strings.Join(eventRow(e), "|")
	if want := "x|2026-01-02T03:04:05Z|12|user.login|FAILURE|email:ada@example.com|-|2001:db8::1"; got != want {
		t.Errorf("row = %s, want %s", got, want)
	}
	e.Severity = hashtrail.SeverityCritical
	if mark := eventRow(e)[0]; mark != "!!" {
		t.Errorf("critical failure marked %q", mark)
	}
}
