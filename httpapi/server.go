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
	s.authed("POST "+api.PathTenantEvents, s.ingestTenant)
	s.authed("POST "+api.PathEvents, s.ingestInstallation)
	s.authed("GET "+api.PathTenantEvents, s.listEvents)
	s.authed("GET "+api.PathTenantEvent, s.getEvent)
	s.authed("GET "+api.PathEventReceipt, s.eventReceipt)
	s.authed("GET "+api.PathTenantExport, s.exportTenant)
	s.authed("GET "+api.PathTenantStats, s.getStats)

	// Saved searches.
	s.authed("GET "+api.PathTenantSearches, s.listSearches)
	s.authed("POST "+api.PathTenantSearches, s.createSearch)
	s.authed("GET "+api.PathTenantSearch, s.getSearch)
	s.authed("PUT "+api.PathTenantSearch, s.putSearch)
	s.authed("DELETE "+api.PathTenantSearch, s.deleteSearch)

	// The tenant's log: checkpoint, proofs and tiles.
	s.authed("GET "+api.PathLogCheckpoint, s.logCheckpoint)
	s.authed("GET "+api.PathWitnessed, s.witnessed)
	s.authed("GET "+api.PathInclusionProof, s.inclusionProof)
	s.authed("GET "+api.PathConsistencyProof, s.consistencyProof)
	s.authed("GET "+api.PathLogTile, s.logTile)

	// Tenants.
	s.authed("GET "+api.PathTenants, s.listTenants)
	s.authed("POST "+api.PathTenants, s.createTenant)
	s.authed("GET "+api.PathTenant, s.getTenant)
	s.authed("PATCH "+api.PathTenant, s.updateTenant)
	s.authed("DELETE "+api.PathTenant, s.deleteTenant)

	// Keys: per tenant and installation-wide.
	s.authed("GET "+api.PathTenantKeys, s.listTenantKeys)
	s.authed("POST "+api.PathTenantKeys, s.createTenantKey)
	s.authed("DELETE "+api.PathTenantKey, s.revokeTenantKey)
	s.authed("GET "+api.PathKeys, s.listInstallationKeys)
	s.authed("POST "+api.PathKeys, s.createInstallationKey)
	s.authed("DELETE "+api.PathKey, s.revokeInstallationKey)
	s.authed("POST "+api.PathTenantKeyRotate, s.rotateTenantKey)
	s.authed("POST "+api.PathKeyRotate, s.rotateInstallationKey)

	// Viewer tokens.
	s.authed("POST "+api.PathTenantViewerTokens, s.createViewerToken)
	s.authed("DELETE "+api.PathTenantViewerToken, s.revokeViewerToken)

	// Redaction rules.
	s.authed("GET "+api.PathTenantRedaction, s.getRedaction)
	s.authed("PUT "+api.PathTenantRedaction, s.putRedaction)
	s.authed("GET "+api.PathTenantReadAudit, s.getReadAudit)
	s.authed("PUT "+api.PathTenantReadAudit, s.putReadAudit)

	// A tenant's action catalog.
	s.authed("GET "+api.PathTenantCatalog, s.getTenantCatalog)
	s.authed("PUT "+api.PathTenantCatalog, s.putTenantCatalog)
	s.authed("PUT "+api.PathTenantCatalogAction, s.putCatalogAction)
	s.authed("DELETE "+api.PathTenantCatalogAction, s.deleteCatalogAction)

	// Retention, legal holds and the installation's compliance floor.
	s.authed("GET "+api.PathTenantRetention, s.getRetention)
	s.authed("PUT "+api.PathTenantRetention, s.putRetention)
	s.authed("GET "+api.PathTenantHolds, s.listHolds)
	s.authed("POST "+api.PathTenantHolds, s.addHold)
	s.authed("DELETE "+api.PathTenantHold, s.removeHold)
	s.authed("GET "+api.PathRetentionFloor, s.getRetentionFloor)
	s.authed("PUT "+api.PathRetentionFloor, s.putRetentionFloor)

	// Data subjects: erasure and the access export (GDPR Art. 17 and 15).
	s.authed("POST "+api.PathTenantSubjectErase, s.eraseSubject)
	s.authed("POST "+api.PathSubjectErase, s.eraseSubjectEverywhere)
	s.authed("GET "+api.PathTenantSubjectEvents, s.subjectEvents)

	// Sinks: per tenant and installation-wide.
	s.authed("GET "+api.PathTenantSinks, s.listSinks)
	s.authed("POST "+api.PathTenantSinks, s.createSink)
	s.authed("GET "+api.PathTenantSink, s.getSink)
	s.authed("PATCH "+api.PathTenantSink, s.updateSink)
	s.authed("DELETE "+api.PathTenantSink, s.deleteSink)
	s.authed("POST "+api.PathTenantSinkPause, s.pauseSink)
	s.authed("POST "+api.PathTenantSinkResume, s.resumeSink)
	s.authed("POST "+api.PathTenantSinkReplay, s.replaySink)
	s.authed("GET "+api.PathSinks, s.listSinks)
	s.authed("POST "+api.PathSinks, s.createSink)
	s.authed("GET "+api.PathSink, s.getSink)
	s.authed("PATCH "+api.PathSink, s.updateSink)
	s.authed("DELETE "+api.PathSink, s.deleteSink)
	s.authed("POST "+api.PathSinkPause, s.pauseSink)
	s.authed("POST "+api.PathSinkResume, s.resumeSink)
	s.authed("POST "+api.PathSinkReplay, s.replaySink)

	// Alert rules and digests of a tenant.
	s.authed("GET "+api.PathTenantAlerts, s.listAlerts)
	s.authed("POST "+api.PathTenantAlerts, s.createAlert)
	s.authed("GET "+api.PathTenantAlert, s.getAlert)
	s.authed("PATCH "+api.PathTenantAlert, s.updateAlert)
	s.authed("DELETE "+api.PathTenantAlert, s.deleteAlert)
	s.authed("GET "+api.PathTenantAlertFirings, s.alertFirings)
	s.authed("GET "+api.PathTenantDigest, s.getDigest)
	s.authed("PUT "+api.PathTenantDigest, s.putDigest)
	s.authed("POST "+api.PathTenantDigestSend, s.sendDigest)

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
	s.mux.Handle("/", s.adapt(routeUnmatched, false, s.unmatched))
}

// handlerFunc is the shape of every handler: it writes a successful answer
// itself and returns any failure for the error writer.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// authed registers a route that requires a bearer credential.
func (s *Server) authed(pattern string, h handlerFunc) { s.handle(pattern, true, h) }

// open registers a route that anyone may call.
func (s *Server) open(pattern string, h handlerFunc) { s.handle(pattern, false, h) }

func (s *Server) handle(pattern string, auth bool, h handlerFunc) {
	_, route, _ := strings.Cut(pattern, " ")
	s.patterns = append(s.patterns, pattern)
	s.mux.Handle(pattern, s.adapt(route, auth, h))
}

// routeUnmatched is the route label of requests that match no route.
const routeUnmatched = "unmatched"

// adapt turns a handlerFunc into an http.Handler: it records the route
// pattern for logs and metrics, authenticates when auth is set, and sends a
// returned error to the error writer.
func (s *Server) adapt(route string, auth bool, h handlerFunc) http.Handler {
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
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}
