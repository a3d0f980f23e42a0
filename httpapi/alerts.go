package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/api"
)

// Alert rules and digests (docs/alerts.md): admin routes of one tenant.

// alertService returns the service's AlertService.
func (s *Server) alertService() (hashtrail.AlertService, error) {
	as, ok := s.svc.(hashtrail.AlertService)
	if !ok {
		return nil, hashtrail.Errorf(hashtrail.EUNAVAILABLE, "this server has no alerts")
	}
	return as, nil
}

// alertRoute returns the path's tenant and the alert service, rejecting
// query parameters other than allowed.
func (s *Server) alertRoute(r *http.Request, allowed ...string) (string, *params, hashtrail.AlertService, error) {
	tenant, err := pathTenant(r)
	if err != nil {
		return "", nil, nil, err
	}
	p, err := queryParams(r, allowed...)
	if err != nil {
		return "", nil, nil, err
	}
	as, err := s.alertService()
	return tenant, p, as, err
}

// listAlerts serves GET /v1/tenants/{tenant}/alerts.
func (s *Server) listAlerts(w http.ResponseWriter, r *http.Request) error {
	tenant, p, as, err := s.alertRoute(r)
	if err != nil {
		return err
	}
	if err := p.err(); err != nil {
		return err
	}
	list, err := as.Alerts(r.Context(), tenant)
	if err != nil {
		return err
	}
	if list == nil {
		list = []*hashtrail.AlertRule{}
	}
	return writeJSON(w, http.StatusOK, api.AlertList{Alerts: list})
}

// createAlert serves POST /v1/tenants/{tenant}/alerts.
func (s *Server) createAlert(w http.ResponseWriter, r *http.Request) error {
	tenant, p, as, err := s.alertRoute(r)
	if err != nil {
		return err
	}
	if err := p.err(); err != nil {
		return err
	}
	var req api.AlertRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	rule, err := as.CreateAlert(r.Context(), &hashtrail.AlertRule{
		Tenant: tenant, Name: req.Name, Filter: req.Filter, Threshold: req.Threshold, Novelty: req.Novelty,
		Cooldown: req.Cooldown, Webhook: req.Webhook, Email: req.Email, Disabled: req.Disabled,
	})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/tenants/"+url.PathEscape(tenant)+"/alerts/"+url.PathEscape(rule.ID))
	return writeJSON(w, http.StatusCreated, rule)
}

// getAlert serves GET /v1/tenants/{tenant}/alerts/{alert}.
func (s *Server) getAlert(w http.ResponseWriter, r *http.Request) error {
	tenant, p, as, err := s.alertRoute(r)
	if err != nil {
		return err
	}
	if err := p.err(); err != nil {
		return err
	}
	rule, err := as.Alert(r.Context(), tenant, r.PathValue("alert"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rule)
}

// updateAlert serves PATCH /v1/tenants/{tenant}/alerts/{alert}.
func (s *Server) updateAlert(w http.ResponseWriter, r *http.Request) error {
	tenant, p, as, err := s.alertRoute(r)
	if err != nil {
		return err
	}
	if err := p.err(); err != nil {
		return err
	}
	var req api.AlertPatch
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	patch := &hashtrail.AlertPatch{Name: req.Name, Filter: req.Filter, Cooldown: req.Cooldown, Email: req.Email, Disabled: req.Disabled}
	var errs []hashtrail.FieldError
	patch.Threshold, errs = nullable[hashtrail.AlertThreshold]("threshold", req.Threshold, errs)
	patch.Novelty, errs = nullable[hashtrail.AlertNovelty]("novelty", req.Novelty, errs)
	patch.Webhook, errs = nullable[hashtrail.AlertWebhook]("webhook", req.Webhook, errs)
	if len(errs) > 0 {
		return hashtrail.InvalidFields(errs)
	}
	rule, err := as.UpdateAlert(r.Context(), tenant, r.PathValue("alert"), patch)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rule)
}

// nullable decodes a member that may be absent (nil: unchanged), null (a
// pointer to nil: removed) or an object.
func nullable[T any](field string, raw json.RawMessage, errs []hashtrail.FieldError) (**T, []hashtrail.FieldError) {
	if raw == nil {
		return nil, errs
	}
	var v *T
	if !bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&v); err != nil {
			f, msg := jsonErrorField(err)
			if f == "" {
				f = field
			} else {
				f = field + "." + f
			}
			return nil, append(errs, hashtrail.FieldError{Field: f, Message: msg})
		}
	}
	return &v, errs
}

// deleteAlert serves DELETE /v1/tenants/{tenant}/alerts/{alert}.
func (s *Server) deleteAlert(w http.ResponseWriter, r *http.Request) error {
	tenant, p, as, err := s.alertRoute(r)
	if err != nil {
		return err
	}
	if err := p.err(); err != nil {
		return err
	}
	if err := as.DeleteAlert(r.Context(), tenant, r.PathValue("alert")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// alertFirings serves GET /v1/tenants/{tenant}/alerts/{alert}/firings.
func (s *Server) alertFirings(w http.ResponseWriter, r *http.Request) error {
	tenant, p, as, err := s.alertRoute(r, "limit")
	if err != nil {
		return err
	}
	limit := 100
	if v := p.one("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > hashtrail.MaxLimit {
			p.fail("limit", "must be a number from 1 to "+strconv.Itoa(hashtrail.MaxLimit))
		}
		limit = n
	}
	if err := p.err(); err != nil {
		return err
	}
	if _, err := as.Alert(r.Context(), tenant, r.PathValue("alert")); err != nil {
		return err
	}
	fs, err := as.AlertFirings(r.Context(), tenant, r.PathValue("alert"), limit)
	if err != nil {
		return err
	}
	if fs == nil {
		fs = []*hashtrail.AlertFiring{}
	}
	return writeJSON(w, http.StatusOK, api.FiringList{Firings: fs})
}

// getDigest serves GET /v1/tenants/{tenant}/digest.
func (s *Server) getDigest(w http.ResponseWriter, r *http.Request) error {
	tenant, p, as, err := s.alertRoute(r)
	if err != nil {
		return err
	}
	if err := p.err(); err != nil {
		return err
	}
	d, err := as.Digest(r.Context(), tenant)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

// putDigest serves PUT /v1/tenants/{tenant}/digest.
func (s *Server) putDigest(w http.ResponseWriter, r *http.Request) error {
	tenant, p, as, err := s.alertRoute(r)
	if err != nil {
		return err
	}
	if err := p.err(); err != nil {
		return err
	}
	var req api.DigestRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	d, err := as.SetDigest(r.Context(), tenant, &hashtrail.DigestSettings{Schedule: req.Schedule, To: req.To, Hour: req.Hour})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

// sendDigest serves POST /v1/tenants/{tenant}/digest/send: the digest of
// the period ending now, at once (for testing the settings).
func (s *Server) sendDigest(w http.ResponseWriter, r *http.Request) error {
	tenant, p, as, err := s.alertRoute(r)
	if err != nil {
		return err
	}
	if err := p.err(); err != nil {
		return err
	}
	rep, err := as.SendDigest(r.Context(), tenant)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rep)
}
