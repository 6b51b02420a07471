package proxyconfig

import (
	"strconv"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
)

func endpointHeaders() []string { return []string{"ENDPOINT", "STATUS", "OUTLIER CHECK", "CLUSTER"} }

// endpoint is one row: an endpoint of a cluster.
type endpoint struct {
	address, port, status, cluster string
}

// allEndpoints joins EDS assignments with the assignments DNS and static clusters carry inline, which
// Envoy lists apart; the table shows both.
func allEndpoints(s sections) []endpoint {
	assignments := s.endpoints
	seen := map[string]bool{}
	for _, cla := range assignments {
		seen[cla.GetClusterName()] = true
	}
	for _, c := range s.clusters {
		if la := c.GetLoadAssignment(); la != nil && !seen[c.GetName()] && c.GetType() != clusterv3.Cluster_EDS {
			cla := &endpointv3.ClusterLoadAssignment{ClusterName: c.GetName(), Endpoints: la.GetEndpoints()}
			assignments = append(assignments[:len(assignments):len(assignments)], cla)
		}
	}
	var out []endpoint
	for _, cla := range assignments {
		for _, loc := range cla.GetEndpoints() {
			for _, lb := range loc.GetLbEndpoints() {
				addr, port := socketAddress(lb.GetEndpoint().GetAddress())
				out = append(out, endpoint{address: addr, port: port, status: healthStatus(lb.GetHealthStatus()), cluster: cla.GetClusterName()})
			}
		}
	}
	return out
}

// healthStatus follows Envoy: an endpoint the control plane says nothing about (UNKNOWN) takes traffic.
func healthStatus(h corev3.HealthStatus) string {
	if h == corev3.HealthStatus_UNKNOWN {
		return "HEALTHY"
	}
	return h.String()
}

func (f Filter) keepEndpoint(e endpoint) bool {
	return (f.Cluster == "" || e.cluster == f.Cluster) &&
		(f.Address == "" || e.address == f.Address) &&
		(f.Port == 0 || e.port == strconv.Itoa(f.Port))
}

// endpointRows leaves OUTLIER CHECK as "-": outlier ejection is runtime state that a config dump does not
// carry (it is on Envoy's /clusters page).
func endpointRows(eps []endpoint) [][]string {
	rows := make([][]string, 0, len(eps))
	for _, e := range eps {
		rows = append(rows, []string{e.address + ":" + e.port, e.status, "-", e.cluster})
	}
	return rows
}
