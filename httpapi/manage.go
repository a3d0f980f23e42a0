package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/api"
)

// maxNameLen bounds the display names of tenants and keys, in bytes.
const maxNameLen = 256

// noParams rejects any query parameter.
func noParams(r *http.Request) error {
	p, err := queryParams(r)
	if err != nil {
		return err
	}
	return p.err()
}

// checkName validates a display name into errs.
func checkName(field, name string, errs []hashtrail.FieldError) []hashtrail.FieldError {
	switch {
	case len(name) > maxNameLen:
		return append(errs, hashtrail.FieldError{Field: field, Message: fmt.Sprintf("is %d bytes; the limit is %d", len(name), maxNameLen)})
	case !utf8.ValidString(name) || strings.ContainsFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return append(errs, hashtrail.FieldError{Field: field, Message: "must be UTF-8 text without control characters"})
	}
	return errs
}

// listTenants serves GET /v1/tenants.
func (s *Server) listTenants(w http.ResponseWriter, r *http.Request) error {
	if err := noParams(r); err != nil {
		return err
	}
	ts, err := s.svc.Tenants(r.Context())
	if err != nil {
		return err
	}
	if ts == nil {
		ts = []*hashtrail.Tenant{}
	}
	return writeJSON(w, http.StatusOK, api.TenantList{Tenants: ts})
}

// createTenant serves POST /v1/tenants.
func (s *Server) createTenant(w http.ResponseWriter, r *http.Request) error {
	if err := noParams(r); err != nil {
		return err
	}
	var req api.TenantRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	var errs []hashtrail.FieldError
	switch {
	case req.ID == "":
		errs = append(errs, hashtrail.FieldError{Field: "id", Message: "is required"})
	case !hashtrail.ValidTenantID(req.ID):
		errs = append(errs, hashtrail.FieldError{Field: "id", Message: "must match [a-z0-9][a-z0-9._-]{0,62}"})
	}
	if errs = checkName("name", req.Name, errs); len(errs) > 0 {
		return hashtrail.InvalidFields(errs)
	}
	t, err := s.svc.CreateTenant(r.Context(), &hashtrail.Tenant{ID: req.ID, Name: req.Name})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/tenants/"+url.PathEscape(t.ID))
	return writeJSON(w, http.StatusCreated, t)
}

// getTenant serves GET /v1/tenants/{tenant}.
func (s *Server) getTenant(w http.ResponseWriter, r *http.Request) error {
	id, err := pathTenant(r)
	if err != nil {
		return err
	}
	if err := noParams(r); err != nil {
		return err
	}
	t, err := s.svc.Tenant(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, t)
}

// updateTenant serves PATCH /v1/tenants/{tenant}.
func (s *Server) updateTenant(w http.ResponseWriter, r *http.Request) error {
	id, err := pathTenant(r)
	if err != nil {
		return err
	}
	if err := noParams(r); err != nil {
		return err
	}
	var req api.TenantPatch
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Name == nil && req.Suspended == nil && req.EventsPerDay == nil && req.StorageBytesLimit == nil {
		return hashtrail.InvalidFields([]hashtrail.FieldError{{Field: "name", Message: "is required unless suspended, events_per_day or storage_bytes_limit is given: those are the fields a tenant can change"}})
	}
	if req.Suspended == nil && req.SuspendedReason != "" {
		return hashtrail.InvalidFields([]hashtrail.FieldError{{Field: "suspended_reason", Message: "goes with suspended: true"}})
	}
	var t *hashtrail.Tenant
	if req.Name != nil {
		if errs := checkName("name", *req.Name, nil); len(errs) > 0 {
			return hashtrail.InvalidFields(errs)
		}
		if t, err = s.svc.UpdateTenant(r.Context(), &hashtrail.Tenant{ID: id, Name: *req.Name}); err != nil {
			return err
		}
	}
	if req.Suspended != nil {
		if t, err = s.svc.SuspendTenant(r.Context(), id, *req.Suspended, req.SuspendedReason); err != nil {
			return err
		}
	}
	if req.EventsPerDay != nil {
		if t, err = s.svc.SetTenantQuota(r.Context(), id, *req.EventsPerDay); err != nil {
			return err
		}
	}
	if req.StorageBytesLimit != nil {
		if t, err = s.svc.SetTenantStorageQuota(r.Context(), id, *req.StorageBytesLimit); err != nil {
			return err
		}
	}
	return writeJSON(w, http.StatusOK, t)
}

// deleteTenant serves DELETE /v1/tenants/{tenant}.
func (s *Server) deleteTenant(w http.ResponseWriter, r *http.Request) error {
	id, err := pathTenant(r)
	if err != nil {
		return err
	}
	p, err := queryParams(r, "events", "size")
	if err != nil {
		return err
	}
	events := p.one("events")
	if events != "" && events != "delete" {
		p.fail("events", `must be "delete": the confirmation that the tenant's events go too`)
	}
	size := p.int64("size", 0, events == "delete")
	if events == "" && p.one("size") != "" {
		p.fail("size", "goes with events=delete")
	}
	if err := p.err(); err != nil {
		return err
	}
	if events == "delete" {
		d, err := s.svc.DeleteTenantLog(r.Context(), id, size)
		if err != nil {
			return err
		}
		status := http.StatusAccepted // the data goes in the background
		if d.State == hashtrail.TenantDeleted {
			status = http.StatusOK
		}
		return writeJSON(w, status, d)
	}
	if err := s.svc.DeleteTenant(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// listTenantKeys serves GET /v1/tenants/{tenant}/keys.
func (s *Server) listTenantKeys(w http.ResponseWriter, r *http.Request) error {
	tenant, err := pathTenant(r)
	if err != nil {
		return err
	}
	return s.listKeys(w, r, tenant)
}

// listInstallationKeys serves GET /v1/keys.
func (s *Server) listInstallationKeys(w http.ResponseWriter, r *http.Request) error {
	return s.listKeys(w, r, hashtrail.AllTenants)
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request, tenant string) error {
	if err := noParams(r); err != nil {
		return err
	}
	keys, err := s.svc.Keys(r.Context(), tenant)
	if err != nil {
		return err
	}
	if keys == nil {
		keys = []*hashtrail.APIKey{}
	}
	return writeJSON(w, http.StatusOK, api.KeyList{Keys: keys})
}

// createTenantKey serves POST /v1/tenants/{tenant}/keys.
func (s *Server) createTenantKey(w http.ResponseWriter, r *http.Request) error {
	tenant, err := pathTenant(r)
	if err != nil {
		return err
	}
	return s.createKey(w, r, tenant)
}

// createInstallationKey serves POST /v1/keys.
func (s *Server) createInstallationKey(w http.ResponseWriter, r *http.Request) error {
	return s.createKey(w, r, hashtrail.AllTenants)
}

// createKey makes a key for tenant (or AllTenants) and answers its secret,
// the only time it is shown.
func (s *Server) createKey(w http.ResponseWriter, r *http.Request, tenant string) error {
	if err := noParams(r); err != nil {
		return err
	}
	var req api.KeyRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	var errs []hashtrail.FieldError
	switch {
	case req.Role == "":
		errs = append(errs, hashtrail.FieldError{Field: "role", Message: "is required: one of " + enumList(hashtrail.Roles)})
	case !req.Role.Valid():
		errs = append(errs, hashtrail.FieldError{Field: "role", Message: "must be one of " + enumList(hashtrail.Roles)})
	}
	errs = checkName("name", req.Name, errs)
	var expires hashtrail.Time
	if req.ExpiresIn != "" {
		d, err := time.ParseDuration(req.ExpiresIn)
		if err != nil || d <= 0 {
			errs = append(errs, hashtrail.FieldError{Field: "expires_in", Message: "must be a positive duration such as 720h or 90m"})
		} else {
			expires = hashtrail.NewTime(s.now().Add(d))
		}
	}
	if len(errs) > 0 {
		return hashtrail.InvalidFields(errs)
	}
	k, err := s.svc.CreateKey(r.Context(), &hashtrail.KeyRequest{Tenant: tenant, Role: req.Role, Name: req.Name, ExpiresAt: expires, Scope: req.Scope})
	if err != nil {
		return err
	}
	w.Header().Set("Location", keyPath(tenant, k.ID))
	return writeJSON(w, http.StatusCreated, k)
}

// keyPath is the URL path of a key.
func keyPath(tenant, id string) string {
	if tenant == hashtrail.AllTenants {
		return "/v1/keys/" + url.PathEscape(id)
	}
	return "/v1/tenants/" + url.PathEscape(tenant) + "/keys/" + url.PathEscape(id)
}

// revokeTenantKey serves DELETE /v1/tenants/{tenant}/keys/{key}.
func (s *Server) revokeTenantKey(w http.ResponseWriter, r *http.Request) error {
	tenant, err := pathTenant(r)
	if err != nil {
		return err
	}
	return s.revokeKey(w, r, tenant)
}

// revokeInstallationKey serves DELETE /v1/keys/{key}.
func (s *Server) revokeInstallationKey(w http.ResponseWriter, r *http.Request) error {
	return s.revokeKey(w, r, hashtrail.AllTenants)
}

func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request, tenant string) error {
	if err := noParams(r); err != nil {
		return err
	}
	if err := s.svc.RevokeKey(r.Context(), tenant, r.PathValue("key")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
