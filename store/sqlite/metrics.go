package sqlite

import "github.com/prometheus/client_golang/prometheus"

// metrics are the store's Prometheus collectors; each Store has its own, and
// the caller registers them (Store.Collectors).
type metrics struct {
	commit prometheus.Histogram
	events prometheus.Histogram
}

func newMetrics() *metrics {
	return &metrics{
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hashtrail_store_commit_seconds",
			Help:    "Time of each Append's COMMIT, which includes the fsync of the WAL.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16), // 100µs .. ~3.3s
		}),
		events: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hashtrail_store_append_events",
			Help:    "New events written per Append call (one transaction, one fsync).",
			Buckets: prometheus.ExponentialBuckets(1, 2, 14), // 1 .. 8192
		}),
	}
}
