package xds

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// serverMetrics are the ADS server's Prometheus series, registered by Instrument.
type serverMetrics struct {
	responses   *prometheus.CounterVec
	resources   *prometheus.CounterVec
	convergence prometheus.Histogram
	generation  prometheus.Histogram
}

// Instrument registers the server's metrics with reg; call it before serving.
func (s *Server) Instrument(reg prometheus.Registerer) error {
	m := &serverMetrics{
		responses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "skiff_xds_responses_total", Help: "xDS responses sent, by type (CDS, LDS, RDS, EDS, SDS).",
		}, []string{"type"}),
		resources: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "skiff_xds_resources_sent_total", Help: "Resources in the xDS responses sent, by type.",
		}, []string{"type"}),
		convergence: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "skiff_xds_convergence_seconds",
			Help:    "Time from a push to each proxy's changed configuration being handed to its stream.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}),
		generation: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "skiff_xds_config_generation_seconds",
			Help:    "Time to generate and encode one proxy class's configuration (once per class and push).",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
	}
	for _, c := range []prometheus.Collector{m.responses, m.resources, m.convergence, m.generation} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	s.metrics = m
	return nil
}

// sent counts one response; pushed is when the push it answers began (zero for a request's answer).
func (m *serverMetrics) sent(url string, resources int, pushed time.Time) {
	if m == nil {
		return
	}
	typ := shortType(url)
	m.responses.WithLabelValues(typ).Inc()
	m.resources.WithLabelValues(typ).Add(float64(resources))
	if !pushed.IsZero() {
		m.convergence.Observe(time.Since(pushed).Seconds())
	}
}

func (m *serverMetrics) generated(took time.Duration) {
	if m != nil {
		m.generation.Observe(took.Seconds())
	}
}
