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

	purgeRuns    *prometheus.CounterVec
	purged       prometheus.Counter
	purgeSeconds prometheus.Histogram
	purgeLast    prometheus.Gauge
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
		purgeRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hashtrail_purge_runs_total",
			Help: "Retention purges of one tenant run by this node, by outcome (ok or error; an error is retried on the next run).",
		}, []string{"outcome"}),
		purged: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hashtrail_purged_events_total",
			Help: "Event bodies deleted by retention purges on this node (each announced first by a checkpointed system.retention_purge event).",
		}),
		purgeSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hashtrail_purge_seconds",
			Help:    "Time of one tenant's retention purge, announcements, checkpoint wait and deletion included.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}),
		purgeLast: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hashtrail_purge_last_success_timestamp_seconds",
			Help: "When this node last finished a round of purges without an error (Unix time); alert when it falls far behind --purge-interval.",
		}),
	}
}

func (m metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.ingested, m.rejected, m.commitSeconds, m.commitEvents, m.signed, m.signErrors, m.signSeconds,
		m.witnessLag, m.witnessErrors, m.witnessCosigned, m.quotaToday, m.quotaLimit, m.rateLimited, m.redacted,
		m.purgeRuns, m.purged, m.purgeSeconds, m.purgeLast}
}
