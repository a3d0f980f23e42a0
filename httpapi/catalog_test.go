package httpapi_test

import (
	"context"
	"testing"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/api"
)

// The fake's catalog methods answer a catalog one version on from the one
// they were given.

func (f *fakeService) TenantCatalog(ctx context.Context, tenant string) (*hashtrail.TenantCatalog, error) {
	if err := f.record(ctx, "TenantCatalog", tenant); err != nil {
		return nil, err
	}
	return &hashtrail.TenantCatalog{Mode: hashtrail.CatalogOpen, Actions: []hashtrail.ActionSpec{}, Version: 4}, nil
}

func (f *fakeService) PutTenantCatalog(ctx context.Context, tenant string, c *hashtrail.TenantCatalog) (*hashtrail.TenantCatalog, error) {
	if err := f.record(ctx, "PutTenantCatalog", tenant, c); err != nil {
		return nil, err
	}
	out := *c
	out.Version++
	return &out, nil
}

func (f *fakeService) PutCatalogAction(ctx context.Context, tenant string, a *hashtrail.ActionSpec, version int64) (*hashtrail.TenantCatalog, error) {
	if err := f.record(ctx, "PutCatalogAction", tenant, a, version); err != nil {
		return nil, err
	}
	return &hashtrail.TenantCatalog{Mode: hashtrail.CatalogOpen, Actions: []hashtrail.ActionSpec{*a}, Version: version + 1}, nil
}

func (f *fakeService) DeleteCatalogAction(ctx context.Context, tenant, action string, version int64) (*hashtrail.TenantCatalog, error) {
	if err := f.record(ctx, "DeleteCatalogAction", tenant, action, version); err != nil {
		return nil, err
	}
	return &hashtrail.TenantCatalog{Mode: hashtrail.CatalogOpen, Actions: []hashtrail.ActionSpec{}, Version: version + 1}, nil
}

func TestStandardCatalogIsPublic(t *testing.T) {
	s := newServer(t)
	var c api.Catalog
	decodeJSON(t, s.do(t, req{method: "GET", target: "/v1/catalog", headers: []string{"Authorization", ""}}), 200, &c)
	if c.Version != hashtrail.CatalogVersion || c.OCSFVersion != "1.8.0" || len(c.Actions) != len(hashtrail.Catalog) {
		t.Fatalf("catalog = %d %s %d actions", c.Version, c.OCSFVersion, len(c.Actions))
	}
	for _, e := range c.Actions {
		if e.OCSF.ClassUID == 0 || e.Severity == "" || e.Outcome == "" {
			t.Errorf("entry %+v lacks defaults or its OCSF class", e)
		}
	}
}

func TestTenantCatalogRoutes(t *testing.T) {
	s := newServer(t)
	rec := s.do(t, req{method: "GET", target: "/v1/tenants/acme/catalog"})
	var c hashtrail.TenantCatalog
	decodeJSON(t, rec, 200, &c)
	if c.Version != 4 || rec.Header().Get("ETag") != `"4"` || rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("get: %+v etag %s", c, rec.Header().Get("ETag"))
	}

	body := `{"mode":"strict","version":2,"actions":[{"action":"invoice.pay","severity":"high","metadata_schema":{"type":"object"}}]}`
	decodeJSON(t, s.do(t, req{method: "PUT", target: "/v1/tenants/acme/catalog", body: body}), 200, &c)
	got := s.svc.last(t, "PutTenantCatalog").args[1].(*hashtrail.TenantCatalog)
	if got.Version != 2 || got.Mode != hashtrail.CatalogStrict || len(got.Actions) != 1 || string(got.Actions[0].MetadataSchema) != `{"type":"object"}` {
		t.Errorf("put passed %+v", got)
	}
	// If-Match wins over the body's version.
	s.do(t, req{method: "PUT", target: "/v1/tenants/acme/catalog", body: body, headers: []string{"If-Match", `"7"`}})
	if got := s.svc.last(t, "PutTenantCatalog").args[1].(*hashtrail.TenantCatalog); got.Version != 7 {
		t.Errorf("If-Match: version %d", got.Version)
	}
	p := decodeProblem(t, s.do(t, req{method: "PUT", target: "/v1/tenants/acme/catalog", body: body, headers: []string{"If-Match", "*"}}), 400)
	if fieldSet(p)["If-Match"] == "" {
		t.Errorf("bad If-Match: %+v", p)
	}
	p = decodeProblem(t, s.do(t, req{method: "PUT", target: "/v1/tenants/acme/catalog", body: `{"mode":"open","actionz":[]}`}), 400)
	if fieldSet(p)["actionz"] == "" {
		t.Errorf("unknown field: %+v", p)
	}

	// One action: the path names it.
	rec = s.do(t, req{method: "PUT", target: "/v1/tenants/acme/catalog/actions/report.run", body: `{"outcome":"unknown"}`, headers: []string{"If-Match", `"3"`}})
	decodeJSON(t, rec, 200, &c)
	cl := s.svc.last(t, "PutCatalogAction")
	if a := cl.args[1].(*hashtrail.ActionSpec); a.Action != "report.run" || a.Outcome != hashtrail.OutcomeUnknown || cl.args[2].(int64) != 3 || rec.Header().Get("ETag") != `"4"` {
		t.Errorf("put action passed %+v %v", a, cl.args[2])
	}
	p = decodeProblem(t, s.do(t, req{method: "PUT", target: "/v1/tenants/acme/catalog/actions/report.run", body: `{"action":"other.thing"}`}), 400)
	if fieldSet(p)["action"] == "" {
		t.Errorf("mismatched action: %+v", p)
	}
	decodeProblem(t, s.do(t, req{method: "PUT", target: "/v1/tenants/acme/catalog/actions/Report", body: `{}`}), 400)
	decodeJSON(t, s.do(t, req{method: "DELETE", target: "/v1/tenants/acme/catalog/actions/report.run"}), 200, &c)
	if cl := s.svc.last(t, "DeleteCatalogAction"); cl.args[1] != "report.run" || cl.args[2].(int64) != 0 {
		t.Errorf("delete passed %v", cl.args)
	}

	// The engine's answers map to statuses: a stale version is 409.
	s.svc.err = hashtrail.Errorf(hashtrail.ECONFLICT, "the catalog is at version 5, not 2")
	decodeProblem(t, s.do(t, req{method: "PUT", target: "/v1/tenants/acme/catalog", body: body}), 409)
	s.svc.err = hashtrail.Errorf(hashtrail.EFORBIDDEN, "no")
	decodeProblem(t, s.do(t, req{method: "GET", target: "/v1/tenants/acme/catalog"}), 403)
	decodeProblem(t, s.do(t, req{method: "GET", target: "/v1/tenants/acme/catalog", headers: []string{"Authorization", ""}}), 401)
}
