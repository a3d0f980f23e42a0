package httpapi_test

import (
	"context"
	"encoding/json"
	"testing"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/api"
)

func fakeSinkInfo(tenant, id string) *hashtrail.SinkInfo {
	return &hashtrail.SinkInfo{SinkConfig: &hashtrail.SinkConfig{ID: id, Tenant: tenant, Type: "file",
		Settings: json.RawMessage(`{"dir":"x"}`), State: hashtrail.SinkActive},
		Status: []hashtrail.SinkTenantStatus{{Tenant: "acme", Next: 3, LogSize: 5, LagEvents: 2}}}
}

func (f *fakeService) CreateSink(ctx context.Context, s *hashtrail.SinkConfig) (*hashtrail.SinkInfo, error) {
	if err := f.record(ctx, "CreateSink", s); err != nil {
		return nil, err
	}
	info := fakeSinkInfo(s.Tenant, "snk_new")
	info.Name, info.Filter, info.State = s.Name, s.Filter, s.State
	return info, nil
}

func (f *fakeService) Sinks(ctx context.Context, tenant string) ([]*hashtrail.SinkInfo, error) {
	if err := f.record(ctx, "Sinks", tenant); err != nil {
		return nil, err
	}
	return []*hashtrail.SinkInfo{fakeSinkInfo(tenant, "snk_1")}, nil
}

func (f *fakeService) Sink(ctx context.Context, tenant, id string) (*hashtrail.SinkInfo, error) {
	if err := f.record(ctx, "Sink", tenant, id); err != nil {
		return nil, err
	}
	return fakeSinkInfo(tenant, id), nil
}

func (f *fakeService) UpdateSink(ctx context.Context, tenant, id string, p *hashtrail.SinkPatch) (*hashtrail.SinkInfo, error) {
	if err := f.record(ctx, "UpdateSink", tenant, id, p); err != nil {
		return nil, err
	}
	return fakeSinkInfo(tenant, id), nil
}

func (f *fakeService) PauseSink(ctx context.Context, tenant, id, reason string) (*hashtrail.SinkInfo, error) {
	if err := f.record(ctx, "PauseSink", tenant, id, reason); err != nil {
		return nil, err
	}
	info := fakeSinkInfo(tenant, id)
	info.State, info.PausedReason = hashtrail.SinkPaused, reason
	return info, nil
}

func (f *fakeService) ResumeSink(ctx context.Context, tenant, id string) (*hashtrail.SinkInfo, error) {
	if err := f.record(ctx, "ResumeSink", tenant, id); err != nil {
		return nil, err
	}
	return fakeSinkInfo(tenant, id), nil
}

func (f *fakeService) ReplaySink(ctx context.Context, tenant, id string, r *hashtrail.SinkReplay) (*hashtrail.SinkInfo, error) {
	if err := f.record(ctx, "ReplaySink", tenant, id, r); err != nil {
		return nil, err
	}
	return fakeSinkInfo(tenant, id), nil
}

func (f *fakeService) DeleteSink(ctx context.Context, tenant, id string) error {
	return f.record(ctx, "DeleteSink", tenant, id)
}

func TestSinkRoutes(t *testing.T) {
	s := newServer(t)
	rec := s.do(t, req{method: "POST", target: "/v1/tenants/acme/sinks", body: `{"name":"siem","type":"file","filter":"category:authentication","settings":{"dir":"x"},"paused":true}`})
	var info hashtrail.SinkInfo
	decodeJSON(t, rec, 201, &info)
	if loc := rec.Header().Get("Location"); loc != "/v1/tenants/acme/sinks/snk_new" {
		t.Errorf("Location = %q", loc)
	}
	c := s.svc.last(t, "CreateSink").args[0].(*hashtrail.SinkConfig)
	if c.Tenant != "acme" || c.Type != "file" || c.Name != "siem" || c.Filter != "category:authentication" ||
		string(c.Settings) != `{"dir":"x"}` || c.State != hashtrail.SinkPaused {
		t.Errorf("CreateSink got %+v", c)
	}
	rec = s.do(t, req{method: "POST", target: "/v1/sinks", body: `{"type":"file"}`})
	decodeJSON(t, rec, 201, &info)
	if got := s.svc.last(t, "CreateSink").args[0].(*hashtrail.SinkConfig).Tenant; got != hashtrail.AllTenants {
		t.Errorf("POST /v1/sinks made a sink of %q", got)
	}
	if loc := rec.Header().Get("Location"); loc != "/v1/sinks/snk_new" {
		t.Errorf("Location = %q", loc)
	}
	p := decodeProblem(t, s.do(t, req{method: "POST", target: "/v1/sinks", body: `{"name":"x"}`}), 400)
	if fieldSet(p)["type"] == "" {
		t.Errorf("a sink without a type: %+v", p)
	}

	var list api.SinkList
	decodeJSON(t, s.do(t, req{method: "GET", target: "/v1/tenants/acme/sinks"}), 200, &list)
	if len(list.Sinks) != 1 || list.Sinks[0].ID != "snk_1" || len(list.Sinks[0].Status) != 1 || list.Sinks[0].Status[0].LagEvents != 2 {
		t.Errorf("list = %+v", list)
	}
	decodeJSON(t, s.do(t, req{method: "GET", target: "/v1/sinks"}), 200, &list)
	if s.svc.last(t, "Sinks").args[0] != hashtrail.AllTenants {
		t.Errorf("GET /v1/sinks listed %v", s.svc.last(t, "Sinks").args)
	}

	decodeJSON(t, s.do(t, req{method: "GET", target: "/v1/tenants/acme/sinks/snk_1"}), 200, &info)
	decodeJSON(t, s.do(t, req{method: "PATCH", target: "/v1/tenants/acme/sinks/snk_1", body: `{"filter":"","batch_size":50}`}), 200, &info)
	pt := s.svc.last(t, "UpdateSink").args[2].(*hashtrail.SinkPatch)
	if pt.Filter == nil || *pt.Filter != "" || pt.BatchSize == nil || *pt.BatchSize != 50 || pt.Name != nil || pt.Settings != nil {
		t.Errorf("UpdateSink got %+v", pt)
	}

	decodeJSON(t, s.do(t, req{method: "POST", target: "/v1/tenants/acme/sinks/snk_1/pause"}), 200, &info)
	if args := s.svc.last(t, "PauseSink").args; args[2] != "" {
		t.Errorf("pause without a body: %v", args)
	}
	decodeJSON(t, s.do(t, req{method: "POST", target: "/v1/sinks/snk_1/pause", body: `{"reason":"SIEM upgrade"}`}), 200, &info)
	if args := s.svc.last(t, "PauseSink").args; args[0] != hashtrail.AllTenants || args[2] != "SIEM upgrade" {
		t.Errorf("pause: %v", args)
	}
	decodeJSON(t, s.do(t, req{method: "POST", target: "/v1/tenants/acme/sinks/snk_1/resume"}), 200, &info)
	decodeJSON(t, s.do(t, req{method: "POST", target: "/v1/tenants/acme/sinks/snk_1/replay", body: `{"from_time":"2026-01-01T00:00:00Z"}`}), 200, &info)
	r := s.svc.last(t, "ReplaySink").args[2].(*hashtrail.SinkReplay)
	if r.FromSeq != nil || r.FromTime.IsZero() {
		t.Errorf("replay got %+v", r)
	}
	decodeJSON(t, s.do(t, req{method: "POST", target: "/v1/sinks/snk_1/replay", body: `{"from_seq":0,"tenant":"acme"}`}), 200, &info)
	r = s.svc.last(t, "ReplaySink").args[2].(*hashtrail.SinkReplay)
	if r.FromSeq == nil || *r.FromSeq != 0 || r.Tenant != "acme" {
		t.Errorf("replay got %+v", r)
	}
	if rec := s.do(t, req{method: "DELETE", target: "/v1/tenants/acme/sinks/snk_1"}); rec.Code != 204 {
		t.Errorf("DELETE: %d %s", rec.Code, rec.Body)
	}
	if args := s.svc.last(t, "DeleteSink").args; args[0] != "acme" || args[1] != "snk_1" {
		t.Errorf("DeleteSink got %v", args)
	}
}
