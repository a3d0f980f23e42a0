package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/httpapi"
	"github.com/hashtrail/hashtrail/ledger"
	"github.com/hashtrail/hashtrail/store/sqlite"
)

// exportEnv is a real ledger on SQLite behind the API, with n events in
// tenant acme (every third a failed login) and one in tenant other.
type exportEnv struct {
	srv  http.Handler
	l    *ledger.Ledger
	keys map[string]string // name -> secret
}

func newExportEnv(tb testing.TB, n int) *exportEnv {
	tb.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "hashtrail.db"), sqlite.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	l := ledger.New(st, ledger.Config{AutoCreateTenants: true})
	tb.Cleanup(func() {
		l.Close(context.Background())
		st.Close()
	})
	now := hashtrail.NewTime(time.Now())
	for _, tenant := range []string{"acme", "other"} {
		if _, err := l.CreateTenant(ctx, &hashtrail.Tenant{ID: tenant}); err != nil {
			tb.Fatal(err)
		}
	}
	for start := 0; start < n; start += hashtrail.MaxBatchEvents {
		req := &hashtrail.IngestRequest{Tenant: "acme"}
		for i := start; i < min(n, start+hashtrail.MaxBatchEvents); i++ {
			action, outcome := "user.login", "success"
			if i%3 == 0 {
				action, outcome = "user.login_failed", "failure"
			}
			raw := fmt.Sprintf(`{"id":"e-%d","action":%q,"outcome":%q,"actor":{"type":"user","id":"%d","email":"u%d@example.com"},"context":{"ip":"203.0.113.%d","user_agent":"ua"}}`, i, action, outcome, i%50, i%50, i%200)
			sub, errs := hashtrail.DecodeEvent(json.RawMessage(raw), "", hashtrail.DecodeOptions{PathTenant: "acme"}, now)
			if errs != nil {
				tb.Fatal(errs)
			}
			sub.Index = i - start
			req.Submissions = append(req.Submissions, sub)
		}
		if _, err := l.Ingest(ctx, req); err != nil {
			tb.Fatal(err)
		}
	}
	e := &exportEnv{srv: httpapi.New(l, httpapi.Config{}), l: l, keys: map[string]string{}}
	for name, kr := range map[string]hashtrail.KeyRequest{
		"read": {Tenant: "acme", Role: hashtrail.RoleRead}, "admin": {Tenant: "acme", Role: hashtrail.RoleAdmin},
		"ingest": {Tenant: "acme", Role: hashtrail.RoleIngest}, "other": {Tenant: "other", Role: hashtrail.RoleAdmin},
	} {
		k, err := l.CreateKey(ctx, &kr)
		if err != nil {
			tb.Fatal(err)
		}
		e.keys[name] = k.Secret
	}
	return e
}

func (e *exportEnv) get(key, query string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", "/v1/tenants/acme/export?"+query, nil)
	r.Header.Set("Authorization", "Bearer "+e.keys[key])
	w := httptest.NewRecorder()
	e.srv.ServeHTTP(w, r)
	return w
}

// TestExportRoute exports more events than one page holds, in every
// format, checks authorization, the filters and the data.export record.
func TestExportRoute(t *testing.T) {
	const n = 2345
	e := newExportEnv(t, n)

	w := e.get("read", "")
	if w.Code != 200 {
		t.Fatalf("jsonl: %d %s", w.Code, w.Body)
	}
	if ct, cd := w.Header().Get("Content-Type"), w.Header().Get("Content-Disposition"); ct != "application/x-ndjson" || !strings.HasPrefix(cd, `attachment; filename="acme-`) || !strings.HasSuffix(cd, `.jsonl"`) {
		t.Errorf("Content-Type %q, Content-Disposition %q", ct, cd)
	}
	sc := bufio.NewScanner(w.Body)
	sc.Buffer(nil, 1<<20)
	var got int64
	for sc.Scan() {
		var ev hashtrail.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Tenant != "acme" || ev.Action == hashtrail.ActionDataExport {
			t.Fatalf("line %d: %s", got, sc.Bytes())
		}
		got++
	}
	// acme's log: tenant creation is recorded in the installation log, so
	// acme holds the n events and the key creations (admin acts).
	if got < n {
		t.Errorf("%d events exported, want at least %d", got, n)
	}

	// Filters, and q=: the failed logins are every third event.
	w = e.get("admin", "format=csv&q=outcome:failure+action:user.login_failed")
	rows, err := csv.NewReader(w.Body).ReadAll()
	if err != nil || w.Code != 200 {
		t.Fatalf("csv: %d %v", w.Code, err)
	}
	if want := (n + 2) / 3; len(rows)-1 != want {
		t.Errorf("csv: %d rows, want %d", len(rows)-1, want)
	}
	if w.Header().Get("Content-Type") != "text/csv; charset=utf-8; header=present" {
		t.Errorf("csv Content-Type %q", w.Header().Get("Content-Type"))
	}
	for _, f := range []string{"ocsf", "ecs", "cef"} {
		w := e.get("read", "format="+f+"&action=user.login")
		if w.Code != 200 {
			t.Fatalf("%s: %d %s", f, w.Code, w.Body)
		}
		if lines := bytes.Count(w.Body.Bytes(), []byte("\n")); lines != n-(n+2)/3 {
			t.Errorf("%s: %d lines, want %d", f, lines, n-(n+2)/3)
		}
	}

	// Authorization: what the key may read, nothing else.
	for _, tc := range []struct {
		key, query string
		status     int
	}{
		{"ingest", "", 403}, {"other", "", 404}, {"", "", 401},
		{"read", "format=xml", 400}, {"read", "format=bundle", 404 /* this ledger signs no checkpoint */}, {"read", "format=csv&personal_fields=email", 400}, {"read", "limit=5", 400},
		{"read", "cursor=x", 400}, {"read", "q=action:", 400}, {"read", "colour=red", 400},
	} {
		if w := e.get(tc.key, tc.query); w.Code != tc.status {
			t.Errorf("key %s ?%s: %d, want %d: %s", tc.key, tc.query, w.Code, tc.status, w.Body)
		}
	}

	// Each export is in the log: who, the format and the filter.
	ctx := context.Background()
	list, err := e.l.Events(ctx, &hashtrail.Query{Tenant: "acme", Actions: []string{hashtrail.ActionDataExport}, Order: hashtrail.OrderAsc, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Events) != 5 {
		t.Fatalf("%d data.export events, want 5 (the refused exports record nothing)", len(list.Events))
	}
	x := list.Events[1]
	if x.Actor == nil || x.Actor.Type != hashtrail.ActorAPIKey || x.Actor.ID == "" || x.Category != hashtrail.CategoryData ||
		!strings.Contains(string(x.Metadata), `"format":"csv"`) || !strings.Contains(string(x.Metadata), `outcome:failure`) {
		t.Errorf("data.export event: %+v actor %+v metadata %s", x, x.Actor, x.Metadata)
	}
}

// BenchmarkExportRoute measures an export through the API (events/s, and
// bytes allocated per event, which stay flat as the export grows: the
// answer is streamed page by page).
func BenchmarkExportRoute(b *testing.B) {
	const n = 5000
	e := newExportEnv(b, n)
	for _, f := range []string{"jsonl", "csv", "ocsf", "cef", "ecs"} {
		b.Run(f, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if w := e.get("read", "format="+f); w.Code != 200 {
					b.Fatal(w.Code)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// pageSpy wraps a service and notes, at each page the export reads, how
// many bytes the client had already received.
type pageSpy struct {
	hashtrail.LogService
	w     *flushCounter
	pages []int // bytes flushed to the client before each page was read
}

func (p *pageSpy) Events(ctx context.Context, q *hashtrail.Query) (*hashtrail.EventList, error) {
	if q.Limit > hashtrail.MaxLimit {
		return nil, fmt.Errorf("a page of %d", q.Limit)
	}
	p.pages = append(p.pages, p.w.flushed)
	return p.LogService.Events(ctx, q)
}

// flushCounter is a ResponseWriter that keeps only counts.
type flushCounter struct {
	h                http.Header
	written, flushed int
	status           int
}

func (f *flushCounter) Header() http.Header         { return f.h }
func (f *flushCounter) WriteHeader(code int)        { f.status = code }
func (f *flushCounter) Write(b []byte) (int, error) { f.written += len(b); return len(b), nil }
func (f *flushCounter) Flush()                      { f.flushed = f.written }

// TestExportStreams: the export reads the log a page at a time and sends
// each page before reading the next, so it never holds the whole export.
func TestExportStreams(t *testing.T) {
	e := newExportEnv(t, 2500)
	for _, f := range []string{"jsonl", "csv", "cef"} {
		w := &flushCounter{h: http.Header{}}
		spy := &pageSpy{LogService: e.l, w: w}
		r := httptest.NewRequest("GET", "/v1/tenants/acme/export?format="+f, nil)
		r.Header.Set("Authorization", "Bearer "+e.keys["read"])
		httpapi.New(spy, httpapi.Config{}).ServeHTTP(w, r)
		if w.status != 0 && w.status != 200 {
			t.Fatalf("%s: status %d", f, w.status)
		}
		if len(spy.pages) < 3 {
			t.Fatalf("%s: %d pages for 2,500 events", f, len(spy.pages))
		}
		for i := 1; i < len(spy.pages); i++ {
			if spy.pages[i] <= spy.pages[i-1] {
				t.Errorf("%s: page %d read before page %d reached the client (%v)", f, i, i-1, spy.pages)
			}
		}
	}
}
