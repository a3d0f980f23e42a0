package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	hashtrail "github.com/hashtrail/hashtrail"
)

func (f *fakeService) Retention(ctx context.Context, tenant string) (*hashtrail.RetentionPolicy, error) {
	if err := f.record(ctx, "Retention", tenant); err != nil {
		return nil, err
	}
	return &hashtrail.RetentionPolicy{Rules: []hashtrail.RetentionRule{}, Version: 2}, nil
}

func (f *fakeService) PutRetention(ctx context.Context, tenant string, p *hashtrail.RetentionPolicy) (*hashtrail.RetentionPolicy, error) {
	if err := f.record(ctx, "PutRetention", tenant, p.Version, len(p.Rules)); err != nil {
		return nil, err
	}
	out := *p
	out.Version++
	return &out, nil
}

func (f *fakeService) Holds(ctx context.Context, tenant string) (*hashtrail.LegalHolds, error) {
	if err := f.record(ctx, "Holds", tenant); err != nil {
		return nil, err
	}
	return &hashtrail.LegalHolds{Holds: []hashtrail.LegalHold{}}, nil
}

func (f *fakeService) AddHold(ctx context.Context, tenant string, h *hashtrail.LegalHold) (*hashtrail.LegalHold, error) {
	if err := f.record(ctx, "AddHold", tenant, h.Filter, h.Reason); err != nil {
		return nil, err
	}
	return &hashtrail.LegalHold{ID: "hold_1", Filter: h.Filter, Reason: h.Reason}, nil
}

func (f *fakeService) RemoveHold(ctx context.Context, tenant, id string) error {
	return f.record(ctx, "RemoveHold", tenant, id)
}

func (f *fakeService) RetentionFloor(ctx context.Context) (*hashtrail.RetentionFloor, error) {
	if err := f.record(ctx, "RetentionFloor"); err != nil {
		return nil, err
	}
	return &hashtrail.RetentionFloor{}, nil
}

func (f *fakeService) PutRetentionFloor(ctx context.Context, fl *hashtrail.RetentionFloor) (*hashtrail.RetentionFloor, error) {
	if err := f.record(ctx, "PutRetentionFloor", fl.Version, fl.Locked); err != nil {
		return nil, err
	}
	out := *fl
	out.Version++
	return &out, nil
}

func TestRetentionRoutes(t *testing.T) {
	s := newServer(t)
	rec := s.do(t, req{method: "GET", target: "/v1/tenants/acme/retention"})
	var p hashtrail.RetentionPolicy
	decodeJSON(t, rec, 200, &p)
	if p.Version != 2 || rec.Header().Get("ETag") != `"2"` {
		t.Errorf("get: %+v etag %s", p, rec.Header().Get("ETag"))
	}
	body := `{"version":2,"rules":[{"filter":"target:project:*","keep":"forever"},{"category":"authentication","keep":"400d"}],"default":"12mo"}`
	decodeJSON(t, s.do(t, req{method: "PUT", target: "/v1/tenants/acme/retention", body: body, headers: []string{"If-Match", `"5"`}}), 200, &p)
	if c := s.svc.last(t, "PutRetention"); c.args[1] != int64(5) || c.args[2] != 2 {
		t.Errorf("put passed %v", c.args)
	}
	pr := decodeProblem(t, s.do(t, req{method: "PUT", target: "/v1/tenants/acme/retention", body: `{"rules":[{"keep":"400 days"}]}`}), 400)
	if len(pr.Errors) == 0 {
		t.Errorf("a bad keep: %+v", pr)
	}
	var h hashtrail.LegalHold
	decodeJSON(t, s.do(t, req{method: "POST", target: "/v1/tenants/acme/holds", body: `{"filter":"actor:user:42","reason":"case 7"}`}), 201, &h)
	if c := s.svc.last(t, "AddHold"); c.args[1] != "actor:user:42" || c.args[2] != "case 7" || h.ID != "hold_1" {
		t.Errorf("add hold passed %v, answered %+v", c.args, h)
	}
	var hs hashtrail.LegalHolds
	decodeJSON(t, s.do(t, req{method: "GET", target: "/v1/tenants/acme/holds"}), 200, &hs)
	if rec := s.do(t, req{method: "DELETE", target: "/v1/tenants/acme/holds/hold_1"}); rec.Code != http.StatusNoContent {
		t.Errorf("delete hold: %d", rec.Code)
	}
	if c := s.svc.last(t, "RemoveHold"); c.args[1] != "hold_1" {
		t.Errorf("remove hold passed %v", c.args)
	}
	var f hashtrail.RetentionFloor
	decodeJSON(t, s.do(t, req{method: "PUT", target: "/v1/retention/floor", body: `{"keep":"12mo","locked":true}`}), 200, &f)
	if f.Keep == nil || f.Keep.String() != "12mo" || !f.Locked {
		t.Errorf("floor: %+v", f)
	}
	decodeJSON(t, s.do(t, req{method: "GET", target: "/v1/retention/floor"}), 200, &f)
	_ = strings.Contains
}
