package ledger_test

import (
	"testing"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/ledger"
)

func TestKeyScope(t *testing.T) {
	l, _ := MustOpen(t, ledger.Config{})
	op := t.Context()
	if _, err := l.CreateTenant(op, &hashtrail.Tenant{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ingest(t, op, l, "acme",
		`{"id":"p7","action":"project.update","actor":{"type":"user","id":"1"},"targets":[{"type":"project","id":"7"}]}`,
		`{"id":"p8","action":"project.update","actor":{"type":"user","id":"1"},"targets":[{"type":"project","id":"8"}]}`); err != nil {
		t.Fatal(err)
	}
	w, err := l.CreateKey(op, &hashtrail.KeyRequest{Tenant: "acme", Role: hashtrail.RoleIngest, Scope: &hashtrail.KeyScope{Actions: []string{"user.*", "billing.charge"}}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := l.CreateKey(op, &hashtrail.KeyRequest{Tenant: "acme", Role: hashtrail.RoleRead, Scope: &hashtrail.KeyScope{Filter: "target:project:7"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.CreateKey(op, &hashtrail.KeyRequest{Tenant: "acme", Role: hashtrail.RoleRead, Scope: &hashtrail.KeyScope{Filter: "nosuch:1", Actions: []string{"a*b"}}}); hashtrail.ErrorCode(err) != hashtrail.EINVALID {
		t.Fatalf("bad scope: %v", err)
	}
	pw, err := l.Authenticate(t.Context(), w.Secret)
	if err != nil || pw.Scope == nil || len(pw.Scope.Actions) != 2 {
		t.Fatalf("stored scope: %+v %v", pw, err)
	}
	wc := hashtrail.WithPrincipal(t.Context(), pw)
	if _, err := ingest(t, wc, l, "acme", `{"action":"user.login","actor":{"type":"user","id":"1"}}`, `{"action":"billing.charge","actor":{"type":"user","id":"1"}}`); err != nil {
		t.Fatalf("allowed actions: %v", err)
	}
	if _, err := ingest(t, wc, l, "acme", `{"action":"project.delete","actor":{"type":"user","id":"1"}}`); hashtrail.ErrorCode(err) != hashtrail.EFORBIDDEN {
		t.Fatalf("action outside the scope: %v", err)
	}
	pr, err := l.Authenticate(t.Context(), r.Secret)
	if err != nil {
		t.Fatal(err)
	}
	rc := hashtrail.WithPrincipal(t.Context(), pr)
	list, err := l.Events(rc, &hashtrail.Query{Tenant: "acme"})
	if err != nil || len(list.Events) != 1 || list.Events[0].ID != "p7" {
		t.Fatalf("scoped read: %+v %v", list, err)
	}
	if _, err := l.Event(rc, "acme", "p8"); hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
		t.Errorf("event outside the scope: %v", err)
	}
	if _, err := l.Checkpoint(rc, "acme"); hashtrail.ErrorCode(err) != hashtrail.EFORBIDDEN {
		t.Errorf("proofs with a read filter: %v", err)
	}
	keys, err := l.Keys(op, "acme")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, k := range keys {
		found = found || k.ID == r.ID && k.Scope != nil && k.Scope.Filter == "target:project:7"
	}
	if !found {
		t.Error("the key list does not show the scope")
	}
	// Rotation keeps the scope.
	nk, err := l.RotateKey(op, "acme", r.ID, 0)
	if err != nil || nk.Scope == nil || nk.Scope.Filter != "target:project:7" {
		t.Fatalf("rotated: %+v %v", nk, err)
	}
}
