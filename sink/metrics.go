package sink

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the dispatcher's Prometheus metrics, by sink id.
type metrics struct {
	d          *Dispatcher
	delivered  *prometheus.CounterVec
	failures   *prometheus.CounterVec
	lagEvents  *prometheus.Desc
	lagSeconds *prometheus.Desc
	sinks      *prometheus.Desc
}

func newMetrics(d *Dispatcher) *metrics {
	return &metrics{
		d: d,
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hashtrail_sink_delivered_events_total",
			Help: "Events a sink's destination accepted (counting re-sent ones again).",
		}, []string{"sink"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hashtrail_sink_delivery_failures_total",
			Help: "Failed deliveries of a batch to a sink's destination.",
		}, []string{"sink"}),
		lagEvents: prometheus.NewDesc("hashtrail_sink_lag_events",
			"Events committed but not yet delivered to a sink, summed over the tenant logs this node delivers.", []string{"sink"}, nil),
		lagSeconds: prometheus.NewDesc("hashtrail_sink_lag_seconds",
			"Age of the oldest event not yet delivered to a sink, over the tenant logs this node delivers.", []string{"sink"}, nil),
		sinks: prometheus.NewDesc("hashtrail_sink_workers",
			"Sink and tenant logs this node delivers (holding their lease).", nil, nil),
	}
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.delivered, m.failures, lagCollector{m}}
}

// lagCollector reports the lag of the workers at scrape time.
type lagCollector struct{ m *metrics }

func (c lagCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.m.lagEvents
	ch <- c.m.lagSeconds
	ch <- c.m.sinks
}

func (c lagCollector) Collect(ch chan<- prometheus.Metric) {
	type lag struct {
		events  int64
		seconds float64
	}
	by := map[string]*lag{}
	active := 0
	now := time.Now()
	c.m.d.mu.Lock()
	for k, w := range c.m.d.workers {
		if !w.active.Load() {
			continue
		}
		active++
		l := by[k.sink]
		if l == nil {
			l = &lag{}
			by[k.sink] = l
		}
		l.events += w.lagEvents.Load()
		if o := w.oldest.Load(); o > 0 {
			l.seconds = max(l.seconds, now.Sub(time.UnixMicro(o)).Seconds())
		}
	}
	c.m.d.mu.Unlock()
	for id, l := range by {
		ch <- prometheus.MustNewConstMetric(c.m.lagEvents, prometheus.GaugeValue, float64(l.events), id)
		ch <- prometheus.MustNewConstMetric(c.m.lagSeconds, prometheus.GaugeValue, l.seconds, id)
	}
	ch <- prometheus.MustNewConstMetric(c.m.sinks, prometheus.GaugeValue, float64(active))
}
