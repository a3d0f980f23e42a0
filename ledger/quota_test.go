package ledger_test

import (
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/ledger"
)

func TestQuotaEventsPerDay(t *testing.T) {
	l, _ := MustOpen(t, ledger.Config{KeyCacheTTL: time.Millisecond})
	install := as(t.Context(), hashtrail.AllTenants, hashtrail.RoleAdmin)
	if _, err := l.CreateTenant(install, &hashtrail.Tenant{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	ev := `{"action":"user.login","actor":{"type":"user","id":"1"}}`
	w := as(t.Context(), "acme", hashtrail.RoleIngest)
	if _, err := ingest(t, w, l, "acme", ev, ev); err != nil {
		t.Fatal(err)
	}
	if _, err := l.SetTenantQuota(as(t.Context(), "acme", hashtrail.RoleAdmin), "acme", 5); hashtrail.ErrorCode(err) != hashtrail.EFORBIDDEN {
		t.Fatalf("a tenant admin set its quota: %v", err)
	}
	tn, err := l.SetTenantQuota(install, "acme", 3)
	if err != nil || tn.EventsPerDay != 3 {
		t.Fatalf("set quota: %+v %v", tn, err)
	}
	// The day starts counting when the quota is first checked.
	if _, err := ingest(t, w, l, "acme", ev, ev); err != nil {
		t.Fatal(err)
	}
	_, err = ingest(t, w, l, "acme", ev, ev)
	if hashtrail.ErrorCode(err) != hashtrail.ERATELIMIT {
		t.Fatalf("past the quota: %v", err)
	}
	if ra, ok := err.(interface{ RetryAfter() time.Duration }); !ok || ra.RetryAfter() <= 0 || ra.RetryAfter() > 24*time.Hour {
		t.Errorf("retry after: %v", err)
	}
	if _, err := ingest(t, w, l, "acme", ev); err != nil {
		t.Fatalf("the last event of the quota: %v", err)
	}
	tn, err = l.Tenant(install, "acme")
	if err != nil || tn.EventsToday != 3 || tn.EventsPerDay != 3 {
		t.Fatalf("usage: %+v %v", tn, err)
	}
	if _, err := l.SetTenantQuota(install, "acme", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := ingest(t, w, l, "acme", ev, ev); err != nil {
		t.Fatalf("without a quota: %v", err)
	}
}
