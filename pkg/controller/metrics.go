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
	// Istio objects the controller left out (invalid), counted rejections, and conflict losers, by kind.
	configInvalid    *prometheus.GaugeVec
	configRejections *prometheus.CounterVec
	configConflicts  *prometheus.GaugeVec
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
			Name: "skiff_xds_push_duration_seconds", Help: "Time to rebuild the mesh model and hand it to the xDS server (delivery: skiff_xds_convergence_seconds).",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		services: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "skiff_mesh_services", Help: "Services (Kubernetes and ServiceEntry hosts) in the current mesh model.",
		}),
		certs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "skiff_ca_certificate_requests_total", Help: "Workload certificate requests by result (issued, denied).",
		}, []string{"result"}),
		configInvalid: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "skiff_config_invalid", Help: "Istio objects left out of the mesh model because they fail validation, by kind.",
		}, []string{"kind"}),
		configRejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "skiff_config_rejections_total", Help: "Invalid Istio object generations found (each counted once), by kind.",
		}, []string{"kind"}),
		configConflicts: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "skiff_config_conflicts", Help: "Istio objects overridden by an older conflicting object, by kind.",
		}, []string{"kind"}),
	}
	m.registry.MustRegister(
		m.pushes, m.pushErrors, m.pushDuration, m.services, m.certs, m.configInvalid, m.configRejections, m.configConflicts,
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

// observeConfig sets the invalid and conflict gauges from one rebuild's reports; every kind is reported,
// zero included, so alerts can compare against 0.
func (m *metrics) observeConfig(reports []configReport) {
	invalid, conflicts := map[string]int{}, map[string]int{}
	for _, r := range reports {
		if r.invalid {
			invalid[r.obj.kind]++
		}
		if r.conflict {
			conflicts[r.obj.kind]++
		}
	}
	for _, k := range configKinds() {
		m.configInvalid.WithLabelValues(k).Set(float64(invalid[k]))
		m.configConflicts.WithLabelValues(k).Set(float64(conflicts[k]))
		m.configRejections.WithLabelValues(k).Add(0)
	}
}
