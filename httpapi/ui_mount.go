package httpapi

import "net/http"

// routeUI is the route label of every web UI request in logs and metrics:
// the UI's paths name tenants, people and objects, which must not be logged.
const routeUI = "/ui/"

// mountUI serves the web UI (Config.UI) under /ui/ and redirects the root
// to it. The UI's pages pass through the same middleware as the API (request
// id, logging, recovery, security headers); the UI authenticates with its
// own session cookie and calls the service as that session's principal.
func (s *Server) mountUI() {
	if s.ui == nil {
		return
	}
	s.mux.Handle(routeUI, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		infoFrom(r.Context()).route = routeUI
		s.ui.ServeHTTP(w, r)
	}))
	s.mux.Handle("GET /{$}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		infoFrom(r.Context()).route = "/"
		http.Redirect(w, r, routeUI, http.StatusFound)
	}))
}
