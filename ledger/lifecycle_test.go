package ledger_test

import (
	"strings"
	"testing"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/ledger"
)

func TestSuspendTenant(t *testing.T) {
	l, _ := MustOpen(t, ledger.Config{})
	install := as(t.Context(), hashtrail.AllTenants, hashtrail.RoleAdmin)
	if _, err := l.CreateTenant(install, &hashtrail.Tenant{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	ev := `{"action":"user.login","actor":{"type":"user","id":"1"}}`
	writer := as(t.Context(), "acme", hashtrail.RoleIngest)
	if _, err := ingest(t, writer, l, "acme", ev); err != nil {
		t.Fatal(err)
	}
	if _, err := l.SuspendTenant(as(t.Context(), "acme", hashtrail.RoleAdmin), "acme", true, ""); hashtrail.ErrorCode(err) != hashtrail.EFORBIDDEN {
		t.Fatalf("a tenant admin suspended its tenant: %v", err)
	}
	tn, err := l.SuspendTenant(install, "acme", true, "unpaid invoice")
	if err != nil || !tn.Suspended || tn.SuspendedReason != "unpaid invoice" {
		t.Fatalf("suspend: %+v %v", tn, err)
	}
	_, err = ingest(t, writer, l, "acme", ev)
	if hashtrail.ErrorCode(err) != hashtrail.EFORBIDDEN || !strings.Contains(err.Error(), "suspended") || !strings.Contains(err.Error(), "unpaid invoice") {
		t.Fatalf("write to a suspended tenant: %v", err)
	}
	list, err := l.Events(as(t.Context(), "acme", hashtrail.RoleRead), &hashtrail.Query{Tenant: "acme", Order: hashtrail.OrderAsc})
	if err != nil || len(list.Events) != 2 || list.Events[1].Action != "tenant.suspend" {
		t.Fatalf("reads of a suspended tenant: %v %v", list, err)
	}
	if tn, err := l.SuspendTenant(install, "acme", false, ""); err != nil || tn.Suspended {
		t.Fatalf("resume: %+v %v", tn, err)
	}
	if _, err := ingest(t, writer, l, "acme", ev); err != nil {
		t.Fatalf("write after resume: %v", err)
	}
}
