package ledger

import (
	"encoding/json"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
)

// BenchmarkCatalogApply measures what a tenant catalog costs one event:
// defaults and a metadata schema check.
func BenchmarkCatalogApply(b *testing.B) {
	cat, fields := compileCatalog(&hashtrail.TenantCatalog{Mode: hashtrail.CatalogStrict, Actions: []hashtrail.ActionSpec{{
		Action: "user.login", Severity: hashtrail.SeverityLow,
		MetadataSchema: json.RawMessage(`{"type":"object","required":["plan"],"properties":{"plan":{"enum":["free","team","enterprise"]},"attempt":{"type":"integer","minimum":1}}}`),
	}}})
	if len(fields) > 0 {
		b.Fatal(fields)
	}
	meta := json.RawMessage(`{"plan":"enterprise","attempt":1}`)
	b.ReportAllocs()
	for b.Loop() {
		ev := hashtrail.Event{Action: "user.login", Metadata: meta}
		if errs := cat.apply(&ev, "events[0]"); errs != nil {
			b.Fatal(errs)
		}
	}
}

// BenchmarkCatalogLookup is the cost for a tenant without a catalog: one
// cache lookup per request and tenant.
func BenchmarkCatalogLookup(b *testing.B) {
	l := &Ledger{now: time.Now}
	l.catalogs.set("acme", nil, time.Now().Add(time.Hour))
	b.ReportAllocs()
	for b.Loop() {
		if cat, err := l.catalogFor(b.Context(), "acme"); cat != nil || err != nil {
			b.Fatal(cat, err)
		}
	}
}
