package client

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/api"
)

// Request context without plumbing: Middleware puts what it knows of an
// HTTP request into the request's context, code outside HTTP uses WithActor
// and WithEventContext, and Record fills an event's empty Actor and Context
// from the context it is given.

type ctxKey int

const (
	requestKey ctxKey = iota
	actorKey
	eventContextKey
)

// requestInfo is what Middleware keeps in a request's context.
type requestInfo struct {
	ec      hashtrail.Context
	actor   atomic.Pointer[hashtrail.Actor]
	actorFn func(context.Context) *hashtrail.Actor
}

// WithActor returns a context whose events are done by a (when they name
// no actor). It takes precedence over the Middleware's actor.
func WithActor(ctx context.Context, a *hashtrail.Actor) context.Context {
	return context.WithValue(ctx, actorKey, a)
}

// WithEventContext returns a context whose events come from ec (when they
// carry no Context; an event's Context that leaves fields empty gets them
// from ec). It takes precedence over the Middleware's. ec must not change
// afterwards: events share it.
func WithEventContext(ctx context.Context, ec *hashtrail.Context) context.Context {
	return context.WithValue(ctx, eventContextKey, ec)
}

// SetActor sets the actor of the request whose context ctx is (or derives
// from), for handlers that learn who the user is after Middleware ran, such
// as a login handler. It reports false when ctx has no Middleware request.
func SetActor(ctx context.Context, a *hashtrail.Actor) bool {
	ri, _ := ctx.Value(requestKey).(*requestInfo)
	if ri == nil {
		return false
	}
	ri.actor.Store(a)
	return true
}

// ActorFrom returns the actor that Record gives an event without one:
// WithActor's, else the one set with SetActor, else the Middleware's Actor
// function's; nil if none.
func ActorFrom(ctx context.Context) *hashtrail.Actor {
	if a, _ := ctx.Value(actorKey).(*hashtrail.Actor); a != nil {
		return a
	}
	ri, _ := ctx.Value(requestKey).(*requestInfo)
	if ri == nil {
		return nil
	}
	if a := ri.actor.Load(); a != nil {
		return a
	}
	if ri.actorFn != nil {
		return ri.actorFn(ctx)
	}
	return nil
}

// EventContextFrom returns the event context that Record gives an event
// without one: WithEventContext's, else the Middleware's; nil if none. The
// result is shared and must not be changed.
func EventContextFrom(ctx context.Context) *hashtrail.Context {
	if ec, _ := ctx.Value(eventContextKey).(*hashtrail.Context); ec != nil {
		return ec
	}
	if ri, _ := ctx.Value(requestKey).(*requestInfo); ri != nil {
		return &ri.ec
	}
	return nil
}

// RequestID returns the request id Middleware gave the request, or "".
func RequestID(ctx context.Context) string {
	if ec := EventContextFrom(ctx); ec != nil {
		return ec.RequestID
	}
	return ""
}

// fillFromContext gives ev the actor and context of ctx where it has none.
func fillFromContext(ctx context.Context, ev *hashtrail.Event) {
	if ctx == nil {
		return
	}
	if ev.Actor == nil {
		ev.Actor = ActorFrom(ctx)
	}
	ec := EventContextFrom(ctx)
	switch {
	case ec == nil:
	case ev.Context == nil:
		ev.Context = ec
	default:
		mergeContext(ev.Context, ec)
	}
}

// mergeContext fills the empty fields of dst from src.
func mergeContext(dst, src *hashtrail.Context) {
	set := func(d *string, s string) {
		if *d == "" {
			*d = s
		}
	}
	set(&dst.IP, src.IP)
	set(&dst.UserAgent, src.UserAgent)
	set(&dst.SessionID, src.SessionID)
	set(&dst.RequestID, src.RequestID)
	set(&dst.TraceID, src.TraceID)
	set(&dst.Method, src.Method)
	set(&dst.Path, src.Path)
	set(&dst.Source, src.Source)
	if dst.Location == nil {
		dst.Location = src.Location
	}
}

// MiddlewareConfig configures Middleware.
type MiddlewareConfig struct {
	// TrustedProxies are the reverse proxies (and load balancers) in front of
	// the app. Forwarded and X-Forwarded-For are believed only when the
	// connection comes from one of them, and only as far back as they
	// reach: the client is the first address, walking from the right, that
	// is not a trusted proxy. Empty: the headers are ignored and the client
	// is the connection's peer.
	TrustedProxies []netip.Prefix
	// Actor returns who acts, for events recorded without an actor. It is
	// called by Record with Record's context (so it sees what an
	// authentication middleware further down put there), not by the
	// middleware. Nil: no actor unless set with SetActor or WithActor.
	Actor func(ctx context.Context) *hashtrail.Actor
	// Source is the event context's source, such as "web" or "api".
	Source string
	// RequestIDHeader carries the request id (default X-Request-Id). A
	// request without one (or with one longer than 128 bytes or not
	// printable ASCII) gets a new ULID. The id is set on the response too.
	RequestIDHeader string
	// SessionID returns the session's identifier (never its secret token),
	// or "". Nil: none.
	SessionID func(r *http.Request) string
}

// Middleware returns net/http middleware that puts the request's client IP,
// user agent, request id, method, path, source and trace id (from a W3C
// traceparent header), and the Actor function, into the request context, so that Record(r.Context(), ev) fills ev.Actor
// and ev.Context by itself.
func Middleware(cfg MiddlewareConfig) func(http.Handler) http.Handler {
	header := cfg.RequestIDHeader
	if header == "" {
		header = api.HeaderRequestID
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rid := r.Header.Get(header)
			if !validRequestID(rid) {
				rid = hashtrail.NewEventID()
			}
			w.Header().Set(header, rid)
			ri := &requestInfo{actorFn: cfg.Actor}
			ri.ec = hashtrail.Context{
				IP:        ClientIP(r, cfg.TrustedProxies),
				UserAgent: truncate(r.UserAgent(), 4096),
				RequestID: rid,
				Method:    r.Method,
				Path:      truncate(r.URL.Path, 4096),
				Source:    cfg.Source,
			}
			if cfg.SessionID != nil {
				ri.ec.SessionID = cfg.SessionID(r)
			}
			ri.ec.TraceID = traceID(r.Header.Get("Traceparent"))
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestKey, ri)))
		})
	}
}

// traceID returns the trace id of a W3C Trace Context traceparent header
// ("00-<32 hex>-<16 hex>-<2 hex>"), or "".
func traceID(tp string) string {
	parts := strings.Split(strings.TrimSpace(tp), "-")
	if len(parts) < 4 || len(parts[0]) != 2 || len(parts[1]) != 32 || parts[1] == strings.Repeat("0", 32) {
		return ""
	}
	for _, ch := range parts[1] {
		if !('0' <= ch && ch <= '9' || 'a' <= ch && ch <= 'f') {
			return ""
		}
	}
	return parts[1]
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && s[len(s)-1]&0xC0 == 0x80 { // do not cut a UTF-8 sequence
		s = s[:len(s)-1]
	}
	if len(s) > 0 && s[len(s)-1] >= 0xC0 {
		s = s[:len(s)-1]
	}
	return s
}

func validRequestID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// ClientIP returns the address of the client that sent r: the connection's
// peer, unless the peer is one of the trusted proxies, in which case the
// Forwarded header (RFC 7239), or else X-Forwarded-For, is walked from the
// right, skipping trusted proxies, and the first other address is the
// client. An entry that is not an address (such as "unknown") stops the walk
// at the last trusted hop. It returns "" if the peer address is unknown.
func ClientIP(r *http.Request, trusted []netip.Prefix) string {
	peer, ok := parseHost(r.RemoteAddr)
	if !ok {
		return ""
	}
	if !isTrusted(peer, trusted) {
		return peer.String()
	}
	var hops []string
	if fwd := r.Header.Values("Forwarded"); len(fwd) > 0 {
		hops = forwardedFor(fwd)
	} else {
		for _, v := range r.Header.Values("X-Forwarded-For") {
			for _, h := range strings.Split(v, ",") {
				hops = append(hops, strings.TrimSpace(h))
			}
		}
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHost(hops[i])
		if !ok {
			break
		}
		client = a
		if !isTrusted(a, trusted) {
			break
		}
	}
	return client.String()
}

// forwardedFor returns the for= values of Forwarded headers, in order.
func forwardedFor(values []string) []string {
	var out []string
	for _, v := range values {
		for _, elem := range strings.Split(v, ",") {
			found := ""
			for _, pair := range strings.Split(elem, ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(pair), "=")
				if ok && strings.EqualFold(k, "for") {
					found = strings.Trim(val, `"`)
				}
			}
			out = append(out, found)
		}
	}
	return out
}

// parseHost reads "ip", "ip:port", "[ipv6]" or "[ipv6]:port".
func parseHost(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if h, _, err := net.SplitHostPort(s); err == nil {
		s = h
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	if a, err := netip.ParseAddr(s); err == nil {
		return a.WithZone("").Unmap(), true
	}
	return netip.Addr{}, false
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
