package httpapi

import (
	_ "embed"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/api"
)

// openAPIDocument is the OpenAPI 3.1 description of every route.
//
//go:embed openapi.json
var openAPIDocument []byte

// OpenAPI returns the OpenAPI 3.1 document served at /v1/openapi.json.
func OpenAPI() []byte { return append([]byte(nil), openAPIDocument...) }

// openAPI serves GET /v1/openapi.json.
func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) error {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(openAPIDocument)))
	w.Write(openAPIDocument)
	return nil
}

// healthz serves GET /healthz: the process is alive.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, api.Status{Status: "ok"})
}

// readyz serves GET /readyz: the service can take requests.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "no-store")
	if err := s.svc.Ready(r.Context()); err != nil {
		s.log.LogAttrs(r.Context(), slog.LevelWarn, "not ready",
			slog.String("request_id", infoFrom(r.Context()).id), slog.Any("err", err))
		return hashtrail.Errorf(hashtrail.EUNAVAILABLE, "the service is not ready")
	}
	return writeJSON(w, http.StatusOK, api.Status{Status: "ready"})
}

// serveMetrics serves GET /metrics with Config.Metrics.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) error {
	if s.metrics == nil {
		return hashtrail.Errorf(hashtrail.ENOTFOUND, "metrics are not enabled on this server")
	}
	s.metrics.ServeHTTP(w, r)
	return nil
}

// probeMethods are the methods tried to tell a 405 from a 404.
var probeMethods = []string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete,
}

// unmatched answers requests no route matches: 405 with Allow when the path
// exists with other methods, else 404.
func (s *Server) unmatched(w http.ResponseWriter, r *http.Request) error {
	var allow []string
	for _, m := range probeMethods {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "" && pattern != "/" {
			allow = append(allow, m)
		}
	}
	if len(allow) == 0 {
		return hashtrail.Errorf(hashtrail.ENOTFOUND, "no such route; see /v1/openapi.json")
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	return &httpError{
		status: http.StatusMethodNotAllowed,
		code:   api.CodeMethodNotAllowed,
		msg:    "this route takes " + strings.Join(allow, ", "),
	}
}
