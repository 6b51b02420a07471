package xds

import (
	"cmp"
	"slices"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"

	"skiff.dev/skiff/pkg/model"
)

// loadAssignment lists the endpoints of svc that serve port and carry all of a subset's labels, grouped
// into one locality per zone. Every locality gets a weight: gRPC ignores localities without one.
func loadAssignment(cluster string, svc *model.Service, port model.Port, subsetLabels map[string]string) *endpointv3.ClusterLoadAssignment {
	byZone := map[string]*endpointv3.LocalityLbEndpoints{}
	for i := range svc.Endpoints {
		ep := &svc.Endpoints[i]
		target := ep.TargetPort(port)
		if target == 0 || target > 65535 || ep.Address == "" || !hasLabels(ep.Labels, subsetLabels) {
			continue
		}
		loc := byZone[ep.Zone]
		if loc == nil {
			// gRPC rejects a locality without an ID, even an empty one.
			loc = &endpointv3.LocalityLbEndpoints{Locality: &corev3.Locality{Zone: ep.Zone}}
			byZone[ep.Zone] = loc
		}
		weight := cmp.Or(ep.Weight, 1)
		loc.LbEndpoints = append(loc.LbEndpoints, &endpointv3.LbEndpoint{
			HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{
				Address: socketAddress(ep.Address, target),
			}},
			HealthStatus:        corev3.HealthStatus_HEALTHY,
			LoadBalancingWeight: u32(weight),
			Metadata:            endpointMetadata(ep),
		})
		loc.LoadBalancingWeight = u32(loc.GetLoadBalancingWeight().GetValue() + weight)
	}
	cla := &endpointv3.ClusterLoadAssignment{ClusterName: cluster}
	for _, zone := range slices.Sorted(mapsKeys(byZone)) {
		cla.Endpoints = append(cla.Endpoints, byZone[zone])
	}
	return cla
}

func socketAddress(addr string, port uint32) *corev3.Address {
	return &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
		Address:       addr,
		PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port},
	}}}
}

// hasLabels says whether labels include every key/value of want (a subset selector).
func hasLabels(labels, want map[string]string) bool {
	for k, v := range want {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}
