package agent

import (
	"testing"

	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
)

// The injected readiness probe asks Envoy on 15021 and Prometheus scrapes 15090: both must reach the
// agent's status port and Envoy's admin port through static listeners.
func TestBootstrapHealthListeners(t *testing.T) {
	o := EnvoyBootstrapOptions{
		BootstrapOptions: BootstrapOptions{PodName: "web-0", PodNamespace: "default", PodIP: "10.1.2.3"},
		SecureXDSAddr:    "skiff.istio-system.svc:15012", RootCert: "/var/run/secrets/istio/root-cert.pem", SDSSocket: "/etc/istio/proxy/sds.sock",
		AdminPort: 16000, StatusPort: 16020,
	}
	b, err := EnvoyBootstrap(o)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.GetAdmin().GetAddress().GetSocketAddress().GetPortValue(); got != 16000 {
		t.Fatalf("admin port %d, want 16000", got)
	}
	clusterPort := map[string]uint32{}
	for _, c := range b.GetStaticResources().GetClusters() {
		ep := c.GetLoadAssignment().GetEndpoints()[0].GetLbEndpoints()[0].GetEndpoint().GetAddress().GetSocketAddress()
		clusterPort[c.GetName()] = ep.GetPortValue()
	}
	want := map[uint32]struct {
		prefix  string
		cluster string
		port    uint32
	}{15021: {"/healthz/ready", agentClusterName, 16020}, 15090: {"/stats/prometheus", prometheusClusterName, 16000}}
	for _, l := range b.GetStaticResources().GetListeners() {
		port := l.GetAddress().GetSocketAddress().GetPortValue()
		w, ok := want[port]
		if !ok {
			t.Fatalf("unexpected listener on %d", port)
		}
		delete(want, port)
		var hcm hcmv3.HttpConnectionManager
		if err := l.GetFilterChains()[0].GetFilters()[0].GetTypedConfig().UnmarshalTo(&hcm); err != nil {
			t.Fatal(err)
		}
		route := hcm.GetRouteConfig().GetVirtualHosts()[0].GetRoutes()[0]
		if route.GetMatch().GetPrefix() != w.prefix || route.GetRoute().GetCluster() != w.cluster || clusterPort[w.cluster] != w.port {
			t.Errorf("listener %d routes %q to %s (port %d), want %q to %s on %d", port, route.GetMatch().GetPrefix(),
				route.GetRoute().GetCluster(), clusterPort[route.GetRoute().GetCluster()], w.prefix, w.cluster, w.port)
		}
	}
	if len(want) != 0 {
		t.Fatalf("missing listeners: %v", want)
	}

	o.StatusPort = 0 // plain `skiff agent --envoy-bootstrap`: no status server, so no health listeners
	if b, err := EnvoyBootstrap(o); err != nil || len(b.GetStaticResources().GetListeners()) != 0 {
		t.Fatalf("without a status port: %v, %d listeners", err, len(b.GetStaticResources().GetListeners()))
	}
}
