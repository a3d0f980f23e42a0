// Package httpapi serves Hashtrail's v1 HTTP API (DESIGN §3) over a
// hashtrail.LogService.
//
// It is an adapter and nothing more: it parses requests into the root
// package's types, calls the service, and writes JSON answers. Every route is
// registered in one function (Server.routes); handlers return errors, and one
// error writer maps hashtrail error codes to HTTP statuses and RFC 9457
// problem bodies. Authorization (roles, tenants) is the ledger's job: this
// package only authenticates the bearer secret and puts the principal into
// the request context with hashtrail.WithPrincipal.
//
// The middleware chain, outermost first:
//
//	request id → logging and metrics → recover → security headers → CORS preflight → mux → authentication (and a viewer token's CORS headers) → handler
package httpapi

import (
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	hashtrail "github.com/hashtrail/hashtrail"
	"github.com/hashtrail/hashtrail/api"
)

// Config configures a Server. Every field is optional.
type Config struct {
	// Logger receives one line per request and the details of internal
	// errors. It never receives request bodies, secrets or personal data.
	// Nil discards.
	Logger *slog.Logger
	// Now is the clock for event validation and key expiry; nil is time.Now.
	Now func() time.Time
	// TrustedProxies are the reverse proxies whose X-Forwarded-For header is
	// believed when working out a client's address.
	TrustedProxies []netip.Prefix
	// Metrics serves GET /metrics (usually promhttp over the caller's
	// registry, where the caller registers Server.Collectors). Nil answers 404.
	Metrics http.Handler
	// UI, if set, serves the web UI under /ui/ (package httpapi/ui), and /
	// redirects to it.
	UI http.Handler
}

// Server is the HTTP API. It implements http.Handler and is safe for
// concurrent use.
type Server struct {
	svc     hashtrail.LogService
	log     *slog.Logger
	now     func() time.Time
	trusted []netip.Prefix
	metrics http.Handler
	stats   *metrics
	ui      http.Handler

	mux      *http.ServeMux
	patterns []string // every registered pattern, in registration order
	handler  http.Handler
}

// New returns a Server that answers with svc.
func New(svc hashtrail.LogService, cfg Config) *Server {
	s := &Server{
		svc:     svc,
		log:     cfg.Logger,
		now:     cfg.Now,
		trusted: cfg.TrustedProxies,
		metrics: cfg.Metrics,
		ui:      cfg.UI,
		stats:   newMetrics(),
		mux:     http.NewServeMux(),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.routes()
	s.handler = s.withRequestInfo(s.observe(s.recoverPanics(s.securityHeaders(corsPreflight(s.mux)))))
	return s
}

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// routes registers every route of the API. It is the one place that lists
// them; the OpenAPI document must describe exactly these (see the tests).
func (s *Server) routes() {
	// Events.
	s.tenantRoute("POST "+api.PathTenantEvents, hashtrail.PermWrite, s.ingestTenant)
	s.installRoute("POST "+api.PathEvents, hashtrail.PermWrite, s.ingestInstallation)
	s.tenantRoute("GET "+api.PathTenantEvents, hashtrail.PermRead, s.listEvents)
	s.tenantRoute("GET "+api.PathTenantEvent, hashtrail.PermRead, s.getEvent)
	s.tenantRoute("GET "+api.PathEventReceipt, hashtrail.PermRead, s.eventReceipt)
	s.tenantRoute("GET "+api.PathTenantExport, hashtrail.PermReadLog, s.exportTenant)
	s.tenantRoute("GET "+api.PathTenantStats, hashtrail.PermRead, s.getStats)

	// Saved searches.
	s.tenantRoute("GET "+api.PathTenantSearches, hashtrail.PermRead, s.listSearches)
	s.tenantRoute("POST "+api.PathTenantSearches, hashtrail.PermManage, s.createSearch)
	s.tenantRoute("GET "+api.PathTenantSearch, hashtrail.PermRead, s.getSearch)
	s.tenantRoute("PUT "+api.PathTenantSearch, hashtrail.PermManage, s.putSearch)
	s.tenantRoute("DELETE "+api.PathTenantSearch, hashtrail.PermManage, s.deleteSearch)

	// The tenant's log: checkpoint, proofs and tiles.
	s.tenantRoute("GET "+api.PathLogCheckpoint, hashtrail.PermReadLog, s.logCheckpoint)
	s.tenantRoute("GET "+api.PathWitnessed, hashtrail.PermReadLog, s.witnessed)
	s.tenantRoute("GET "+api.PathInclusionProof, hashtrail.PermReadLog, s.inclusionProof)
	s.tenantRoute("GET "+api.PathConsistencyProof, hashtrail.PermReadLog, s.consistencyProof)
	s.tenantRoute("GET "+api.PathLogTile, hashtrail.PermReadLog, s.logTile)

	// Tenants.
	s.anyRoute("GET "+api.PathTenants, hashtrail.PermRead, s.listTenants)
	s.installRoute("POST "+api.PathTenants, hashtrail.PermManage, s.createTenant)
	s.tenantRoute("GET "+api.PathTenant, hashtrail.PermRead, s.getTenant)
	s.installRoute("PATCH "+api.PathTenant, hashtrail.PermManage, s.updateTenant)
	s.installRoute("DELETE "+api.PathTenant, hashtrail.PermManage, s.deleteTenant)

	// Keys: per tenant and installation-wide.
	s.tenantRoute("GET "+api.PathTenantKeys, hashtrail.PermManage, s.listTenantKeys)
	s.tenantRoute("POST "+api.PathTenantKeys, hashtrail.PermManage, s.createTenantKey)
	s.tenantRoute("DELETE "+api.PathTenantKey, hashtrail.PermManage, s.revokeTenantKey)
	s.installRoute("GET "+api.PathKeys, hashtrail.PermManage, s.listInstallationKeys)
	s.installRoute("POST "+api.PathKeys, hashtrail.PermManage, s.createInstallationKey)
	s.installRoute("DELETE "+api.PathKey, hashtrail.PermManage, s.revokeInstallationKey)
	s.tenantRoute("POST "+api.PathTenantKeyRotate, hashtrail.PermManage, s.rotateTenantKey)
	s.installRoute("POST "+api.PathKeyRotate, hashtrail.PermManage, s.rotateInstallationKey)

	// Viewer tokens.
	s.tenantRoute("POST "+api.PathTenantViewerTokens, hashtrail.PermManage, s.createViewerToken)
	s.tenantRoute("DELETE "+api.PathTenantViewerToken, hashtrail.PermManage, s.revokeViewerToken)

	// Redaction rules.
	s.tenantRoute("GET "+api.PathTenantRedaction, hashtrail.PermManage, s.getRedaction)
	s.tenantRoute("PUT "+api.PathTenantRedaction, hashtrail.PermManage, s.putRedaction)
	s.tenantRoute("GET "+api.PathTenantReadAudit, hashtrail.PermManage, s.getReadAudit)
	s.tenantRoute("PUT "+api.PathTenantReadAudit, hashtrail.PermManage, s.putReadAudit)

	// A tenant's action catalog.
	s.tenantRoute("GET "+api.PathTenantCatalog, hashtrail.PermManage, s.getTenantCatalog)
	s.tenantRoute("PUT "+api.PathTenantCatalog, hashtrail.PermManage, s.putTenantCatalog)
	s.tenantRoute("PUT "+api.PathTenantCatalogAction, hashtrail.PermManage, s.putCatalogAction)
	s.tenantRoute("DELETE "+api.PathTenantCatalogAction, hashtrail.PermManage, s.deleteCatalogAction)

	// Retention, legal holds and the installation's compliance floor.
	s.tenantRoute("GET "+api.PathTenantRetention, hashtrail.PermManage, s.getRetention)
	s.tenantRoute("PUT "+api.PathTenantRetention, hashtrail.PermManage, s.putRetention)
	s.tenantRoute("GET "+api.PathTenantHolds, hashtrail.PermManage, s.listHolds)
	s.tenantRoute("POST "+api.PathTenantHolds, hashtrail.PermManage, s.addHold)
	s.tenantRoute("DELETE "+api.PathTenantHold, hashtrail.PermManage, s.removeHold)
	s.anyRoute("GET "+api.PathRetentionFloor, hashtrail.PermManage, s.getRetentionFloor)
	s.installRoute("PUT "+api.PathRetentionFloor, hashtrail.PermManage, s.putRetentionFloor)

	// Data subjects: erasure and the access export (GDPR Art. 17 and 15).
	s.tenantRoute("POST "+api.PathTenantSubjectErase, hashtrail.PermManage, s.eraseSubject)
	s.installRoute("POST "+api.PathSubjectErase, hashtrail.PermManage, s.eraseSubjectEverywhere)
	s.tenantRoute("GET "+api.PathTenantSubjectEvents, hashtrail.PermManage, s.subjectEvents)

	// Sinks: per tenant and installation-wide.
	s.tenantRoute("GET "+api.PathTenantSinks, hashtrail.PermManage, s.listSinks)
	s.tenantRoute("POST "+api.PathTenantSinks, hashtrail.PermManage, s.createSink)
	s.tenantRoute("GET "+api.PathTenantSink, hashtrail.PermManage, s.getSink)
	s.tenantRoute("PATCH "+api.PathTenantSink, hashtrail.PermManage, s.updateSink)
	s.tenantRoute("DELETE "+api.PathTenantSink, hashtrail.PermManage, s.deleteSink)
	s.tenantRoute("POST "+api.PathTenantSinkPause, hashtrail.PermManage, s.pauseSink)
	s.tenantRoute("POST "+api.PathTenantSinkResume, hashtrail.PermManage, s.resumeSink)
	s.tenantRoute("POST "+api.PathTenantSinkReplay, hashtrail.PermManage, s.replaySink)
	s.installRoute("GET "+api.PathSinks, hashtrail.PermManage, s.listSinks)
	s.installRoute("POST "+api.PathSinks, hashtrail.PermManage, s.createSink)
	s.installRoute("GET "+api.PathSink, hashtrail.PermManage, s.getSink)
	s.installRoute("PATCH "+api.PathSink, hashtrail.PermManage, s.updateSink)
	s.installRoute("DELETE "+api.PathSink, hashtrail.PermManage, s.deleteSink)
	s.installRoute("POST "+api.PathSinkPause, hashtrail.PermManage, s.pauseSink)
	s.installRoute("POST "+api.PathSinkResume, hashtrail.PermManage, s.resumeSink)
	s.installRoute("POST "+api.PathSinkReplay, hashtrail.PermManage, s.replaySink)

	// Alert rules and digests of a tenant.
	s.tenantRoute("GET "+api.PathTenantAlerts, hashtrail.PermManage, s.listAlerts)
	s.tenantRoute("POST "+api.PathTenantAlerts, hashtrail.PermManage, s.createAlert)
	s.tenantRoute("GET "+api.PathTenantAlert, hashtrail.PermManage, s.getAlert)
	s.tenantRoute("PATCH "+api.PathTenantAlert, hashtrail.PermManage, s.updateAlert)
	s.tenantRoute("DELETE "+api.PathTenantAlert, hashtrail.PermManage, s.deleteAlert)
	s.tenantRoute("GET "+api.PathTenantAlertFirings, hashtrail.PermManage, s.alertFirings)
	s.tenantRoute("GET "+api.PathTenantDigest, hashtrail.PermManage, s.getDigest)
	s.tenantRoute("PUT "+api.PathTenantDigest, hashtrail.PermManage, s.putDigest)
	s.tenantRoute("POST "+api.PathTenantDigestSend, hashtrail.PermManage, s.sendDigest)

	// Open: no credentials needed.
	s.open("GET "+api.PathLogKey, s.logKey)
	s.open("GET "+api.PathLogKeys, s.logKeys)
	s.open("GET "+api.PathInstallationCheckpoint, s.installationCheckpoint)
	s.open("GET "+api.PathCatalog, s.catalog)
	s.open("GET "+api.PathOpenAPI, s.openAPI)
	s.open("GET "+api.PathHealthz, s.healthz)
	s.open("GET "+api.PathReadyz, s.readyz)
	s.open("GET "+api.PathMetrics, s.serveMetrics)

	// The web UI, outside the API's route table (its pages are not API).
	s.mountUI()

	// Everything else: 404, or 405 when another method would match.
	s.mux.Handle("/", s.adapt(routeUnmatched, false, nil, s.unmatched))
}

// handlerFunc is the shape of every handler: it writes a successful answer
// itself and returns any failure for the error writer.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// authed registers a route that requires a bearer credential and leaves
// every authorization decision to the engine (a listing filtered to what
// the credentials can see).
func (s *Server) authed(pattern string, h handlerFunc) { s.handle(pattern, true, nil, h) }

// tenantRoute registers a route on the resource of the tenant in its path.
// Before the handler reads any input, the engine decides whether the
// credentials may act with perm on that tenant, so a caller without access
// gets 401, 403 or 404 and never a validation detail. The route's pattern
// is its declaration of who may call it: the route walk checks it.
func (s *Server) tenantRoute(pattern string, perm hashtrail.Permission, h handlerFunc) {
	s.handle(pattern, true, func(r *http.Request) error {
		tenant, err := pathTenant(r)
		if err != nil {
			return err
		}
		return s.svc.Authorize(r.Context(), tenant, perm)
	}, h)
}

// installRoute registers an installation-level route: only an
// installation-wide key whose role allows perm gets past the first check.
func (s *Server) installRoute(pattern string, perm hashtrail.Permission, h handlerFunc) {
	s.handle(pattern, true, func(r *http.Request) error {
		return s.svc.Authorize(r.Context(), hashtrail.AllTenants, perm)
	}, h)
}

// anyRoute registers a route whose answer the engine filters to what the
// credentials can see (a listing of tenants): the first check is the role.
func (s *Server) anyRoute(pattern string, perm hashtrail.Permission, h handlerFunc) {
	s.handle(pattern, true, func(r *http.Request) error {
		return s.svc.Authorize(r.Context(), "", perm)
	}, h)
}

// open registers a route that anyone may call.
func (s *Server) open(pattern string, h handlerFunc) { s.handle(pattern, false, nil, h) }

func (s *Server) handle(pattern string, auth bool, allowed func(*http.Request) error, h handlerFunc) {
	_, route, _ := strings.Cut(pattern, " ")
	s.patterns = append(s.patterns, pattern)
	s.mux.Handle(pattern, s.adapt(route, auth, allowed, h))
}

// routeUnmatched is the route label of requests that match no route.
const routeUnmatched = "unmatched"

// adapt turns a handlerFunc into an http.Handler: it records the route
// pattern for logs and metrics, authenticates when auth is set, and sends a
// returned error to the error writer.
func (s *Server) adapt(route string, auth bool, allowed func(*http.Request) error, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := infoFrom(r.Context())
		info.route = route
		if auth {
			w.Header().Set("Cache-Control", "no-store")
			ar, err := s.authenticate(r)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			r = ar
			viewerCORS(w, r, hashtrail.PrincipalFrom(r.Context()))
		}
		if allowed != nil {
			if err := allowed(r); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}
