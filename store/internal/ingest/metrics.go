package ingest

import "github.com/prometheus/client_golang/prometheus"

// Metrics are a store's Prometheus collectors of appends; each store has
// its own, and the caller registers them (Collectors).
type Metrics struct {
	// Commit observes the time of each append transaction's COMMIT, which
	// is when it becomes durable (the fsync of the WAL).
	Commit prometheus.Histogram
	// Events observes the new events of each append transaction.
	Events prometheus.Histogram
}

// NewMetrics returns the collectors hashtrail_store_commit_seconds and
// hashtrail_store_append_events.
func NewMetrics() *Metrics {
	return &Metrics{
		Commit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hashtrail_store_commit_seconds",
			Help:    "Time of each Append's COMMIT, which includes the fsync of the WAL.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16), // 100µs .. ~3.3s
		}),
		Events: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hashtrail_store_append_events",
			Help:    "New events written per Append transaction (one commit, one fsync).",
			Buckets: prometheus.ExponentialBuckets(1, 2, 14), // 1 .. 8192
		}),
	}
}

// Collectors returns the collectors, for the caller to register.
func (m *Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.Commit, m.Events}
}
