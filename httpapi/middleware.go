package httpapi

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strings"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/api"
)

// requestInfo is what the middleware learns about a request as it passes
// through: set by the outermost middleware, filled in by the inner ones
// (route, key), and read by logging and metrics on the way out. A request is
// served on one goroutine, so it needs no lock.
type requestInfo struct {
	id       string     // X-Request-Id
	route    string     // the matched pattern without its method
	keyID    string     // the authenticated key, never its secret
	clientIP netip.Addr // the client's address, past trusted proxies; never logged
}

type infoKey struct{}

// infoFrom returns the request's info; a request that did not pass through
// withRequestInfo gets a fresh, unshared one.
func infoFrom(ctx context.Context) *requestInfo {
	if info, ok := ctx.Value(infoKey{}).(*requestInfo); ok {
		return info
	}
	return &requestInfo{}
}

// withRequestInfo assigns the request id (keeping a well-formed incoming
// X-Request-Id), answers it in X-Request-Id, and works out the client address.
func (s *Server) withRequestInfo(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := &requestInfo{
			id:       r.Header.Get(api.HeaderRequestID),
			route:    routeUnmatched,
			clientIP: clientIP(r, s.trusted),
		}
		if !validRequestID(info.id) {
			info.id = strings.ToLower(rand.Text())
		}
		w.Header().Set(api.HeaderRequestID, info.id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), infoKey{}, info)))
	})
}

// validRequestID accepts 1 to 128 characters of [A-Za-z0-9._:-], so that an
// id from a client or proxy is safe to log and to echo.
func validRequestID(id string) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for _, c := range []byte(id) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '_' || c == ':' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

// clientIP returns the address of the client: the peer, or, when the peer is
// a trusted proxy, the right-most X-Forwarded-For address that is not one.
func clientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	addr := ap.Addr().Unmap()
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	if !isTrusted(addr) {
		return addr
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		addr = a.Unmap()
		if !isTrusted(addr) {
			break
		}
	}
	return addr
}

// observe logs one line per request and records its latency. It logs the
// method, route pattern (never the path, which may name people), status,
// duration, request id and key id; never headers, query values or bodies.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		d := time.Since(start)
		status := sw.status
		if status == 0 {
			status = http.StatusOK
		}
		info := infoFrom(r.Context())
		method := normalMethod(r.Method)
		s.stats.observeRequest(info.route, method, status, d)
		level := slog.LevelInfo
		switch info.route {
		case api.PathHealthz, api.PathReadyz, api.PathMetrics:
			if status < 400 {
				level = slog.LevelDebug // probes and scrapes would drown the log
			}
		}
		s.log.LogAttrs(r.Context(), level, "http request",
			slog.String("method", method),
			slog.String("route", info.route),
			slog.Int("status", status),
			slog.Duration("duration", d),
			slog.Int64("bytes", sw.size),
			slog.String("request_id", info.id),
			slog.String("key_id", info.keyID),
		)
	})
}

// normalMethod bounds the method label: the methods the API uses, or "other".
func normalMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

// recoverPanics turns a panic in a handler into a logged 500 problem.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v) // the server's own way to abort a response
			}
			info := infoFrom(r.Context())
			s.log.LogAttrs(r.Context(), slog.LevelError, "panic serving request",
				slog.String("request_id", info.id),
				slog.String("route", info.route),
				slog.String("panic", fmt.Sprint(v)),
				slog.String("stack", string(debug.Stack())),
			)
			s.writeProblem(w, r, http.StatusInternalServerError, hashtrail.EINTERNAL, internalMessage, nil)
		}()
		next.ServeHTTP(w, r)
	})
}

// securityHeaders sets the headers every answer carries.
func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

// authenticate reads "Authorization: Bearer <secret>", asks the service who
// that is, and returns the request with the principal in its context.
func (s *Server) authenticate(r *http.Request) (*http.Request, error) {
	values := r.Header.Values("Authorization")
	if len(values) == 0 {
		return nil, hashtrail.Errorf(hashtrail.EUNAUTHORIZED, "this request needs credentials: send \"Authorization: Bearer <key>\"")
	}
	scheme, secret, ok := strings.Cut(values[0], " ")
	secret = strings.TrimSpace(secret)
	if len(values) > 1 || !ok || !strings.EqualFold(scheme, "Bearer") || secret == "" {
		return nil, hashtrail.Errorf(hashtrail.EUNAUTHORIZED, "the Authorization header must be one \"Bearer <key>\"")
	}
	p, err := s.svc.Authenticate(r.Context(), secret)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, fmt.Errorf("httpapi: Authenticate returned no principal and no error")
	}
	infoFrom(r.Context()).keyID = p.KeyID
	return r.WithContext(hashtrail.WithPrincipal(r.Context(), p)), nil
}

// statusWriter remembers the status and size of an answer.
type statusWriter struct {
	http.ResponseWriter
	status int
	size   int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.size += int64(n)
	return n, err
}

// Flush sends buffered data to the client, if the underlying writer can.
func (w *statusWriter) Flush() {
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// wroteHeader reports whether an answer has been started on w.
func wroteHeader(w http.ResponseWriter) bool {
	sw, ok := w.(*statusWriter)
	return ok && sw.status != 0
}
