package client_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/client"
)

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}
	for _, tc := range []struct {
		name, peer string
		headers    map[string]string
		want       string
	}{
		{"direct", "203.0.113.5:1234", nil, "203.0.113.5"},
		{"untrusted peer's header ignored", "203.0.113.5:1234", map[string]string{"X-Forwarded-For": "1.2.3.4"}, "203.0.113.5"},
		{"trusted proxy", "10.0.0.1:80", map[string]string{"X-Forwarded-For": "198.51.100.7"}, "198.51.100.7"},
		{"spoofed left entries", "10.0.0.1:80", map[string]string{"X-Forwarded-For": "6.6.6.6, 198.51.100.7, 10.0.0.2"}, "198.51.100.7"},
		{"all trusted", "10.0.0.1:80", map[string]string{"X-Forwarded-For": "10.0.0.3, 10.0.0.2"}, "10.0.0.3"},
		{"garbage stops at the last trusted hop", "10.0.0.1:80", map[string]string{"X-Forwarded-For": "1.1.1.1, unknown, 10.0.0.2"}, "10.0.0.2"},
		{"forwarded wins", "10.0.0.1:80", map[string]string{"Forwarded": `for=192.0.2.60;proto=http, for="[2001:db8:cafe::17]:4711"`, "X-Forwarded-For": "9.9.9.9"}, "192.0.2.60"},
		{"forwarded ipv6 client", "[2001:db8::1]:443", map[string]string{"Forwarded": `for="[2001:db9::17]:4711"`}, "2001:db9::17"},
		{"mapped v4 peer", "[::ffff:203.0.113.9]:1", nil, "203.0.113.9"},
		{"no peer", "", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.peer
			for k, v := range tc.headers {
				r.Header.Set(k, v)
			}
			if got := client.ClientIP(r, trusted); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestContextHelpers(t *testing.T) {
	ctx := context.Background()
	if client.ActorFrom(ctx) != nil || client.EventContextFrom(ctx) != nil || client.SetActor(ctx, &hashtrail.Actor{}) {
		t.Fatal("empty context has values")
	}
	a := &hashtrail.Actor{Type: hashtrail.ActorService, ID: "cron"}
	ec := &hashtrail.Context{Source: "system", IP: "192.0.2.1"}
	ctx = client.WithEventContext(client.WithActor(ctx, a), ec)
	if client.ActorFrom(ctx) != a || client.EventContextFrom(ctx) != ec {
		t.Fatal("values lost")
	}
}

// The middleware fills actor and context of events recorded in a handler,
// end to end through a real server.
func TestMiddleware(t *testing.T) {
	s := startServer(t)
	key := s.tenantKey("acme", hashtrail.RoleAdmin)
	c := mustNew(t, s.URL, key, fast(client.WithTenant("acme"))...)

	type userKey struct{}
	auth := func(next http.Handler) http.Handler { // an app's own authentication, after ours
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if u := r.Header.Get("X-User"); u != "" {
				r = r.WithContext(context.WithValue(r.Context(), userKey{}, u))
			}
			next.ServeHTTP(w, r)
		})
	}
	mw := client.Middleware(client.MiddlewareConfig{
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")},
		Source:         "web",
		Actor: func(ctx context.Context) *hashtrail.Actor {
			if u, ok := ctx.Value(userKey{}).(string); ok {
				return &hashtrail.Actor{Type: hashtrail.ActorUser, ID: u}
			}
			return nil
		},
	})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /projects", func(w http.ResponseWriter, r *http.Request) {
		if _, err := c.RecordSync(r.Context(), &hashtrail.Event{ID: r.Header.Get("X-Event"), Action: "project.create"}); err != nil {
			http.Error(w, err.Error(), 500)
		}
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		client.SetActor(r.Context(), &hashtrail.Actor{Type: hashtrail.ActorUser, ID: "new-login"})
		ev := &hashtrail.Event{ID: r.Header.Get("X-Event"), Action: "user.login", Context: &hashtrail.Context{SessionID: "sess-1"}}
		if _, err := c.RecordSync(r.Context(), ev); err != nil {
			http.Error(w, err.Error(), 500)
		}
	})
	app := httptest.NewServer(mw(auth(mux)))
	defer app.Close()

	post := func(path string, h map[string]string) *http.Response {
		req, _ := http.NewRequest("POST", app.URL+path, nil)
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		return resp
	}
	resp := post("/projects", map[string]string{"X-Event": "p1", "X-User": "42", "X-Forwarded-For": "198.51.100.23",
		"User-Agent": "test-agent/1", "X-Request-Id": "req-abc", "Traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"})
	if resp.Header.Get("X-Request-Id") != "req-abc" {
		t.Errorf("request id not echoed: %q", resp.Header.Get("X-Request-Id"))
	}
	resp = post("/login", map[string]string{"X-Event": "l1"})
	generated := resp.Header.Get("X-Request-Id")
	if len(generated) != 26 {
		t.Errorf("generated request id %q", generated)
	}

	got := s.events("acme")
	byID := map[string]*hashtrail.Event{}
	for _, e := range got {
		byID[e.ID] = e
	}
	p1, l1 := byID["p1"], byID["l1"]
	if p1 == nil || l1 == nil {
		t.Fatalf("events %v", got)
	}
	if p1.Actor == nil || p1.Actor.ID != "42" {
		t.Errorf("p1 actor %+v", p1.Actor)
	}
	if c := p1.Context; c == nil || c.IP != "198.51.100.23" || c.UserAgent != "test-agent/1" || c.RequestID != "req-abc" ||
		c.Method != "POST" || c.Path != "/projects" || c.Source != "web" || c.TraceID != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("p1 context %+v", p1.Context)
	}
	if l1.Actor == nil || l1.Actor.ID != "new-login" {
		t.Errorf("l1 actor %+v", l1.Actor)
	}
	if c := l1.Context; c == nil || c.SessionID != "sess-1" || c.RequestID != generated || c.Path != "/login" {
		t.Errorf("l1 context %+v", l1.Context)
	}
}
