package ledger_test

import (
	"strings"
	"testing"
	"time"

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

// TestAlertOnSinkPaused: a rule that asks for system.sink_paused hears of
// a pause the dispatcher made; one without a system filter does not.
func TestAlertOnSinkPaused(t *testing.T) {
	fn := &fakeNotifier{}
	l, _ := MustOpen(t, ledger.Config{Notifier: fn, AlertInterval: 20 * time.Millisecond})
	if _, err := l.CreateTenant(as(t.Context(), hashtrail.AllTenants, hashtrail.RoleAdmin), &hashtrail.Tenant{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	admin := as(t.Context(), "acme", hashtrail.RoleAdmin)
	paused, err := l.CreateAlert(admin, &hashtrail.AlertRule{Tenant: "acme", Name: "sink paused", Filter: "action:system.sink_paused", Email: []string{"ops@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	every, err := l.CreateAlert(admin, &hashtrail.AlertRule{Tenant: "acme", Name: "everything", Email: []string{"ops@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	l.RecordSinkPaused(t.Context(), &hashtrail.SinkConfig{ID: "snk_1", Tenant: "acme", Type: "webhook"}, "acme", "10 failed deliveries in a row")
	fs := waitFirings(t, l, "acme", paused.ID, 1)
	if fs[0].Reason != "matching event" || !fs[0].Notified {
		t.Errorf("firing %+v", fs[0])
	}
	time.Sleep(100 * time.Millisecond)
	if fs, _ := l.AlertFirings(admin, "acme", every.ID, 10); len(fs) != 0 {
		t.Errorf("a rule without a system filter fired on a system event: %+v", fs[0])
	}
	fn.mu.Lock()
	defer fn.mu.Unlock()
	if len(fn.mails) != 1 || !strings.Contains(fn.mails[0].Subject, "sink paused") {
		t.Errorf("mails %d", len(fn.mails))
	}
}
