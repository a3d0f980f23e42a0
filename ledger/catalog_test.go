package ledger_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/ledger"
)

const invoiceSchema = `{"type":"object","required":["amount","currency"],"properties":{
	"amount":{"type":"number","minimum":0},"currency":{"type":"string","pattern":"^[A-Z]{3}$"},
	"lines":{"type":"array","items":{"type":"object","properties":{"sku":{"type":"string"}},"additionalProperties":false}}}}`

func invoiceCatalog(mode hashtrail.CatalogMode) *hashtrail.TenantCatalog {
	return &hashtrail.TenantCatalog{Mode: mode, Actions: []hashtrail.ActionSpec{{
		Action: "invoice.pay", Category: hashtrail.CategoryData, Severity: hashtrail.SeverityHigh,
		Description: "an invoice was paid", MetadataSchema: json.RawMessage(invoiceSchema),
	}}}
}

func fieldsOf(t *testing.T, err error, code string) map[string]string {
	t.Helper()
	if hashtrail.ErrorCode(err) != code {
		t.Fatalf("err = %v, want code %s", err, code)
	}
	out := map[string]string{}
	if he, ok := err.(*hashtrail.Error); ok {
		for _, f := range he.Fields {
			out[f.Field] = f.Message
		}
	}
	return out
}

func TestTenantCatalogAtIngest(t *testing.T) {
	l, st := MustOpen(t, ledger.Config{AutoCreateTenants: true})
	admin := as(t.Context(), "acme", hashtrail.RoleAdmin)
	ing := as(t.Context(), "acme", hashtrail.RoleIngest)
	if _, err := ingest(t, as(t.Context(), hashtrail.AllTenants, hashtrail.RoleAdmin), l, "acme", `{"action":"tenant.warmup"}`); err != nil {
		t.Fatal(err)
	}
	got, err := l.TenantCatalog(admin, "acme")
	if err != nil || got.Version != 0 || got.Mode != hashtrail.CatalogOpen || len(got.Actions) != 0 {
		t.Fatalf("empty catalog = %+v, %v", got, err)
	}
	doc, err := l.PutTenantCatalog(admin, "acme", invoiceCatalog(hashtrail.CatalogOpen))
	if err != nil || doc.Version != 1 || doc.UpdatedBy != "key_test_admin" {
		t.Fatalf("put = %+v, %v", doc, err)
	}

	// Defaults of a registered action; the event's own values win.
	rs, err := ingest(t, ing, l, "acme",
		`{"id":"p1","action":"invoice.pay","metadata":{"amount":12.5,"currency":"EUR"}}`,
		`{"id":"p2","action":"invoice.pay","severity":"low","metadata":{"amount":1,"currency":"USD"}}`,
		`{"id":"free","action":"widget.frobnicate"}`)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []hashtrail.Severity{hashtrail.SeverityHigh, hashtrail.SeverityLow, hashtrail.SeverityInfo} {
		ev, err := l.Event(admin, "acme", rs[i].ID)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Severity != want || (i < 2 && ev.Category != hashtrail.CategoryData) {
			t.Errorf("%s: severity %s category %s", ev.ID, ev.Severity, ev.Category)
		}
	}

	// Metadata that does not match: every field named, nothing written.
	before, _ := st.Tenant(t.Context(), "acme")
	req := &hashtrail.IngestRequest{Tenant: "acme"}
	for i, raw := range []string{
		`{"action":"user.login"}`,
		`{"action":"invoice.pay","metadata":{"amount":-1,"currency":"euro","lines":[{"sku":"a"},{"sku":"b","qty":2}]}}`,
		`{"action":"invoice.pay"}`,
	} {
		s := submission(t, "acme", raw)
		s.Index = i
		req.Submissions = append(req.Submissions, s)
	}
	_, err = l.Ingest(ing, req)
	f := fieldsOf(t, err, hashtrail.EINVALID)
	for _, want := range []string{"events[1].metadata.amount", "events[1].metadata.currency", "events[1].metadata.lines[1].qty",
		"events[2].metadata.amount", "events[2].metadata.currency"} {
		if f[want] == "" {
			t.Errorf("no error for %s in %v", want, f)
		}
	}
	t.Logf("%v", err)
	if len(f) != 5 || !strings.Contains(err.Error(), "2 of 3 events") {
		t.Errorf("errors %v (%v)", f, err)
	}
	if after, _ := st.Tenant(t.Context(), "acme"); after.Size != before.Size {
		t.Errorf("log grew from %d to %d on a rejected request", before.Size, after.Size)
	}
	// A single event: paths without events[i].
	req = &hashtrail.IngestRequest{Tenant: "acme", Single: true, Submissions: []*hashtrail.Submission{submission(t, "acme", `{"action":"invoice.pay","metadata":{"amount":"x","currency":"EUR"}}`)}}
	_, err = l.Ingest(ing, req)
	if f := fieldsOf(t, err, hashtrail.EINVALID); f["metadata.amount"] == "" {
		t.Errorf("single event: %v", f)
	}

	// Strict mode: unknown actions are refused, standard and registered ones pass.
	cur, _ := l.TenantCatalog(admin, "acme")
	strict := invoiceCatalog(hashtrail.CatalogStrict)
	strict.Version = cur.Version
	if _, err := l.PutTenantCatalog(admin, "acme", strict); err != nil {
		t.Fatal(err)
	}
	_, err = ingest(t, ing, l, "acme", `{"action":"user.login"}`, `{"action":"widget.frobnicate"}`)
	if f := fieldsOf(t, err, hashtrail.EINVALID); len(f) != 1 || !strings.Contains(f["events[1].action"], "strict") {
		t.Errorf("strict: %v", f)
	}
	if _, err := ingest(t, ing, l, "acme", `{"action":"user.login"}`, `{"action":"invoice.pay","metadata":{"amount":3,"currency":"EUR"}}`); err != nil {
		t.Errorf("strict, known actions: %v", err)
	}
	// Partial mode: the failing events are left out and listed.
	req = &hashtrail.IngestRequest{Tenant: "acme", Partial: true}
	for i, raw := range []string{`{"action":"widget.frobnicate"}`, `{"id":"ok1","action":"user.logout"}`, `{"action":"invoice.pay"}`} {
		s := submission(t, "acme", raw)
		s.Index = i
		req.Submissions = append(req.Submissions, s)
	}
	rs, err = l.Ingest(ing, req)
	if err != nil || len(rs) != 1 || rs[0].Index != 1 || rs[0].ID != "ok1" || len(req.Rejected) != 2 ||
		req.Rejected[0].Index != 0 || req.Rejected[1].Index != 2 || req.Rejected[1].Errors[0].Field != "events[2].metadata.amount" {
		t.Errorf("partial: %+v %+v %v", rs, req.Rejected, err)
	}
	req = &hashtrail.IngestRequest{Tenant: "acme", Partial: true, Submissions: []*hashtrail.Submission{submission(t, "acme", `{"action":"widget.frobnicate"}`)}}
	if _, err := l.Ingest(ing, req); hashtrail.ErrorCode(err) != hashtrail.EINVALID || len(req.Rejected) != 1 {
		t.Errorf("partial, none valid: %v %+v", err, req.Rejected)
	}
	// Another tenant is untouched.
	if _, err := ingest(t, as(t.Context(), hashtrail.AllTenants, hashtrail.RoleIngest), l, "globex", `{"action":"widget.frobnicate"}`, `{"action":"invoice.pay","metadata":{"x":1}}`); err != nil {
		t.Errorf("other tenant: %v", err)
	}
}

func TestTenantCatalogAdmin(t *testing.T) {
	l, _ := MustOpen(t, ledger.Config{AutoCreateTenants: true})
	install := as(t.Context(), hashtrail.AllTenants, hashtrail.RoleAdmin)
	for _, tn := range []string{"acme", "globex"} {
		if _, err := l.CreateTenant(install, &hashtrail.Tenant{ID: tn}); err != nil {
			t.Fatal(err)
		}
	}
	admin := as(t.Context(), "acme", hashtrail.RoleAdmin)

	// Roles and isolation: only admins, only their own tenant.
	for _, tc := range []struct {
		ctx    context.Context
		tenant string
		code   string
	}{
		{as(t.Context(), "acme", hashtrail.RoleRead), "acme", hashtrail.EFORBIDDEN},
		{as(t.Context(), "acme", hashtrail.RoleIngest), "acme", hashtrail.EFORBIDDEN},
		{admin, "globex", hashtrail.ENOTFOUND},
		{install, "nobody", hashtrail.ENOTFOUND},
		{install, hashtrail.SystemTenant, hashtrail.EFORBIDDEN},
	} {
		_, err := l.PutTenantCatalog(tc.ctx, tc.tenant, invoiceCatalog(hashtrail.CatalogStrict))
		if hashtrail.ErrorCode(err) != tc.code {
			t.Errorf("put %s: %v, want %s", tc.tenant, err, tc.code)
		}
		if tc.tenant != hashtrail.SystemTenant {
			if _, err := l.TenantCatalog(tc.ctx, tc.tenant); hashtrail.ErrorCode(err) != tc.code {
				t.Errorf("get %s: %v, want %s", tc.tenant, err, tc.code)
			}
		}
	}

	// Invalid documents name their fields; a schema must compile.
	bad := &hashtrail.TenantCatalog{Mode: "loose", Actions: []hashtrail.ActionSpec{
		{Action: "Invoice.Pay"},
		{Action: "a.b", Severity: "huge", MetadataSchema: json.RawMessage(`{"type":"objekt"}`)},
		{Action: "a.c", MetadataSchema: json.RawMessage(`{"$ref":"file:///etc/passwd"}`)},
		{Action: "a.b"},
		{Action: "system.subject_erased"},
	}}
	_, err := l.PutTenantCatalog(admin, "acme", bad)
	t.Logf("%v", err)
	f := fieldsOf(t, err, hashtrail.EINVALID)
	for _, want := range []string{"mode", "actions[0].action", "actions[1].severity", "actions[1].metadata_schema",
		"actions[2].metadata_schema", "actions[3].action", "actions[4].action"} {
		if f[want] == "" {
			t.Errorf("no error for %s in %v", want, f)
		}
	}

	// Optimistic versions.
	if _, err := l.PutTenantCatalog(admin, "acme", invoiceCatalog(hashtrail.CatalogOpen)); err != nil {
		t.Fatal(err)
	}
	_, err = l.PutTenantCatalog(admin, "acme", invoiceCatalog(hashtrail.CatalogStrict)) // still version 0
	if hashtrail.ErrorCode(err) != hashtrail.ECONFLICT || !strings.Contains(err.Error(), "version 1") {
		t.Errorf("stale put: %v", err)
	}
	doc, err := l.PutCatalogAction(admin, "acme", &hashtrail.ActionSpec{Action: "report.run", Outcome: hashtrail.OutcomeUnknown}, 0)
	if err != nil || doc.Version != 2 || len(doc.Actions) != 2 {
		t.Fatalf("put action: %+v %v", doc, err)
	}
	if _, err := l.PutCatalogAction(admin, "acme", &hashtrail.ActionSpec{Action: "report.run"}, 1); hashtrail.ErrorCode(err) != hashtrail.ECONFLICT {
		t.Errorf("stale put action: %v", err)
	}
	if _, err := l.DeleteCatalogAction(admin, "acme", "nope.nope", 0); hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
		t.Errorf("delete unknown action: %v", err)
	}
	doc, err = l.DeleteCatalogAction(admin, "acme", "invoice.pay", 2)
	if err != nil || doc.Version != 3 || len(doc.Actions) != 1 || doc.Actions[0].Action != "report.run" {
		t.Fatalf("delete action: %+v %v", doc, err)
	}

	// Each change is in the tenant's own log.
	list, err := l.Events(admin, &hashtrail.Query{Tenant: "acme", Order: hashtrail.OrderAsc})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range list.Events {
		actions = append(actions, e.Action)
		if e.Actor == nil || e.Actor.ID != "key_test_admin" || e.Category != hashtrail.CategorySystem {
			t.Errorf("audit event %s: actor %+v category %s", e.Action, e.Actor, e.Category)
		}
	}
	if got := strings.Join(actions, ","); got != "catalog.update,catalog.action_register,catalog.action_remove" {
		t.Errorf("audit trail %s", got)
	}
}

// TestTenantCatalogOtherNode checks that a change made through another
// ledger on the same store applies here within the cache's lifetime.
func TestTenantCatalogOtherNode(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	a, st := MustOpen(t, ledger.Config{AutoCreateTenants: true, Now: clock})
	b := ledger.New(st, ledger.Config{Now: clock})
	t.Cleanup(func() { b.Close(context.Background()) })
	install := as(t.Context(), hashtrail.AllTenants, hashtrail.RoleAdmin)
	if _, err := ingest(t, install, a, "acme", `{"action":"widget.frobnicate"}`); err != nil {
		t.Fatal(err)
	}
	if _, err := b.PutTenantCatalog(install, "acme", invoiceCatalog(hashtrail.CatalogStrict)); err != nil {
		t.Fatal(err)
	}
	if _, err := ingest(t, install, a, "acme", `{"action":"widget.frobnicate"}`); err != nil {
		t.Fatalf("within the cache lifetime the old catalog applies: %v", err)
	}
	now.Add(int64(3 * time.Second))
	if _, err := ingest(t, install, a, "acme", `{"action":"widget.frobnicate"}`); hashtrail.ErrorCode(err) != hashtrail.EINVALID {
		t.Fatalf("after the cache lifetime: %v", err)
	}
}

// BenchmarkIngestWithCatalog is BenchmarkIngest for a tenant whose catalog
// registers the events' action with a metadata schema: what defaults and
// schema validation add to ingest.
func BenchmarkIngestWithCatalog(b *testing.B) {
	l, _ := MustOpen(b, ledger.Config{AutoCreateTenants: true})
	admin := as(b.Context(), hashtrail.AllTenants, hashtrail.RoleAdmin)
	if _, err := ingest(b, admin, l, "bench", `{"action":"bench.start"}`); err != nil {
		b.Fatal(err)
	}
	_, err := l.PutTenantCatalog(admin, "bench", &hashtrail.TenantCatalog{Mode: hashtrail.CatalogStrict, Actions: []hashtrail.ActionSpec{{
		Action: "user.login", Severity: hashtrail.SeverityLow,
		MetadataSchema: json.RawMessage(`{"type":"object","required":["plan"],"properties":{"plan":{"enum":["free","team","enterprise"]},"attempt":{"type":"integer","minimum":1}}}`),
	}}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := as(b.Context(), hashtrail.AllTenants, hashtrail.RoleIngest)
	raw := `{"id":"%s","action":"user.login","actor":{"type":"user","id":"4711","name":"Alice Example","email":"alice@example.com"},` +
		`"targets":[{"type":"project","id":"7"}],"context":{"ip":"203.0.113.7","source":"web"},"metadata":{"plan":"enterprise","attempt":1}}`
	b.SetParallelism(4)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := &hashtrail.IngestRequest{Tenant: "bench"}
			for i := range 100 {
				s := submission(b, "bench", fmt.Sprintf(raw, hashtrail.NewEventID()))
				s.Index = i
				req.Submissions = append(req.Submissions, s)
			}
			if _, err := l.Ingest(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N*100)/time.Since(start).Seconds(), "events/s")
}
