package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/api"
	"github.com/hashtrail/hashtrail/client"
	"github.com/hashtrail/hashtrail/httpapi"
	"github.com/hashtrail/hashtrail/ledger"
	"github.com/hashtrail/hashtrail/store/sqlite"
)

// sdkAdmin is the bootstrap key of every test server: installation-wide
// admin.
const sdkAdmin = "htk_sdk-test-bootstrap-0123456789abcdefghijkl"

// realServer is a Hashtrail server (ledger over SQLite behind the HTTP
// API) in this process, on a free port.
type realServer struct {
	URL string
	t   testing.TB
}

// startServer runs a real server for the test.
func startServer(tb testing.TB) *realServer {
	tb.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "hashtrail.db"), sqlite.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	l := ledger.New(st, ledger.Config{AutoCreateTenants: true})
	if _, err := l.Bootstrap(context.Background(), sdkAdmin); err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(httpapi.New(l, httpapi.Config{}))
	tb.Cleanup(func() {
		srv.Close()
		_ = l.Close(context.Background())
		_ = st.Close()
	})
	return &realServer{URL: srv.URL, t: tb}
}

// do calls the API with the admin key and decodes a 2xx answer into out.
func (s *realServer) do(method, path string, in, out any) {
	s.t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.URL+path, body)
	req.Header.Set("Authorization", "Bearer "+sdkAdmin)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		s.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			s.t.Fatal(err)
		}
	}
}

// tenantKey creates tenant and returns a tenant-scoped key of role.
func (s *realServer) tenantKey(tenant string, role hashtrail.Role) string {
	s.t.Helper()
	s.do("POST", "/v1/tenants", api.TenantRequest{ID: tenant}, nil)
	var k hashtrail.NewKey
	s.do("POST", "/v1/tenants/"+tenant+"/keys", api.KeyRequest{Role: role, Name: "sdk test"}, &k)
	return k.Secret
}

// events returns every event of tenant, oldest first.
func (s *realServer) events(tenant string) []*hashtrail.Event {
	s.t.Helper()
	var all []*hashtrail.Event
	cursor := ""
	for {
		var list api.EventList
		s.do("GET", "/v1/tenants/"+tenant+"/events?order=asc&limit=1000&cursor="+cursor, nil, &list)
		all = append(all, list.Events...)
		if list.NextCursor == "" {
			return all
		}
		cursor = list.NextCursor
	}
}

// checkEvents checks that tenant holds exactly the events with ids want,
// in this order, each once.
func checkEvents(t *testing.T, s *realServer, tenant string, want []string) {
	t.Helper()
	got := s.events(tenant)
	var ids []string
	for _, e := range got {
		if strings.HasPrefix(e.Action, "tenant.") || strings.HasPrefix(e.Action, "api_key.") {
			continue // the server's own audit events
		}
		ids = append(ids, e.ID)
	}
	if len(ids) != len(want) {
		t.Fatalf("tenant %s holds %d events, want %d", tenant, len(ids), len(want))
	}
	for i := range want {
		if ids[i] != want[i] {
			t.Fatalf("tenant %s: event %d is %s, want %s (order or duplicates wrong)", tenant, i, ids[i], want[i])
		}
	}
}

// fault is a proxy in front of a server that can answer for it: down
// (connections are closed), or a status with Retry-After for the next n
// requests.
type fault struct {
	URL    string
	target string

	mu         sync.Mutex
	down       bool
	status     int    // answer this status...
	times      int    // ...this many times
	retryAfter string // with this Retry-After
	failedAt   []time.Time
	retriedAt  []time.Time

	requests    atomic.Int64
	inflight    atomic.Int64
	maxInflight atomic.Int64 // the most requests ever in flight at once
	bodies      chan []byte  // when not nil, every forwarded body is sent here
}

func newFault(t testing.TB, target string) *fault {
	f := &fault{target: target}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

func (f *fault) setDown(down bool) {
	f.mu.Lock()
	f.down = down
	f.mu.Unlock()
}

func (f *fault) failNext(status, times int, retryAfter string) {
	f.mu.Lock()
	f.status, f.times, f.retryAfter = status, times, retryAfter
	f.mu.Unlock()
}

func (f *fault) serve(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	n := f.inflight.Add(1)
	defer f.inflight.Add(-1)
	for m := f.maxInflight.Load(); n > m && !f.maxInflight.CompareAndSwap(m, n); m = f.maxInflight.Load() {
	}
	f.mu.Lock()
	down := f.down
	status := 0
	if f.times > 0 {
		f.times--
		status = f.status
		f.failedAt = append(f.failedAt, time.Now())
	} else if len(f.failedAt) > len(f.retriedAt) {
		f.retriedAt = append(f.retriedAt, time.Now())
	}
	ra := f.retryAfter
	f.mu.Unlock()
	if down {
		hj, ok := w.(http.Hijacker)
		if !ok {
			panic("no hijacker")
		}
		conn, _, _ := hj.Hijack()
		_ = conn.Close()
		return
	}
	if status != 0 {
		if ra != "" {
			w.Header().Set("Retry-After", ra)
		}
		w.Header().Set("Content-Type", api.ContentTypeProblem)
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"type":"about:blank","title":%q,"status":%d,"code":"unavailable"}`, http.StatusText(status), status)
		return
	}
	body, _ := io.ReadAll(r.Body)
	req, _ := http.NewRequestWithContext(r.Context(), r.Method, f.target+r.URL.RequestURI(), bytes.NewReader(body))
	req.Header = r.Header.Clone()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// errs collects what the error handler receives.
type errs struct {
	mu   sync.Mutex
	list []error
}

func (e *errs) add(err error) {
	e.mu.Lock()
	e.list = append(e.list, err)
	e.mu.Unlock()
}

func (e *errs) all() []error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]error(nil), e.list...)
}

// eventErrors returns the *client.EventError the handler received.
func (e *errs) eventErrors() []*client.EventError {
	var out []*client.EventError
	for _, err := range e.all() {
		if ee, ok := err.(*client.EventError); ok {
			out = append(out, ee)
		}
	}
	return out
}

// newEvent returns an event with a fixed id and an action.
func newEvent(id string) *hashtrail.Event {
	return &hashtrail.Event{ID: id, Action: "user.login", Actor: &hashtrail.Actor{Type: hashtrail.ActorUser, ID: "42"}}
}

// ids returns n ids with prefix.
func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + "-" + strconv.Itoa(i)
	}
	return out
}

// fast are options that keep tests quick: short backoffs and batch delay.
func fast(opts ...client.Option) []client.Option {
	return append([]client.Option{
		client.WithBackoff(time.Millisecond, 20*time.Millisecond),
		client.WithBatchDelay(5 * time.Millisecond),
	}, opts...)
}

func mustNew(t testing.TB, url, key string, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.New(url, key, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// A client still retrying against a server that is down gives up.
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_ = c.Close(ctx)
	})
	return c
}

// unusedAddr returns a URL nothing listens on.
func unusedAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// httpHandlerFunc is a handler that hands its request's context to fn.
type httpHandlerFunc func(ctx context.Context)

func (f httpHandlerFunc) ServeHTTP(_ http.ResponseWriter, r *http.Request) { f(r.Context()) }
