package httpapi

import (
	"net/http"
	"net/url"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/api"
)

// sinkScope returns the tenant of a sink route: the path's, or
// AllTenants for /v1/sinks.
func sinkScope(r *http.Request) (string, error) {
	if r.PathValue("tenant") == "" {
		return hashtrail.AllTenants, nil
	}
	return pathTenant(r)
}

// sinkPath is the URL path of a sink.
func sinkPath(tenant, id string) string {
	if tenant == hashtrail.AllTenants {
		return "/v1/sinks/" + url.PathEscape(id)
	}
	return "/v1/tenants/" + url.PathEscape(tenant) + "/sinks/" + url.PathEscape(id)
}

// listSinks serves GET /v1/tenants/{tenant}/sinks and GET /v1/sinks.
func (s *Server) listSinks(w http.ResponseWriter, r *http.Request) error {
	tenant, err := sinkScope(r)
	if err != nil {
		return err
	}
	if err := noParams(r); err != nil {
		return err
	}
	list, err := s.svc.Sinks(r.Context(), tenant)
	if err != nil {
		return err
	}
	if list == nil {
		list = []*hashtrail.SinkInfo{}
	}
	return writeJSON(w, http.StatusOK, api.SinkList{Sinks: list})
}

// createSink serves POST /v1/tenants/{tenant}/sinks and POST /v1/sinks.
func (s *Server) createSink(w http.ResponseWriter, r *http.Request) error {
	tenant, err := sinkScope(r)
	if err != nil {
		return err
	}
	if err := noParams(r); err != nil {
		return err
	}
	var req api.SinkRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	var errs []hashtrail.FieldError
	if req.Type == "" {
		errs = append(errs, hashtrail.FieldError{Field: "type", Message: "is required: the destination, such as file or webhook"})
	}
	if errs = checkName("name", req.Name, errs); len(errs) > 0 {
		return hashtrail.InvalidFields(errs)
	}
	cfg := &hashtrail.SinkConfig{Tenant: tenant, Name: req.Name, Type: req.Type, Filter: req.Filter,
		Settings: req.Settings, BatchSize: req.BatchSize, MaxFailures: req.MaxFailures, State: hashtrail.SinkActive}
	if req.Paused {
		cfg.State = hashtrail.SinkPaused
	}
	info, err := s.svc.CreateSink(r.Context(), cfg)
	if err != nil {
		return err
	}
	w.Header().Set("Location", sinkPath(tenant, info.ID))
	return writeJSON(w, http.StatusCreated, info)
}

// getSink serves GET .../sinks/{sink}.
func (s *Server) getSink(w http.ResponseWriter, r *http.Request) error {
	tenant, err := sinkScope(r)
	if err != nil {
		return err
	}
	if err := noParams(r); err != nil {
		return err
	}
	info, err := s.svc.Sink(r.Context(), tenant, r.PathValue("sink"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, info)
}

// updateSink serves PATCH .../sinks/{sink}.
func (s *Server) updateSink(w http.ResponseWriter, r *http.Request) error {
	tenant, err := sinkScope(r)
	if err != nil {
		return err
	}
	if err := noParams(r); err != nil {
		return err
	}
	var p hashtrail.SinkPatch
	if err := decodeJSON(w, r, &p); err != nil {
		return err
	}
	if p.Name != nil {
		if errs := checkName("name", *p.Name, nil); len(errs) > 0 {
			return hashtrail.InvalidFields(errs)
		}
	}
	info, err := s.svc.UpdateSink(r.Context(), tenant, r.PathValue("sink"), &p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, info)
}

// deleteSink serves DELETE .../sinks/{sink}.
func (s *Server) deleteSink(w http.ResponseWriter, r *http.Request) error {
	tenant, err := sinkScope(r)
	if err != nil {
		return err
	}
	if err := noParams(r); err != nil {
		return err
	}
	if err := s.svc.DeleteSink(r.Context(), tenant, r.PathValue("sink")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// pauseSink serves POST .../sinks/{sink}/pause; the body is optional.
func (s *Server) pauseSink(w http.ResponseWriter, r *http.Request) error {
	tenant, err := sinkScope(r)
	if err != nil {
		return err
	}
	if err := noParams(r); err != nil {
		return err
	}
	var req api.SinkPause
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, &req); err != nil {
			return err
		}
	}
	if errs := checkName("reason", req.Reason, nil); len(errs) > 0 {
		return hashtrail.InvalidFields(errs)
	}
	info, err := s.svc.PauseSink(r.Context(), tenant, r.PathValue("sink"), req.Reason)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, info)
}

// resumeSink serves POST .../sinks/{sink}/resume.
func (s *Server) resumeSink(w http.ResponseWriter, r *http.Request) error {
	tenant, err := sinkScope(r)
	if err != nil {
		return err
	}
	if err := noParams(r); err != nil {
		return err
	}
	info, err := s.svc.ResumeSink(r.Context(), tenant, r.PathValue("sink"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, info)
}

// replaySink serves POST .../sinks/{sink}/replay.
func (s *Server) replaySink(w http.ResponseWriter, r *http.Request) error {
	tenant, err := sinkScope(r)
	if err != nil {
		return err
	}
	if err := noParams(r); err != nil {
		return err
	}
	var req api.SinkReplay
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	info, err := s.svc.ReplaySink(r.Context(), tenant, r.PathValue("sink"), &req)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, info)
}
