package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/api"
	"github.com/hashtrail/hashtrail/httpapi"
)

// Secrets the fake service knows.
const (
	adminSecret   = "htk_admin-secret-0123456789abcdefghijklmnop"
	installSecret = "htk_install-secret-0123456789abcdefghijklm"
)

// testNow is the clock of every test server.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// call is one recorded call to the fake service.
type call struct {
	method    string
	principal *hashtrail.Principal
	args      []any
}

// fakeService is a hashtrail.LogService that records its calls and answers
// canned values, or err when set.
type fakeService struct {
	mu    sync.Mutex
	calls []call

	err      error // every method but Authenticate and Ready returns it when set
	readyErr error
	panicMsg string // Events panics with it when set

	list   *hashtrail.EventList
	event  *hashtrail.Event
	tenant *hashtrail.Tenant
	keys   []*hashtrail.APIKey
	integ  integrityAnswers // see log_test.go
}

var _ hashtrail.LogService = (*fakeService)(nil)

// Authorize lets every caller past the router's first check: the fake's
// tests are about handlers; the route walk checks authorization.
func (f *fakeService) Authorize(context.Context, string, hashtrail.Permission) error { return nil }

func (f *fakeService) record(ctx context.Context, method string, args ...any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call{method, hashtrail.PrincipalFrom(ctx), args})
	return f.err
}

// last returns the last call to method, failing the test if there is none.
func (f *fakeService) last(t *testing.T, method string) call {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.calls) - 1; i >= 0; i-- {
		if f.calls[i].method == method {
			return f.calls[i]
		}
	}
	t.Fatalf("%s was not called", method)
	return call{}
}

// reset forgets the recorded calls.
func (f *fakeService) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = nil
}

// called reports whether method was called.
func (f *fakeService) called(method string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.calls {
		if c.method == method {
			return true
		}
	}
	return false
}

func (f *fakeService) Authenticate(ctx context.Context, secret string) (*hashtrail.Principal, error) {
	switch secret {
	case adminSecret:
		return &hashtrail.Principal{KeyID: "key_admin", Tenant: "acme", Role: hashtrail.RoleAdmin}, nil
	case installSecret:
		return &hashtrail.Principal{KeyID: "key_install", Tenant: hashtrail.AllTenants, Role: hashtrail.RoleAdmin}, nil
	}
	return nil, hashtrail.Errorf(hashtrail.EUNAUTHORIZED, "unknown, expired or revoked key")
}

func (f *fakeService) Ingest(ctx context.Context, req *hashtrail.IngestRequest) ([]hashtrail.Receipt, error) {
	if err := f.record(ctx, "Ingest", req); err != nil {
		return nil, err
	}
	var out []hashtrail.Receipt
	for i, sub := range req.Submissions {
		t := req.Tenant
		if t == "" {
			t = sub.Event.Tenant
		}
		out = append(out, hashtrail.Receipt{Index: sub.Index, Tenant: t, ID: sub.Event.ID, Seq: int64(i),
			ReceivedAt: hashtrail.NewTime(testNow), LeafHash: strings.Repeat("ab", 32)})
	}
	return out, nil
}

func (f *fakeService) Events(ctx context.Context, q *hashtrail.Query) (*hashtrail.EventList, error) {
	if f.panicMsg != "" {
		panic(f.panicMsg)
	}
	if err := f.record(ctx, "Events", q); err != nil {
		return nil, err
	}
	if f.list != nil {
		return f.list, nil
	}
	return &hashtrail.EventList{}, nil
}

func (f *fakeService) Event(ctx context.Context, tenant, id string) (*hashtrail.Event, error) {
	if err := f.record(ctx, "Event", tenant, id); err != nil {
		return nil, err
	}
	if f.event == nil {
		return nil, hashtrail.Errorf(hashtrail.ENOTFOUND, "no such event")
	}
	return f.event, nil
}

func (f *fakeService) CreateTenant(ctx context.Context, t *hashtrail.Tenant) (*hashtrail.Tenant, error) {
	if err := f.record(ctx, "CreateTenant", t); err != nil {
		return nil, err
	}
	c := *t
	c.CreatedAt = hashtrail.NewTime(testNow)
	return &c, nil
}

func (f *fakeService) Tenant(ctx context.Context, id string) (*hashtrail.Tenant, error) {
	if err := f.record(ctx, "Tenant", id); err != nil {
		return nil, err
	}
	return &hashtrail.Tenant{ID: id, CreatedAt: hashtrail.NewTime(testNow)}, nil
}

func (f *fakeService) Tenants(ctx context.Context) ([]*hashtrail.Tenant, error) {
	return nil, f.record(ctx, "Tenants")
}

func (f *fakeService) UpdateTenant(ctx context.Context, t *hashtrail.Tenant) (*hashtrail.Tenant, error) {
	if err := f.record(ctx, "UpdateTenant", t); err != nil {
		return nil, err
	}
	return t, nil
}

func (f *fakeService) DeleteTenant(ctx context.Context, id string) error {
	return f.record(ctx, "DeleteTenant", id)
}

func (f *fakeService) CreateKey(ctx context.Context, req *hashtrail.KeyRequest) (*hashtrail.NewKey, error) {
	if err := f.record(ctx, "CreateKey", req); err != nil {
		return nil, err
	}
	return &hashtrail.NewKey{
		APIKey: hashtrail.APIKey{ID: "key_new", Tenant: req.Tenant, Role: req.Role, Name: req.Name,
			Hint: "htk_abcdefgh…", CreatedAt: hashtrail.NewTime(testNow), ExpiresAt: req.ExpiresAt},
		Secret: "htk_abcdefghsecret",
	}, nil
}

func (f *fakeService) Keys(ctx context.Context, tenant string) ([]*hashtrail.APIKey, error) {
	if err := f.record(ctx, "Keys", tenant); err != nil {
		return nil, err
	}
	return f.keys, nil
}

func (f *fakeService) RevokeKey(ctx context.Context, tenant, id string) error {
	return f.record(ctx, "RevokeKey", tenant, id)
}

func (f *fakeService) CreateViewerToken(ctx context.Context, req *hashtrail.ViewerTokenRequest) (*hashtrail.ViewerToken, error) {
	if err := f.record(ctx, "CreateViewerToken", req); err != nil {
		return nil, err
	}
	return &hashtrail.ViewerToken{Token: "htv_x.y", TokenID: "vt_x"}, nil
}

func (f *fakeService) RevokeViewerToken(ctx context.Context, tenant, id string) error {
	return f.record(ctx, "RevokeViewerToken", tenant, id)
}

func (f *fakeService) RedactionRules(ctx context.Context, tenant string) (*hashtrail.RedactionRules, int64, error) {
	return &hashtrail.RedactionRules{}, 0, f.record(ctx, "RedactionRules", tenant)
}

func (f *fakeService) SetRedactionRules(ctx context.Context, tenant string, rules *hashtrail.RedactionRules, version int64) (int64, error) {
	return version + 1, f.record(ctx, "SetRedactionRules", tenant, rules, version)
}

func (f *fakeService) SuspendTenant(ctx context.Context, id string, suspended bool, reason string) (*hashtrail.Tenant, error) {
	if err := f.record(ctx, "SuspendTenant", id, suspended, reason); err != nil {
		return nil, err
	}
	return &hashtrail.Tenant{ID: id, Suspended: suspended, SuspendedReason: reason}, nil
}

func (f *fakeService) RotateKey(ctx context.Context, tenant, id string, grace time.Duration) (*hashtrail.NewKey, error) {
	if err := f.record(ctx, "RotateKey", tenant, id, grace); err != nil {
		return nil, err
	}
	return &hashtrail.NewKey{APIKey: hashtrail.APIKey{ID: "key_new", Tenant: tenant}, Secret: "htk_new"}, nil
}

func (f *fakeService) ReadAudit(ctx context.Context, tenant string) (bool, error) {
	return false, f.record(ctx, "ReadAudit", tenant)
}

func (f *fakeService) SetReadAudit(ctx context.Context, tenant string, enabled bool) error {
	return f.record(ctx, "SetReadAudit", tenant, enabled)
}

func (f *fakeService) SetTenantQuota(ctx context.Context, id string, n int64) (*hashtrail.Tenant, error) {
	if err := f.record(ctx, "SetTenantQuota", id, n); err != nil {
		return nil, err
	}
	return &hashtrail.Tenant{ID: id, EventsPerDay: n}, nil
}

func (f *fakeService) Ready(ctx context.Context) error { return f.readyErr }

// syncBuffer is a bytes.Buffer safe for the logger's concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testServer is a Server over a fake service, with its log captured.
type testServer struct {
	*httpapi.Server
	svc  *fakeService
	logs *syncBuffer
}

func newServer(t testing.TB, cfgs ...func(*httpapi.Config)) *testServer {
	t.Helper()
	logs := &syncBuffer{}
	cfg := httpapi.Config{
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:    func() time.Time { return testNow },
	}
	for _, f := range cfgs {
		f(&cfg)
	}
	svc := &fakeService{}
	return &testServer{Server: httpapi.New(svc, cfg), svc: svc, logs: logs}
}

// req is a test request. Headers come in pairs; the admin key is sent unless
// an Authorization header is given ("" to send none).
type req struct {
	method, target, body string
	headers              []string
}

func (s *testServer) do(t testing.TB, r req) *httptest.ResponseRecorder {
	t.Helper()
	hr := httptest.NewRequest(r.method, r.target, strings.NewReader(r.body))
	auth := "Bearer " + adminSecret
	for i := 0; i+1 < len(r.headers); i += 2 {
		if http.CanonicalHeaderKey(r.headers[i]) == "Authorization" {
			auth = r.headers[i+1]
			continue
		}
		hr.Header.Add(r.headers[i], r.headers[i+1])
	}
	if auth != "" {
		hr.Header.Set("Authorization", auth)
	}
	if r.body != "" && hr.Header.Get("Content-Type") == "" {
		hr.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, hr)
	return rec
}

// decodeProblem checks that rec is a problem answer with status and returns it.
func decodeProblem(t testing.TB, rec *httptest.ResponseRecorder, status int) api.Problem {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status = %d, want %d; body: %s", rec.Code, status, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != api.ContentTypeProblem {
		t.Fatalf("Content-Type = %q, want %q", ct, api.ContentTypeProblem)
	}
	var p api.Problem
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("problem body %s: %v", rec.Body, err)
	}
	if p.Status != status || p.Type == "" || p.Title != http.StatusText(status) || p.Code == "" {
		t.Fatalf("problem = %+v, want status %d with type, title and code", p, status)
	}
	if p.RequestID == "" || p.RequestID != rec.Header().Get(api.HeaderRequestID) {
		t.Fatalf("problem request_id = %q, header %q", p.RequestID, rec.Header().Get(api.HeaderRequestID))
	}
	return p
}

// decodeJSON checks a JSON answer with status and decodes it into v.
func decodeJSON(t testing.TB, rec *httptest.ResponseRecorder, status int, v any) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status = %d, want %d; body: %s", rec.Code, status, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q, want application/json", ct)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
		t.Fatalf("body %s: %v", rec.Body, err)
	}
}

// fieldSet lists a problem's fields.
func fieldSet(p api.Problem) map[string]string {
	m := map[string]string{}
	for _, e := range p.Errors {
		m[e.Field] = e.Message
	}
	return m
}
