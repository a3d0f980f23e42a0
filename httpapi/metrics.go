package httpapi

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the server's Prometheus collectors. They are not registered
// anywhere: the caller registers Server.Collectors in its own registry.
type metrics struct {
	requestDuration *prometheus.HistogramVec
	batchEvents     prometheus.Histogram
}

func newMetrics() *metrics {
	return &metrics{
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hashtrail_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by route pattern, method and status code.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method", "code"}),
		batchEvents: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hashtrail_ingest_batch_events",
			Help:    "Events per ingest request body that split into events.",
			Buckets: []float64{1, 2, 5, 10, 25, 50, 100, 250, 500, 1000},
		}),
	}
}

func (m *metrics) observeRequest(route, method string, status int, d time.Duration) {
	m.requestDuration.WithLabelValues(route, method, strconv.Itoa(status)).Observe(d.Seconds())
}

// Collectors returns the server's Prometheus collectors, for the caller to
// register: hashtrail_http_request_duration_seconds{route,method,code} and
// hashtrail_ingest_batch_events. The route label is the matched pattern
// ("/v1/tenants/{tenant}/events"), or "unmatched", so its values are bounded.
func (s *Server) Collectors() []prometheus.Collector {
	return []prometheus.Collector{s.stats.requestDuration, s.stats.batchEvents}
}
