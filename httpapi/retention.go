package httpapi

import (
	"net/http"
	"strconv"

	hashtrail "github.com/hashtrail/hashtrail"
)

// getRetention serves GET /v1/tenants/{tenant}/retention.
func (s *Server) getRetention(w http.ResponseWriter, r *http.Request) error {
	tenant, err := pathTenant(r)
	if err != nil {
		return err
	}
	if err := noParams(r); err != nil {
		return err
	}
	p, err := s.svc.Retention(r.Context(), tenant)
	if err != nil {
		return err
	}
	return writeVersioned(w, http.StatusOK, p.Version, p)
}

// putRetention serves PUT /v1/tenants/{tenant}/retention: the whole
// policy, replacing the version named by If-Match or the body's version.
func (s *Server) putRetention(w http.ResponseWriter, r *http.Request) error {
	tenant, err := pathTenant(r)
	if err != nil {
		return err
	}
	if err := noParams(r); err != nil {
		return err
	}
	var p hashtrail.RetentionPolicy
	if err := decodeJSON(w, r, &p); err != nil {
		return err
	}
	if v, ok, err := ifMatch(r); err != nil {
		return err
	} else if ok {
		p.Version = v
	}
	out, err := s.svc.PutRetention(r.Context(), tenant, &p)
	if err != nil {
		return err
	}
	return writeVersioned(w, http.StatusOK, out.Version, out)
}

// listHolds serves GET /v1/tenants/{tenant}/holds.
func (s *Server) listHolds(w http.ResponseWriter, r *http.Request) error {
	tenant, err := pathTenant(r)
	if err != nil {
		return err
	}
	if err := noParams(r); err != nil {
		return err
	}
	h, err := s.svc.Holds(r.Context(), tenant)
	if err != nil {
		return err
	}
	return writeVersioned(w, http.StatusOK, h.Version, h)
}

// addHold serves POST /v1/tenants/{tenant}/holds: {"filter", "reason"}.
func (s *Server) addHold(w http.ResponseWriter, r *http.Request) error {
	tenant, err := pathTenant(r)
	if err != nil {
		return err
	}
	if err := noParams(r); err != nil {
		return err
	}
	var req struct {
		Filter string `json:"filter"`
		Reason string `json:"reason"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	h, err := s.svc.AddHold(r.Context(), tenant, &hashtrail.LegalHold{Filter: req.Filter, Reason: req.Reason})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, h)
}

// removeHold serves DELETE /v1/tenants/{tenant}/holds/{hold}.
func (s *Server) removeHold(w http.ResponseWriter, r *http.Request) error {
	tenant, err := pathTenant(r)
	if err != nil {
		return err
	}
	if err := noParams(r); err != nil {
		return err
	}
	if err := s.svc.RemoveHold(r.Context(), tenant, r.PathValue("hold")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// getRetentionFloor serves GET /v1/retention/floor.
func (s *Server) getRetentionFloor(w http.ResponseWriter, r *http.Request) error {
	if err := noParams(r); err != nil {
		return err
	}
	f, err := s.svc.RetentionFloor(r.Context())
	if err != nil {
		return err
	}
	return writeVersioned(w, http.StatusOK, f.Version, f)
}

// putRetentionFloor serves PUT /v1/retention/floor (installation-wide
// admin keys).
func (s *Server) putRetentionFloor(w http.ResponseWriter, r *http.Request) error {
	if err := noParams(r); err != nil {
		return err
	}
	var f hashtrail.RetentionFloor
	if err := decodeJSON(w, r, &f); err != nil {
		return err
	}
	if v, ok, err := ifMatch(r); err != nil {
		return err
	} else if ok {
		f.Version = v
	}
	out, err := s.svc.PutRetentionFloor(r.Context(), &f)
	if err != nil {
		return err
	}
	return writeVersioned(w, http.StatusOK, out.Version, out)
}

// writeVersioned writes v with its document version as ETag.
func writeVersioned(w http.ResponseWriter, status int, version int64, v any) error {
	w.Header().Set("ETag", strconv.Quote(strconv.FormatInt(version, 10)))
	return writeJSON(w, status, v)
}
