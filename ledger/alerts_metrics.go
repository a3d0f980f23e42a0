package ledger

import "github.com/prometheus/client_golang/prometheus"

// alertMetrics are the Prometheus metrics of alerts and digests.
type alertMetrics struct {
	evaluated    prometheus.Counter
	firings      *prometheus.CounterVec
	notifyErrors *prometheus.CounterVec
	lag          prometheus.Gauge
	digests      prometheus.Counter
	digestErrors prometheus.Counter
}

func newAlertMetrics() *alertMetrics {
	return &alertMetrics{
		evaluated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hashtrail_alert_evaluated_events_total",
			Help: "Events the alert rules of their tenant looked at, on this node.",
		}),
		firings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hashtrail_alert_firings_total",
			Help: "Alert firings recorded, by whether they were notified or suppressed by the cooldown.",
		}, []string{"notified"}),
		notifyErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hashtrail_alert_notification_errors_total",
			Help: "Failed attempts to notify a firing, by channel (webhook, email); each is retried with backoff.",
		}, []string{"channel"}),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hashtrail_alert_lag_events",
			Help: "Events committed but not yet looked at by alert rules, summed over the tenants this node evaluates, at its last round.",
		}),
		digests: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hashtrail_digests_sent_total",
			Help: "Digest emails sent (scheduled and sent by hand).",
		}),
		digestErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hashtrail_digest_errors_total",
			Help: "Digests that could not be sent (retried on the next round).",
		}),
	}
}

func (m *alertMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.evaluated, m.firings, m.notifyErrors, m.lag, m.digests, m.digestErrors}
}
