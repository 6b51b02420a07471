package agent

import (
	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Ports of Istio's static bootstrap listeners, which the injected readiness probe and the Prometheus
// annotations point at.
const (
	healthListenerPort     = 15021
	prometheusListenerPort = 15090
	agentClusterName       = "agent"
	prometheusClusterName  = "prometheus_stats"
)

// addHealthListeners adds Istio's two static listeners: 15021 forwards /healthz/ready to the agent's
// status port (so readiness covers Envoy actually serving), 15090 exposes the admin port's
// /stats/prometheus without the rest of the admin API.
func addHealthListeners(b *bootstrapv3.Bootstrap, statusPort, adminPort int) {
	sr := b.StaticResources
	sr.Clusters = append(sr.Clusters,
		localCluster(agentClusterName, statusPort),
		localCluster(prometheusClusterName, adminPort),
	)
	sr.Listeners = append(sr.Listeners,
		httpListener("health", healthListenerPort, "/healthz/ready", "", agentClusterName),
		httpListener("prometheus", prometheusListenerPort, "/stats/prometheus", "/stats/prometheus", prometheusClusterName),
	)
}

func localCluster(name string, port int) *clusterv3.Cluster {
	return &clusterv3.Cluster{
		Name:                 name,
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STATIC},
		ConnectTimeout:       durationpb.New(250e6),
		LoadAssignment:       singleEndpoint(name, socketAddress("127.0.0.1", port)),
	}
}

// httpListener routes one path prefix on 0.0.0.0:port to cluster (optionally rewriting it).
func httpListener(name string, port int, prefix, rewrite, cluster string) *listenerv3.Listener {
	route := &routev3.RouteAction{ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: cluster}}
	if rewrite != "" {
		route.PrefixRewrite = rewrite
	}
	hcm := &hcmv3.HttpConnectionManager{
		StatPrefix: name,
		CodecType:  hcmv3.HttpConnectionManager_AUTO,
		RouteSpecifier: &hcmv3.HttpConnectionManager_RouteConfig{RouteConfig: &routev3.RouteConfiguration{
			VirtualHosts: []*routev3.VirtualHost{{
				Name:    name,
				Domains: []string{"*"},
				Routes: []*routev3.Route{{
					Match:  &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: prefix}},
					Action: &routev3.Route_Route{Route: route},
				}},
			}},
		}},
		HttpFilters: []*hcmv3.HttpFilter{{
			Name:       "envoy.filters.http.router",
			ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: mustAny(&routerv3.Router{})},
		}},
	}
	return &listenerv3.Listener{
		Name:    name,
		Address: socketAddress("0.0.0.0", port),
		FilterChains: []*listenerv3.FilterChain{{Filters: []*listenerv3.Filter{{
			Name:       "envoy.filters.network.http_connection_manager",
			ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: mustAny(hcm)},
		}}}},
	}
}

func socketAddress(host string, port int) *corev3.Address {
	return &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
		Address: host, PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: uint32(port)},
	}}}
}
