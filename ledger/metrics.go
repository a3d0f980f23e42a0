package ledger

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	ingested      prometheus.Counter
	rejected      prometheus.Counter
	commitSeconds prometheus.Histogram
	commitEvents  prometheus.Histogram
	signed        prometheus.Counter
	signErrors    prometheus.Counter
	signSeconds   prometheus.Histogram

	witnessLag      *prometheus.GaugeVec
	witnessErrors   *prometheus.CounterVec
	witnessCosigned *prometheus.CounterVec

	quotaToday  *prometheus.GaugeVec
	quotaLimit  *prometheus.GaugeVec
	rateLimited *prometheus.CounterVec
	redacted    prometheus.Counter
}

func newMetrics() metrics {
	return metrics{
		ingested: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hashtrail_ingest_events_total",
			Help: "Events durably appended (idempotent replays not counted).",
		}),
		rejected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hashtrail_ingest_pushback_total",
			Help: "Ingest requests refused with 503 because the commit queue was full.",
		}),
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hashtrail_commit_seconds",
			Help:    "Time of one group commit, from taking the batch to durable.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		commitEvents: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hashtrail_commit_events",
			Help:    "Events per group commit (one store transaction and fsync).",
			Buckets: prometheus.ExponentialBuckets(1, 4, 9),
		}),
		signed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hashtrail_checkpoints_signed_total",
			Help: "Checkpoints signed and kept (one per tenant and signing round in which its log grew).",
		}),
		signErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hashtrail_checkpoint_errors_total",
			Help: "Checkpoints that could not be signed or kept (see the log).",
		}),
		signSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hashtrail_checkpoint_sign_seconds",
			Help:    "Time to make one checkpoint: root hash from the stored tree, signature, and keeping it.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 14),
		}),
		witnessLag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hashtrail_witness_lag_entries",
			Help: "Entries of the installation log a witness has not cosigned yet (0 when it cosigned the latest checkpoint).",
		}, []string{"witness"}),
		witnessErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hashtrail_witness_errors_total",
			Help: "Installation checkpoints a witness did not cosign (unreachable, refused, or an invalid answer); retried with backoff.",
		}, []string{"witness"}),
		witnessCosigned: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hashtrail_witness_cosignatures_total",
			Help: "Installation checkpoints cosigned by a witness and kept.",
		}, []string{"witness"}),
		quotaToday: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hashtrail_tenant_events_today",
			Help: "Events a tenant's log gained today (UTC), for tenants with a quota, as this node last saw it.",
		}, []string{"tenant"}),
		quotaLimit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hashtrail_tenant_events_per_day",
			Help: "A tenant's quota of events a UTC day (tenants with a quota).",
		}, []string{"tenant"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hashtrail_rate_limited_total",
			Help: "Requests refused with 429: by a key's token bucket (kind key) or a tenant's daily quota (kind quota).",
		}, []string{"kind"}),
		redacted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hashtrail_redacted_values_total",
			Help: "Values redacted at ingest by tenants' redaction rules.",
		}),
	}
}

func (m metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.ingested, m.rejected, m.commitSeconds, m.commitEvents, m.signed, m.signErrors, m.signSeconds,
		m.witnessLag, m.witnessErrors, m.witnessCosigned, m.quotaToday, m.quotaLimit, m.rateLimited, m.redacted}
}
