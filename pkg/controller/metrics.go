package controller

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the controller's Prometheus series, in their own registry (no global state).
type metrics struct {
	registry     *prometheus.Registry
	pushes       prometheus.Counter
	pushErrors   prometheus.Counter
	pushDuration prometheus.Histogram
	services     prometheus.Gauge
	certs        *prometheus.CounterVec
}

func newMetrics(connectedProxies func() float64) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		pushes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "skiff_xds_pushes_total", Help: "Mesh model rebuilds pushed to connected proxies.",
		}),
		pushErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "skiff_xds_push_errors_total", Help: "Rebuilds or pushes that failed.",
		}),
		pushDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "skiff_xds_push_duration_seconds", Help: "Time to rebuild the mesh model and push every proxy its configuration.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		services: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "skiff_mesh_services", Help: "Services (Kubernetes and ServiceEntry hosts) in the current mesh model.",
		}),
		certs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "skiff_ca_certificate_requests_total", Help: "Workload certificate requests by result (issued, denied).",
		}, []string{"result"}),
	}
	m.registry.MustRegister(
		m.pushes, m.pushErrors, m.pushDuration, m.services, m.certs,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "skiff_xds_connected_proxies", Help: "Proxies with an open xDS stream."}, connectedProxies),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

func (m *metrics) observeCertificate(err error) {
	if err != nil {
		m.certs.WithLabelValues("denied").Inc()
		return
	}
	m.certs.WithLabelValues("issued").Inc()
}
