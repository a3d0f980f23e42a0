package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"testing"

	hashtrail "github.com/hashtrail/hashtrail"
)

func (f *fakeService) SavedSearches(ctx context.Context, tenant string) (*hashtrail.SavedSearches, error) {
	if err := f.record(ctx, "SavedSearches", tenant); err != nil {
		return nil, err
	}
	return &hashtrail.SavedSearches{Searches: []*hashtrail.SavedSearch{}, Version: 1}, nil
}

func (f *fakeService) SavedSearch(ctx context.Context, tenant, id string) (*hashtrail.SavedSearch, error) {
	if err := f.record(ctx, "SavedSearch", tenant, id); err != nil {
		return nil, err
	}
	return &hashtrail.SavedSearch{ID: id, Tenant: tenant, Name: "n"}, nil
}

func (f *fakeService) CreateSavedSearch(ctx context.Context, tenant string, s *hashtrail.SavedSearch) (*hashtrail.SavedSearch, error) {
	if err := f.record(ctx, "CreateSavedSearch", tenant, s); err != nil {
		return nil, err
	}
	c := *s
	c.ID, c.Tenant = "search_1", tenant
	c.URL = c.ViewURL()
	return &c, nil
}

func (f *fakeService) UpdateSavedSearch(ctx context.Context, tenant, id string, s *hashtrail.SavedSearch) (*hashtrail.SavedSearch, error) {
	if err := f.record(ctx, "UpdateSavedSearch", tenant, id, s); err != nil {
		return nil, err
	}
	c := *s
	c.ID, c.Tenant = id, tenant
	return &c, nil
}

func (f *fakeService) DeleteSavedSearch(ctx context.Context, tenant, id string) error {
	return f.record(ctx, "DeleteSavedSearch", tenant, id)
}

func TestSavedSearchRoutes(t *testing.T) {
	s := newServer(t)
	body := `{"name":"Failed logins","query":"action:user.login -outcome:success","range":"7d","group_by":"country","bucket":"day","columns":["time","actor"]}`
	rec := s.do(t, req{method: "POST", target: "/v1/tenants/acme/searches", body: body})
	if rec.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	got := s.svc.last(t, "CreateSavedSearch").args[1].(*hashtrail.SavedSearch)
	want := &hashtrail.SavedSearch{Name: "Failed logins", Query: "action:user.login -outcome:success", Range: "7d",
		GroupBy: hashtrail.StatsCountry, Bucket: hashtrail.BucketDay, Columns: []string{"time", "actor"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("create passed %+v, want %+v", got, want)
	}
	var ans hashtrail.SavedSearch
	if err := json.Unmarshal(rec.Body.Bytes(), &ans); err != nil || ans.URL != "/ui/t/acme/?bucket=day&columns=time%2Cactor&group_by=country&q=action%3Auser.login+-outcome%3Asuccess&range=7d" {
		t.Errorf("answer %s: %v", rec.Body, err)
	}
	if rec := s.do(t, req{method: "PUT", target: "/v1/tenants/acme/searches/search_1", body: `{"name":"x"}`}); rec.Code != 200 {
		t.Errorf("put: %d %s", rec.Code, rec.Body)
	}
	if c := s.svc.last(t, "UpdateSavedSearch"); c.args[1] != "search_1" {
		t.Errorf("put: %+v", c.args)
	}
	if rec := s.do(t, req{method: "DELETE", target: "/v1/tenants/acme/searches/search_1"}); rec.Code != http.StatusNoContent {
		t.Errorf("delete: %d %s", rec.Code, rec.Body)
	}
	if rec := s.do(t, req{method: "GET", target: "/v1/tenants/acme/searches"}); rec.Code != 200 {
		t.Errorf("list: %d %s", rec.Code, rec.Body)
	}
	p := decodeProblem(t, s.do(t, req{method: "POST", target: "/v1/tenants/acme/searches", body: `{"name":"x","colour":"red"}`}), 400)
	if _, ok := fieldSet(p)["colour"]; !ok {
		t.Errorf("unknown member: %+v", p.Errors)
	}
}
