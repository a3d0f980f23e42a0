package httpapi_test

import (
	"context"
	"testing"

	hashtrail "github.com/hashtrail/hashtrail"
)

func (f *fakeService) DeleteTenantLog(ctx context.Context, id string, size int64) (*hashtrail.TenantDeletion, error) {
	if err := f.record(ctx, "DeleteTenantLog", id, size); err != nil {
		return nil, err
	}
	return &hashtrail.TenantDeletion{Tenant: id, State: hashtrail.TenantDeleting, Size: size, RootHash: "ab"}, nil
}

func (f *fakeService) SetTenantStorageQuota(ctx context.Context, id string, n int64) (*hashtrail.Tenant, error) {
	if err := f.record(ctx, "SetTenantStorageQuota", id, n); err != nil {
		return nil, err
	}
	return &hashtrail.Tenant{ID: id, StorageBytesLimit: n}, nil
}

func TestDeleteTenantWithEventsRoute(t *testing.T) {
	s := newServer(t)
	var d hashtrail.TenantDeletion
	decodeJSON(t, s.do(t, req{method: "DELETE", target: "/v1/tenants/acme?events=delete&size=42"}), 202, &d)
	if d.State != hashtrail.TenantDeleting || d.Size != 42 {
		t.Errorf("answer %+v", d)
	}
	if c := s.svc.last(t, "DeleteTenantLog"); c.args[0] != "acme" || c.args[1] != int64(42) {
		t.Errorf("DeleteTenantLog%v", c.args)
	}
	for _, tt := range []struct{ target, field string }{
		{"/v1/tenants/acme?events=delete", "size"},
		{"/v1/tenants/acme?events=delete&size=-1", "size"},
		{"/v1/tenants/acme?events=delete&size=x", "size"},
		{"/v1/tenants/acme?events=keep&size=1", "events"},
		{"/v1/tenants/acme?size=1", "size"},
		{"/v1/tenants/acme?force=1", "force"},
	} {
		s := newServer(t)
		p := decodeProblem(t, s.do(t, req{method: "DELETE", target: tt.target}), 400)
		if _, ok := fieldSet(p)[tt.field]; !ok {
			t.Errorf("%s: errors %+v, want %q", tt.target, p.Errors, tt.field)
		}
		if s.svc.called("DeleteTenantLog") || s.svc.called("DeleteTenant") {
			t.Errorf("%s reached the service", tt.target)
		}
	}
	s = newServer(t)
	s.svc.err = hashtrail.Errorf(hashtrail.ECONFLICT, "tenant \"acme\" has 43 events, not 42")
	if p := decodeProblem(t, s.do(t, req{method: "DELETE", target: "/v1/tenants/acme?events=delete&size=42"}), 409); p.Detail == "" {
		t.Errorf("409 without detail: %+v", p)
	}
}

func TestStorageQuotaRoute(t *testing.T) {
	s := newServer(t)
	var tn hashtrail.Tenant
	decodeJSON(t, s.do(t, req{method: "PATCH", target: "/v1/tenants/acme", body: `{"storage_bytes_limit":1048576}`}), 200, &tn)
	if tn.StorageBytesLimit != 1048576 {
		t.Errorf("answer %+v", tn)
	}
	if c := s.svc.last(t, "SetTenantStorageQuota"); c.args[1] != int64(1048576) {
		t.Errorf("SetTenantStorageQuota%v", c.args)
	}
	// A write past the quota: 403 with its own code, not retried.
	s = newServer(t)
	s.svc.err = hashtrail.Errorf(hashtrail.EQUOTA, "tenant \"acme\" stores 10 GiB, reaching its storage quota of 10 GiB")
	p := decodeProblem(t, s.do(t, req{method: "POST", target: "/v1/tenants/acme/events", body: `{"action":"user.login"}`}), 403)
	if p.Code != hashtrail.EQUOTA || p.Detail == "" {
		t.Errorf("problem %+v", p)
	}
}
