package httpapi_test

import (
	"strings"
	"testing"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/api"
)

func TestTenants(t *testing.T) {
	s := newServer(t)
	var list api.TenantList
	decodeJSON(t, s.do(t, req{method: "GET", target: "/v1/tenants"}), 200, &list)
	if list.Tenants == nil {
		t.Error("tenants is null, want []")
	}

	rec := s.do(t, req{method: "POST", target: "/v1/tenants", body: `{"id":"acme","name":"Acme Inc."}`})
	var tn hashtrail.Tenant
	decodeJSON(t, rec, 201, &tn)
	if tn.ID != "acme" || tn.Name != "Acme Inc." || rec.Header().Get("Location") != "/v1/tenants/acme" {
		t.Errorf("created %+v at %q", tn, rec.Header().Get("Location"))
	}
	if got := s.svc.last(t, "CreateTenant").args[0].(*hashtrail.Tenant); got.ID != "acme" || got.Name != "Acme Inc." {
		t.Errorf("CreateTenant(%+v)", got)
	}

	decodeJSON(t, s.do(t, req{method: "GET", target: "/v1/tenants/acme"}), 200, &tn)

	rec = s.do(t, req{method: "PATCH", target: "/v1/tenants/acme", body: `{"name":"Acme GmbH"}`})
	decodeJSON(t, rec, 200, &tn)
	if got := s.svc.last(t, "UpdateTenant").args[0].(*hashtrail.Tenant); got.ID != "acme" || got.Name != "Acme GmbH" {
		t.Errorf("UpdateTenant(%+v)", got)
	}

	rec = s.do(t, req{method: "DELETE", target: "/v1/tenants/acme"})
	if rec.Code != 204 || rec.Body.Len() != 0 {
		t.Errorf("DELETE: %d %q", rec.Code, rec.Body)
	}
	if s.svc.last(t, "DeleteTenant").args[0] != "acme" {
		t.Error("DeleteTenant got the wrong tenant")
	}
}

func TestTenantBodyErrors(t *testing.T) {
	tests := []struct {
		method, target, body string
		status               int
		field                string
	}{
		{"POST", "/v1/tenants", `{"id":"acme","colour":"red"}`, 400, "colour"},
		{"POST", "/v1/tenants", `{"id":7}`, 400, "id"},
		{"POST", "/v1/tenants", `{"name":"x"}`, 400, "id"},
		{"POST", "/v1/tenants", `{"id":"Not Valid"}`, 400, "id"},
		{"POST", "/v1/tenants", `{"id":"acme","name":"a\u0000b"}`, 400, "name"},
		{"POST", "/v1/tenants", `{"id":"acme","name":"` + strings.Repeat("n", 257) + `"}`, 400, "name"},
		{"POST", "/v1/tenants", `{"id":"acme"} {"id":"b"}`, 400, ""},
		{"POST", "/v1/tenants", `{"id":`, 400, ""},
		{"POST", "/v1/tenants", `[1]`, 400, ""},
		{"POST", "/v1/tenants", `   `, 400, ""},
		{"PATCH", "/v1/tenants/acme", `{}`, 400, "name"},
		{"PATCH", "/v1/tenants/acme", `{"id":"other","name":"x"}`, 400, "id"},
		{"POST", "/v1/tenants", `{"id":"acme","name":"` + strings.Repeat("n", 1<<20) + `"}`, 413, ""},
	}
	for _, tt := range tests {
		s := newServer(t)
		p := decodeProblem(t, s.do(t, req{method: tt.method, target: tt.target, body: tt.body}), tt.status)
		if tt.field != "" {
			if _, ok := fieldSet(p)[tt.field]; !ok {
				t.Errorf("%s %.40s: errors = %+v, want %q", tt.method, tt.body, p.Errors, tt.field)
			}
		}
		if s.svc.called("CreateTenant") || s.svc.called("UpdateTenant") {
			t.Errorf("%s %.40s reached the service", tt.method, tt.body)
		}
	}
	s := newServer(t)
	decodeProblem(t, s.do(t, req{method: "POST", target: "/v1/tenants", body: `id=acme`,
		headers: []string{"Content-Type", "application/x-www-form-urlencoded"}}), 415)
	decodeProblem(t, s.do(t, req{method: "GET", target: "/v1/tenants?all=1"}), 400)
}

func TestKeys(t *testing.T) {
	s := newServer(t)
	rec := s.do(t, req{method: "POST", target: "/v1/tenants/acme/keys", body: `{"role":"ingest","name":"web app","expires_in":"720h"}`})
	var nk hashtrail.NewKey
	decodeJSON(t, rec, 201, &nk)
	if nk.Secret == "" || nk.ID != "key_new" || rec.Header().Get("Location") != "/v1/tenants/acme/keys/key_new" {
		t.Errorf("key %+v at %q", nk, rec.Header().Get("Location"))
	}
	kr := s.svc.last(t, "CreateKey").args[0].(*hashtrail.KeyRequest)
	want := hashtrail.KeyRequest{Tenant: "acme", Role: hashtrail.RoleIngest, Name: "web app", ExpiresAt: hashtrail.NewTime(testNow.Add(720 * time.Hour))}
	if *kr != want {
		t.Errorf("CreateKey(%+v), want %+v", *kr, want)
	}
	if rec.Header().Get("Cache-Control") != "no-store" {
		t.Error("a secret is answered cacheable")
	}

	rec = s.do(t, req{method: "POST", target: "/v1/keys", body: `{"role":"admin"}`, headers: []string{"Authorization", "Bearer " + installSecret}})
	decodeJSON(t, rec, 201, &nk)
	if kr := s.svc.last(t, "CreateKey").args[0].(*hashtrail.KeyRequest); kr.Tenant != hashtrail.AllTenants || !kr.ExpiresAt.IsZero() {
		t.Errorf("CreateKey(%+v)", kr)
	}
	if rec.Header().Get("Location") != "/v1/keys/key_new" {
		t.Errorf("Location = %q", rec.Header().Get("Location"))
	}

	var kl api.KeyList
	decodeJSON(t, s.do(t, req{method: "GET", target: "/v1/tenants/acme/keys"}), 200, &kl)
	if kl.Keys == nil || s.svc.last(t, "Keys").args[0] != "acme" {
		t.Errorf("keys = %+v", kl)
	}
	decodeJSON(t, s.do(t, req{method: "GET", target: "/v1/keys"}), 200, &kl)
	if s.svc.last(t, "Keys").args[0] != hashtrail.AllTenants {
		t.Error("GET /v1/keys did not ask for installation-wide keys")
	}

	if rec := s.do(t, req{method: "DELETE", target: "/v1/tenants/acme/keys/key_1"}); rec.Code != 204 {
		t.Errorf("DELETE: %d %s", rec.Code, rec.Body)
	}
	if c := s.svc.last(t, "RevokeKey"); c.args[0] != "acme" || c.args[1] != "key_1" {
		t.Errorf("RevokeKey%v", c.args)
	}
	if rec := s.do(t, req{method: "DELETE", target: "/v1/keys/key_2"}); rec.Code != 204 {
		t.Errorf("DELETE: %d %s", rec.Code, rec.Body)
	}
	if c := s.svc.last(t, "RevokeKey"); c.args[0] != hashtrail.AllTenants || c.args[1] != "key_2" {
		t.Errorf("RevokeKey%v", c.args)
	}
}

func TestKeyRequestErrors(t *testing.T) {
	tests := []struct {
		body   string
		fields []string
	}{
		{`{}`, []string{"role"}},
		{`{"role":"owner"}`, []string{"role"}},
		{`{"role":"read","expires_in":"30d"}`, []string{"expires_in"}},
		{`{"role":"read","expires_in":"-1h"}`, []string{"expires_in"}},
		{`{"role":"root","expires_in":"0s","name":"` + strings.Repeat("x", 300) + `"}`, []string{"role", "expires_in", "name"}},
		{`{"role":"read","secret":"mine"}`, []string{"secret"}},
		{`{"role":["read"]}`, []string{"role"}},
	}
	for _, tt := range tests {
		s := newServer(t)
		p := decodeProblem(t, s.do(t, req{method: "POST", target: "/v1/tenants/acme/keys", body: tt.body}), 400)
		fields := fieldSet(p)
		for _, f := range tt.fields {
			if _, ok := fields[f]; !ok {
				t.Errorf("%.60s: errors = %+v, want %q", tt.body, p.Errors, f)
			}
		}
		if s.svc.called("CreateKey") {
			t.Errorf("%s reached the service", tt.body)
		}
	}
}
