package ledger_test

import (
	"strings"
	"testing"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/ledger"
)

// TestRecordSinkPaused: a pause the dispatcher makes itself is an event in
// the log of the tenant whose deliveries failed, by the system, naming the
// sink and the reason (cut to 500 bytes, valid UTF-8); an installation-wide
// sink's pause goes to the tenant that failed too.
func TestRecordSinkPaused(t *testing.T) {
	l, _ := MustOpen(t, ledger.Config{})
	root := as(t.Context(), hashtrail.AllTenants, hashtrail.RoleAdmin)
	if _, err := l.CreateTenant(root, &hashtrail.Tenant{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	s := &hashtrail.SinkConfig{ID: "snk_1", Tenant: "acme", Name: "siem", Type: "webhook"}
	l.RecordSinkPaused(t.Context(), s, "acme", "10 failed deliveries in a row; the last: 503")
	all := &hashtrail.SinkConfig{ID: "snk_2", Tenant: hashtrail.AllTenants, Type: "splunk"}
	l.RecordSinkPaused(t.Context(), all, "acme", strings.Repeat("é", 400))

	list, err := l.Events(as(t.Context(), "acme", hashtrail.RoleAdmin), &hashtrail.Query{Tenant: "acme", Actions: []string{ledger.ActionSinkPaused}, Order: hashtrail.OrderAsc, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Events) != 2 {
		t.Fatalf("%d sink_paused events, want 2", len(list.Events))
	}
	e := list.Events[0]
	if e.Category != hashtrail.CategorySystem || e.Actor.Type != hashtrail.ActorSystem || e.Targets[0].Key() != "sink:snk_1" ||
		e.Targets[0].Name != "siem (webhook)" || e.Reason != "10 failed deliveries in a row; the last: 503" {
		t.Errorf("event %+v", e)
	}
	if r := list.Events[1].Reason; len(r) > 500 || !strings.HasPrefix(r, "éé") || strings.ContainsRune(r, '\uFFFD') {
		t.Errorf("long reason: %d bytes %q", len(r), r[:10])
	}
}
