package httpapi

import (
	"net/http"
	"net/netip"
)

// Patterns returns every pattern registered in s's mux, for the OpenAPI
// coverage test.
func Patterns(s *Server) []string { return append([]string(nil), s.patterns...) }

// ClientIP exposes clientIP to the tests.
func ClientIP(r *http.Request, trusted []netip.Prefix) netip.Addr { return clientIP(r, trusted) }
