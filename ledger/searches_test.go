package ledger_test

import (
	"testing"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/ledger"
)

func TestSavedSearches(t *testing.T) {
	l, _ := MustOpen(t, ledger.Config{})
	op := t.Context()
	if _, err := l.CreateTenant(op, &hashtrail.Tenant{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	admin := as(op, "acme", hashtrail.RoleAdmin)
	reader := as(op, "acme", hashtrail.RoleRead)
	def := &hashtrail.SavedSearch{Name: "Failed logins", Query: `action:user.login -outcome:success "new device"`, Range: "7d",
		GroupBy: hashtrail.StatsCountry, Bucket: hashtrail.BucketDay, Columns: []string{"time", "actor", "context.ip"}}
	s, err := l.CreateSavedSearch(admin, "acme", def)
	if err != nil {
		t.Fatal(err)
	}
	if s.ID == "" || s.Tenant != "acme" || s.CreatedBy != "key_test_admin" || s.URL == "" {
		t.Fatalf("created %+v", s)
	}
	if _, err := l.CreateSavedSearch(reader, "acme", def); hashtrail.ErrorCode(err) != hashtrail.EFORBIDDEN {
		t.Errorf("create by a read key: %v, want EFORBIDDEN", err)
	}
	if _, err := l.CreateSavedSearch(as(op, "globex", hashtrail.RoleAdmin), "acme", def); hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
		t.Errorf("create by another tenant's key: %v, want ENOTFOUND", err)
	}
	got, err := l.SavedSearch(reader, "acme", s.ID)
	if err != nil || got.Query != def.Query || got.URL != s.URL || len(got.Columns) != 3 {
		t.Fatalf("read back by a read key: %+v, %v", got, err)
	}
	v := hashtrail.WithPrincipal(op, &hashtrail.Principal{KeyID: "vt_1", Tenant: "acme", Role: hashtrail.RoleRead, Viewer: &hashtrail.ViewerScope{}})
	if _, err := l.SavedSearches(v, "acme"); hashtrail.ErrorCode(err) != hashtrail.EFORBIDDEN {
		t.Errorf("list by a viewer token: %v, want EFORBIDDEN", err)
	}

	bad := []struct {
		s     hashtrail.SavedSearch
		field string
	}{
		{hashtrail.SavedSearch{Query: "action:x"}, "name"},
		{hashtrail.SavedSearch{Name: "x", Query: "acton:user.login"}, "query"},
		{hashtrail.SavedSearch{Name: "x", Range: "7w"}, "range"},
		{hashtrail.SavedSearch{Name: "x", GroupBy: "ip"}, "group_by"},
		{hashtrail.SavedSearch{Name: "x", Bucket: "year"}, "bucket"},
		{hashtrail.SavedSearch{Name: "x", Columns: []string{"time", "secret"}}, "columns[1]"},
	}
	for _, b := range bad {
		if _, err := l.CreateSavedSearch(admin, "acme", &b.s); !hasField(err, b.field) {
			t.Errorf("create %+v: %v, want EINVALID naming %s", b.s, err, b.field)
		}
	}

	upd, err := l.UpdateSavedSearch(admin, "acme", s.ID, &hashtrail.SavedSearch{Name: "Renamed", Query: "category:authentication"})
	if err != nil || upd.Name != "Renamed" || upd.Range != "" || upd.CreatedAt != s.CreatedAt || upd.URL != "/ui/t/acme/?q=category%3Aauthentication" {
		t.Errorf("update: %+v, %v", upd, err)
	}
	if _, err := l.UpdateSavedSearch(admin, "acme", "search_missing", def); hashtrail.ErrorCode(err) != hashtrail.ENOTFOUND {
		t.Errorf("update of a missing search: %v", err)
	}
	if err := l.DeleteSavedSearch(reader, "acme", s.ID); hashtrail.ErrorCode(err) != hashtrail.EFORBIDDEN {
		t.Errorf("delete by a read key: %v", err)
	}
	if err := l.DeleteSavedSearch(admin, "acme", s.ID); err != nil {
		t.Fatal(err)
	}
	if list, err := l.SavedSearches(reader, "acme"); err != nil || len(list.Searches) != 0 || list.Version != 3 {
		t.Errorf("after delete: %+v, %v", list, err)
	}

	// Every change is audited in the tenant's own log.
	list, err := l.Events(admin, &hashtrail.Query{Tenant: "acme", Actions: []string{"saved_search.*"}, Order: hashtrail.OrderAsc})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range list.Events {
		if len(e.Targets) != 1 || e.Targets[0].ID != s.ID || e.Actor.ID != "key_test_admin" {
			t.Errorf("audit event %+v", e)
		}
		actions = append(actions, e.Action)
	}
	if len(actions) != 3 || actions[0] != "saved_search.create" || actions[1] != "saved_search.update" || actions[2] != "saved_search.delete" {
		t.Errorf("audited %v", actions)
	}
}
