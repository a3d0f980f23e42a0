package httpapi

import (
	"net/http"
	"slices"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
)

// createViewerToken serves POST /v1/tenants/{tenant}/viewer-tokens.
func (s *Server) createViewerToken(w http.ResponseWriter, r *http.Request) error {
	tenant, err := pathTenant(r)
	if err != nil {
		return err
	}
	if err := noParams(r); err != nil {
		return err
	}
	var req hashtrail.ViewerTokenRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	req.Tenant = tenant
	tok, err := s.svc.CreateViewerToken(r.Context(), &req)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, tok)
}

// revokeViewerToken serves DELETE /v1/tenants/{tenant}/viewer-tokens/{token}.
func (s *Server) revokeViewerToken(w http.ResponseWriter, r *http.Request) error {
	tenant, err := pathTenant(r)
	if err != nil {
		return err
	}
	if err := noParams(r); err != nil {
		return err
	}
	if err := s.svc.RevokeViewerToken(r.Context(), tenant, r.PathValue("token")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// viewerCORS adds CORS headers to an answer for a viewer token whose
// allowed origins include the request's Origin. API keys never get them:
// a browser page must not hold an API key.
func viewerCORS(w http.ResponseWriter, r *http.Request, p *hashtrail.Principal) {
	origin := r.Header.Get("Origin")
	if p == nil || p.Viewer == nil || origin == "" || !slices.Contains(p.Viewer.Origins, origin) {
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
	h.Set("Access-Control-Expose-Headers", "Retry-After")
}

// corsPreflight answers a browser's CORS preflight (OPTIONS with
// Access-Control-Request-Method) for a GET: a preflight carries no
// credentials, so it cannot know the token's origins; it allows the
// Authorization header for any origin, and the answer to the real request
// carries Access-Control-Allow-Origin only for the token's allowed origins,
// so other origins cannot read it.
func corsPreflight(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" || r.Header.Get("Origin") == "" {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		if r.Header.Get("Access-Control-Request-Method") == http.MethodGet {
			h.Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
			h.Set("Access-Control-Allow-Methods", "GET")
			h.Set("Access-Control-Allow-Headers", "Authorization")
			h.Set("Access-Control-Max-Age", "600")
		}
		h.Add("Vary", "Origin")
		w.WriteHeader(http.StatusNoContent)
	})
}

// getRedaction serves GET /v1/tenants/{tenant}/redaction.
func (s *Server) getRedaction(w http.ResponseWriter, r *http.Request) error {
	tenant, err := pathTenant(r)
	if err != nil {
		return err
	}
	if err := noParams(r); err != nil {
		return err
	}
	rules, version, err := s.svc.RedactionRules(r.Context(), tenant)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, &hashtrail.RedactionDocument{Version: version, Rules: *rules})
}

// putRedaction serves PUT /v1/tenants/{tenant}/redaction: the body names
// the version it replaces (0 when none is stored); 409 when stale.
func (s *Server) putRedaction(w http.ResponseWriter, r *http.Request) error {
	tenant, err := pathTenant(r)
	if err != nil {
		return err
	}
	if err := noParams(r); err != nil {
		return err
	}
	var doc hashtrail.RedactionDocument
	if err := decodeJSON(w, r, &doc); err != nil {
		return err
	}
	v, err := s.svc.SetRedactionRules(r.Context(), tenant, &doc.Rules, doc.Version)
	if err != nil {
		return err
	}
	doc.Version = v
	return writeJSON(w, http.StatusOK, &doc)
}

// rotateTenantKey serves POST /v1/tenants/{tenant}/keys/{key}/rotate.
func (s *Server) rotateTenantKey(w http.ResponseWriter, r *http.Request) error {
	tenant, err := pathTenant(r)
	if err != nil {
		return err
	}
	return s.rotateKey(w, r, tenant)
}

// rotateInstallationKey serves POST /v1/keys/{key}/rotate.
func (s *Server) rotateInstallationKey(w http.ResponseWriter, r *http.Request) error {
	return s.rotateKey(w, r, hashtrail.AllTenants)
}

// rotateKey answers the new key's secret, shown once; the body may name the
// old key's grace period ({"grace": "24h"}; an empty body takes the default).
func (s *Server) rotateKey(w http.ResponseWriter, r *http.Request, tenant string) error {
	if err := noParams(r); err != nil {
		return err
	}
	var req struct {
		Grace string `json:"grace"`
	}
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, &req); err != nil {
			return err
		}
	}
	var grace time.Duration
	if req.Grace != "" {
		d, err := time.ParseDuration(req.Grace)
		if err != nil || d <= 0 {
			return hashtrail.InvalidFields([]hashtrail.FieldError{{Field: "grace", Message: "must be a positive duration such as 24h"}})
		}
		grace = d
	}
	k, err := s.svc.RotateKey(r.Context(), tenant, r.PathValue("key"), grace)
	if err != nil {
		return err
	}
	w.Header().Set("Location", keyPath(tenant, k.ID))
	return writeJSON(w, http.StatusCreated, k)
}

// getReadAudit serves GET /v1/tenants/{tenant}/read-audit.
func (s *Server) getReadAudit(w http.ResponseWriter, r *http.Request) error {
	tenant, err := pathTenant(r)
	if err != nil {
		return err
	}
	if err := noParams(r); err != nil {
		return err
	}
	on, err := s.svc.ReadAudit(r.Context(), tenant)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, hashtrail.ReadAuditSetting{Enabled: on})
}

// putReadAudit serves PUT /v1/tenants/{tenant}/read-audit.
func (s *Server) putReadAudit(w http.ResponseWriter, r *http.Request) error {
	tenant, err := pathTenant(r)
	if err != nil {
		return err
	}
	if err := noParams(r); err != nil {
		return err
	}
	var req hashtrail.ReadAuditSetting
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := s.svc.SetReadAudit(r.Context(), tenant, req.Enabled); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, req)
}
