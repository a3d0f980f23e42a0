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
	}
}

func (m metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.ingested, m.rejected, m.commitSeconds, m.commitEvents, m.signed, m.signErrors, m.signSeconds,
		m.witnessLag, m.witnessErrors, m.witnessCosigned}
}
