package ledger_test

import (
	"encoding/json"
	"testing"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/ledger"
)

func TestReadAudit(t *testing.T) {
	l, _ := MustOpen(t, ledger.Config{})
	op := t.Context()
	if _, err := l.CreateTenant(op, &hashtrail.Tenant{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ingest(t, op, l, "acme", `{"id":"e1","action":"user.login","actor":{"type":"user","id":"1"}}`); err != nil {
		t.Fatal(err)
	}
	reader := as(t.Context(), "acme", hashtrail.RoleRead)
	admin := as(t.Context(), "acme", hashtrail.RoleAdmin)
	// Off by default: nothing recorded.
	if _, err := l.Events(reader, &hashtrail.Query{Tenant: "acme"}); err != nil {
		t.Fatal(err)
	}
	if err := l.SetReadAudit(reader, "acme", true); hashtrail.ErrorCode(err) != hashtrail.EFORBIDDEN {
		t.Fatalf("a read key turned it on: %v", err)
	}
	if err := l.SetReadAudit(admin, "acme", true); err != nil {
		t.Fatal(err)
	}
	if on, err := l.ReadAudit(admin, "acme"); err != nil || !on {
		t.Fatalf("ReadAudit = %v %v", on, err)
	}
	for range 3 {
		if _, err := l.Events(reader, &hashtrail.Query{Tenant: "acme", Actions: []string{"user.*"}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.Event(reader, "acme", "e1"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Events(admin, &hashtrail.Query{Tenant: "acme"}); err != nil { // admins are not recorded
		t.Fatal(err)
	}
	// Close writes the open window: one event for the four reads.
	if err := l.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	list, err := l.Events(op, &hashtrail.Query{Tenant: "acme", Actions: []string{ledger.ActionDataRead}})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Events) != 1 {
		t.Fatalf("%d data.read events, want 1", len(list.Events))
	}
	e := list.Events[0]
	var md struct {
		Reads   int      `json:"reads"`
		Events  int      `json:"events"`
		Filters []string `json:"filters"`
	}
	if err := json.Unmarshal(e.Metadata, &md); err != nil {
		t.Fatal(err)
	}
	if e.Actor.ID != "key_test_read" || e.Category != hashtrail.CategoryData || md.Reads != 4 || md.Events != 4 || len(md.Filters) != 2 {
		t.Errorf("read record %+v %+v", e.Actor, md)
	}
}
