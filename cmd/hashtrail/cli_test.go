package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/httpapi"
	"github.com/hashtrail/hashtrail/ledger"
	"github.com/hashtrail/hashtrail/store/sqlite"
)

// adminSecret is the bootstrap admin key of the test installations.
const adminSecret = "htk_test-admin-secret-0123456789abcdefghijkl"

// syncBuffer is a bytes.Buffer safe to read while a command writes to it.
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

// run executes the hashtrail command in-process with args, as main does.
func run(ctx context.Context, stdout, stderr *syncBuffer, args ...string) error {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	return root.ExecuteContext(ctx)
}

// cli runs the command and fails the test if it fails; it returns stdout.
func cli(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, err := cliErr(t, args...)
	if err != nil {
		t.Fatalf("hashtrail %s: %v\nstderr: %s", strings.Join(args, " "), err, errOut)
	}
	return out
}

// cliErr runs the command and returns stdout, stderr and its error.
func cliErr(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr syncBuffer
	err := run(t.Context(), &stdout, &stderr, args...)
	return stdout.String(), stderr.String(), err
}

// clearEnv keeps the test's environment from choosing how commands connect.
func clearEnv(t *testing.T) {
	for _, v := range []string{configEnv, envName("data"), envName("store"), envURL, envAPIKey} {
		t.Setenv(v, "")
	}
}

// MustOpen opens the installation in dir (creating it) and returns its
// ledger; both close with the test unless closed before.
func MustOpen(t *testing.T, dir string) (*ledger.Ledger, func()) {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, dbFile), sqlite.Config{})
	if err != nil {
		t.Fatal(err)
	}
	l := ledger.New(st, ledger.Config{AutoCreateTenants: true})
	var once sync.Once
	closeAll := func() {
		once.Do(func() {
			if err := l.Close(context.Background()); err != nil {
				t.Error(err)
			}
			if err := st.Close(); err != nil {
				t.Error(err)
			}
		})
	}
	t.Cleanup(closeAll)
	if _, err := l.Bootstrap(t.Context(), adminSecret); err != nil {
		t.Fatal(err)
	}
	return l, closeAll
}

// newDataDir returns a bootstrapped data directory nothing holds open.
func newDataDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	_, closeAll := MustOpen(t, dir)
	closeAll()
	return dir
}

// newServer runs the HTTP API over a ledger over SQLite on a free port.
func newServer(t *testing.T) (*ledger.Ledger, string) {
	t.Helper()
	l, closeAll := MustOpen(t, t.TempDir())
	srv := httptest.NewServer(httpapi.New(l, httpapi.Config{}))
	t.Cleanup(func() {
		srv.Close()
		closeAll()
	})
	return l, srv.URL
}

// sampleEvents are five events of tenant acme, seq 0..4 in this order.
var sampleEvents = []string{
	`{"id":"e0","time":"2026-01-02T10:00:00Z","action":"user.login","actor":{"type":"user","id":"42","email":"ada@example.com"},"context":{"ip":"203.0.113.7"}}`,
	`{"id":"e1","time":"2026-01-02T10:01:00Z","action":"user.login","outcome":"failure","severity":"medium","actor":{"type":"user","id":"43"},"context":{"ip":"198.51.100.2"}}`,
	`{"id":"e2","time":"2026-01-02T10:02:00Z","action":"role.permission_grant","severity":"high","actor":{"type":"user","id":"42"},"targets":[{"type":"role","id":"admin"},{"type":"user","id":"43"}]}`,
	`{"id":"e3","time":"2026-01-02T10:03:00Z","action":"project.delete","severity":"critical","actor":{"type":"service","id":"deployer"},"targets":[{"type":"project","id":"7"}]}`,
	`{"id":"e4","time":"2026-01-02T10:04:00Z","action":"app.env_var_add","actor":{"type":"user","id":"42"},"targets":[{"type":"project","id":"7"}],"context":{"ip":"203.0.113.9"}}`,
}

// ingest appends raw events to tenant through the ledger as the local operator.
func ingest(t *testing.T, l *ledger.Ledger, tenant string, raws ...string) []hashtrail.Receipt {
	t.Helper()
	req := &hashtrail.IngestRequest{Tenant: tenant}
	for i, raw := range raws {
		sub, errs := hashtrail.DecodeEvent(json.RawMessage(raw), "", hashtrail.DecodeOptions{PathTenant: tenant}, hashtrail.NewTime(time.Now()))
		if errs != nil {
			t.Fatalf("decoding %s: %v", raw, errs)
		}
		sub.Index = i
		req.Submissions = append(req.Submissions, sub)
	}
	rs, err := l.Ingest(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// jsonLines decodes JSON Lines output into events.
func jsonLines(t *testing.T, out string) []*hashtrail.Event {
	t.Helper()
	var evs []*hashtrail.Event
	for line := range strings.Lines(out) {
		var e hashtrail.Event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("line %q is not an event: %v", line, err)
		}
		evs = append(evs, &e)
	}
	return evs
}

// ids lists the events' ids.
func ids(evs []*hashtrail.Event) string {
	s := make([]string, len(evs))
	for i, e := range evs {
		s[i] = e.ID
	}
	return strings.Join(s, ",")
}

// waitFor polls cond until it holds; the test's own deadline bounds it.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-t.Context().Done():
			t.Fatalf("gave up waiting for %s", what)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// mustContain fails unless s contains every one of subs.
func mustContain(t *testing.T, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("output lacks %q:\n%s", sub, s)
		}
	}
}

// decode unmarshals JSON output into v.
func decode(t *testing.T, out string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
}
