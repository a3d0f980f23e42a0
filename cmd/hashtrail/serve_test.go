package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	hashtrail "github.com/hashtrail/hashtrail"
)

// serveOutput collects a server's standard error and wakes a waiter on
// every write.
type serveOutput struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func newServeOutput() *serveOutput { return &serveOutput{changed: make(chan struct{}, 1)} }

// Write appends p and wakes a waiter.
func (o *serveOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	select {
	case o.changed <- struct{}{}:
	default:
	}
	return o.buf.Write(p)
}

// String returns everything written so far.
func (o *serveOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// testServe is `hashtrail serve` running in-process.
type testServe struct {
	t    *testing.T
	out  *serveOutput
	url  string // http://127.0.0.1:PORT (https with TLS)
	stop func() error
}

// listeningRE finds the address in the "listening" log line.
var listeningRE = regexp.MustCompile(`msg=listening addr=(\S+)`)

// isolateEnv unsets every HASHTRAIL_* setting for the test (empty counts as
// unset), so the environment running the tests cannot change them.
func isolateEnv(t *testing.T) {
	for _, s := range settings {
		t.Setenv(envName(s.name), "")
	}
	t.Setenv(configEnv, "")
	t.Setenv(bootstrapEnv, "")
}

// runServeCmd starts `hashtrail serve args...` through the real command
// line and waits until it listens or fails.
func runServeCmd(t *testing.T, args ...string) *testServe {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	out := newServeOutput()
	cmd := newRootCmd()
	cmd.SetArgs(append([]string{"serve", "--addr", "127.0.0.1:0"}, args...))
	cmd.SetOut(out)
	cmd.SetErr(out)
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	var once sync.Once
	var stopErr error
	s := &testServe{t: t, out: out, stop: func() error {
		once.Do(func() { cancel(); stopErr = <-done })
		return stopErr
	}}
	t.Cleanup(func() { s.stop() })
	scheme := "http"
	if strings.Contains(strings.Join(args, " "), "--tls-cert") {
		scheme = "https"
	}
	for {
		if m := listeningRE.FindStringSubmatch(out.String()); m != nil {
			s.url = scheme + "://" + m[1]
			return s
		}
		select {
		case <-out.changed:
		case err := <-done:
			done <- err
			t.Fatalf("serve ended before listening: %v\n%s", err, out.String())
		case <-t.Context().Done():
			t.Fatalf("serve did not start:\n%s", out.String())
		}
	}
}

// waitLog waits until the output holds at least n matches of re.
func (s *testServe) waitLog(re *regexp.Regexp, n int) {
	s.t.Helper()
	for len(re.FindAllString(s.out.String(), -1)) < n {
		select {
		case <-s.out.changed:
		case <-s.t.Context().Done():
			s.t.Fatalf("no %d× %s in the output:\n%s", n, re, s.out.String())
		}
	}
}

// bannerKeyRE finds the secret the first-start banner prints.
var bannerKeyRE = regexp.MustCompile(`(?m)^    (htk_\S+)$`)

// bootstrapKey returns the key the first start printed.
func (s *testServe) bootstrapKey() string {
	s.t.Helper()
	m := bannerKeyRE.FindStringSubmatch(s.out.String())
	if m == nil {
		s.t.Fatalf("no bootstrap key printed:\n%s", s.out.String())
	}
	return m[1]
}

// callJSON sends a JSON request and decodes a JSON answer into out (if not nil).
func callJSON(t *testing.T, c *http.Client, method, url, key string, body, out any) int {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, url, err, b)
		}
	}
	return resp.StatusCode
}

// loginEvent is a small valid event with the given id.
func loginEvent(id string) map[string]any {
	return map[string]any{"id": id, "action": "user.login",
		"actor":   map[string]any{"type": "user", "id": "42", "email": "alice@example.com"},
		"context": map[string]any{"ip": "203.0.113.7"}}
}

func TestServeFirstStartAndRestart(t *testing.T) {
	isolateEnv(t)
	dir := filepath.Join(t.TempDir(), "data")
	s := runServeCmd(t, "--data", dir)
	key := s.bootstrapKey()
	c := http.DefaultClient

	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data directory: %v, mode %v; want 0700", err, fi.Mode().Perm())
	}
	if !strings.Contains(s.out.String(), "export HASHTRAIL_URL="+s.url+" ") {
		t.Errorf("the banner does not use the actual address %s:\n%s", s.url, s.out)
	}
	var rec struct{ Events []hashtrail.Receipt }
	if code := callJSON(t, c, "POST", s.url+"/v1/tenants/acme/events", key, map[string]any{"events": []any{loginEvent("ev-1"), loginEvent("ev-2")}}, &rec); code != 200 {
		t.Fatalf("ingest: status %d", code)
	}
	if len(rec.Events) != 2 || rec.Events[1].Seq != 1 || rec.Events[0].Tenant != "acme" {
		t.Fatalf("receipts %+v", rec.Events)
	}
	var list hashtrail.EventList
	if code := callJSON(t, c, "GET", s.url+"/v1/tenants/acme/events?order=asc", key, nil, &list); code != 200 || len(list.Events) != 2 || list.Events[0].ID != "ev-1" {
		t.Fatalf("list: status %d, %+v", code, list.Events)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if code := callJSON(t, c, "GET", s.url+path, "", nil, nil); code != 200 {
			t.Errorf("%s: status %d", path, code)
		}
	}
	resp, err := c.Get(s.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, m := range []string{"hashtrail_store_size_bytes ", "hashtrail_ingest_events_total ", "go_goroutines", "hashtrail_commit_seconds", "hashtrail_http_request_duration_seconds"} {
		if !bytes.Contains(metrics, []byte(m)) {
			t.Errorf("/metrics lacks %q", m)
		}
	}
	if err := s.stop(); err != nil {
		t.Fatalf("serve: %v\n%s", err, s.out)
	}
	for _, line := range strings.Split(s.out.String(), "\n") {
		if strings.HasPrefix(line, "time=") && strings.Contains(line, key) {
			t.Errorf("a log line holds the key: %s", line)
		}
	}

	// A restart on the same directory prints no key; the old one works and
	// the events are there.
	s2 := runServeCmd(t, "--data", dir)
	if strings.Contains(s2.out.String(), "htk_") || strings.Contains(s2.out.String(), "admin API key") {
		t.Errorf("the restart printed a key:\n%s", s2.out)
	}
	var ev hashtrail.Event
	if code := callJSON(t, c, "GET", s2.url+"/v1/tenants/acme/events/ev-2", key, nil, &ev); code != 200 || ev.Seq != 1 {
		t.Fatalf("after restart: status %d, %+v", code, ev)
	}
	if err := s2.stop(); err != nil {
		t.Fatal(err)
	}
}

func TestServeBootstrapKeyFromEnv(t *testing.T) {
	isolateEnv(t)
	secret := "chosen-bootstrap-key-0123456789abcdefghijkl"
	t.Setenv(bootstrapEnv, secret)
	dir := t.TempDir()
	s := runServeCmd(t, "--data", dir, "--no-auto-tenants")
	out := s.out.String()
	if strings.Contains(out, secret) || !strings.Contains(out, "the value of "+bootstrapEnv) {
		t.Errorf("want a banner naming %s without the secret:\n%s", bootstrapEnv, out)
	}
	if !strings.Contains(out, "/v1/tenants\" -H") {
		t.Errorf("with --no-auto-tenants the banner should create the tenant first:\n%s", out)
	}
	c := http.DefaultClient
	if code := callJSON(t, c, "POST", s.url+"/v1/tenants/acme/events", secret, loginEvent("x"), nil); code != 404 {
		t.Errorf("with --no-auto-tenants an unknown tenant: status %d, want 404", code)
	}
	if code := callJSON(t, c, "POST", s.url+"/v1/tenants", secret, map[string]string{"id": "acme"}, nil); code >= 300 {
		t.Fatalf("create tenant: status %d", code)
	}
	if code := callJSON(t, c, "POST", s.url+"/v1/tenants/acme/events", secret, loginEvent("x"), nil); code != 200 {
		t.Errorf("ingest: status %d", code)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	s2 := runServeCmd(t, "--data", dir)
	if strings.Contains(s2.out.String(), "admin API key") {
		t.Errorf("the restart printed the banner again:\n%s", s2.out)
	}
}

func TestServeBootstrapKeyTooShort(t *testing.T) {
	isolateEnv(t)
	t.Setenv(bootstrapEnv, "short")
	cmd := newRootCmd()
	cmd.SetArgs([]string{"serve", "--addr", "127.0.0.1:0", "--data", t.TempDir()})
	cmd.SetErr(io.Discard)
	err := cmd.ExecuteContext(t.Context())
	if err == nil || !strings.Contains(err.Error(), bootstrapEnv) {
		t.Fatalf("want an error naming %s, got %v", bootstrapEnv, err)
	}
}

func TestServeDemo(t *testing.T) {
	isolateEnv(t)
	dir := t.TempDir()
	sizes := func(s *testServe, key string) map[string]int64 {
		var tl struct{ Tenants []*hashtrail.Tenant }
		if code := callJSON(t, http.DefaultClient, "GET", s.url+"/v1/tenants", key, nil, &tl); code != 200 {
			t.Fatalf("tenants: status %d", code)
		}
		m := map[string]int64{}
		for _, tn := range tl.Tenants {
			m[tn.ID] = tn.Size
		}
		return m
	}
	s := runServeCmd(t, "--data", dir, "--demo")
	key := s.bootstrapKey()
	first := sizes(s, key)
	var total int64
	for _, tn := range demoTenants {
		if first[tn.ID] < 50 {
			t.Errorf("tenant %s has %d demo events", tn.ID, first[tn.ID])
		}
		total += first[tn.ID]
	}
	if total != demoCount {
		t.Errorf("%d demo events in all, want %d", total, demoCount)
	}
	var list hashtrail.EventList
	callJSON(t, http.DefaultClient, "GET", s.url+"/v1/tenants/acme/events?action=app.env_var_change&limit=1000", key, nil, &list)
	if len(list.Events) == 0 {
		t.Error("no env-var change in acme")
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}

	s2 := runServeCmd(t, "--data", dir, "--demo")
	if again := sizes(s2, key); fmt.Sprint(again) != fmt.Sprint(first) {
		t.Errorf("a restart with --demo changed the tenants: %v, then %v", first, again)
	}
	if !strings.Contains(s2.out.String(), "already has events") {
		t.Errorf("the restart did not say why it loaded nothing:\n%s", s2.out)
	}
}
