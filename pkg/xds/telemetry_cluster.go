package xds

import (
	"maps"
	"slices"
	"strings"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/types/known/anypb"

	"skiff.dev/skiff/pkg/model"
)

// collector is a telemetry backend (trace collector) a proxy sends to.
type collector struct {
	host  string
	port  uint32
	http2 bool // gRPC export
}

// collector names the cluster for a provider's service and port: Istio's outbound cluster name for the
// host, so a mesh service the proxy already has a cluster for is reached through it (with its traffic
// policy and mTLS); withTelemetryClusters adds a DNS cluster for any other. service may be
// "<namespace>/<host>" as in Istio, or a Kubernetes short name ("zipkin.istio-system").
func (g *generator) collector(service string, port uint32, http2 bool, collectors map[string]collector) (cluster, host string) {
	host = g.collectorHost(service)
	cluster = ClusterName(port, "", host)
	if prev, ok := collectors[cluster]; !ok || http2 && !prev.http2 {
		collectors[cluster] = collector{host: host, port: port, http2: http2}
	}
	return cluster, host
}

func (g *generator) collectorHost(service string) string {
	if _, h, ok := strings.Cut(service, "/"); ok {
		service = h
	}
	if g.mesh.Service(service) != nil {
		return service
	}
	if name, ns, ok := strings.Cut(strings.TrimSuffix(service, ".svc"), "."); ok && !strings.Contains(ns, ".") {
		if h := model.KubeHostname(name, ns, g.mesh.DomainSuffix()); g.mesh.Service(h) != nil {
			return h
		}
	}
	return service
}

// withTelemetryClusters adds a STRICT_DNS cluster for each collector the proxy's telemetry uses that is
// not among its clusters (a host outside the mesh, or a mesh service its Sidecar does not import): a
// tracer or logger naming a missing cluster would make Envoy reject the listener.
func (g *generator) withTelemetryClusters(clusters []*clusterv3.Cluster) []*clusterv3.Cluster {
	collectors := g.telemetry().collectors
	if len(collectors) == 0 {
		return clusters
	}
	have := make(map[string]bool, len(clusters))
	for _, c := range clusters {
		have[c.GetName()] = true
	}
	added := false
	for _, name := range slices.Sorted(maps.Keys(collectors)) {
		if have[name] {
			continue
		}
		col := collectors[name]
		c := dnsCluster(name, col.host, col.port)
		if col.http2 {
			c.TypedExtensionProtocolOptions = map[string]*anypb.Any{httpProtocolOptionsKey: toAny(&httpv3.HttpProtocolOptions{
				UpstreamProtocolOptions: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_{ExplicitHttpConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig{
					ProtocolConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_Http2ProtocolOptions{Http2ProtocolOptions: &corev3.Http2ProtocolOptions{}},
				}},
			})}
		}
		clusters = append(clusters, c)
		added = true
	}
	if added {
		sortByName(clusters, (*clusterv3.Cluster).GetName)
	}
	return clusters
}

// dnsCluster reaches one host:port outside the proxy's service clusters, resolved by Envoy over IPv4 as
// the mesh's own DNS clusters are.
func dnsCluster(name, host string, port uint32) *clusterv3.Cluster {
	return &clusterv3.Cluster{
		Name:                 name,
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STRICT_DNS},
		DnsLookupFamily:      clusterv3.Cluster_V4_ONLY,
		ConnectTimeout:       duration(defaultConnectTimeout),
		LoadAssignment: &endpointv3.ClusterLoadAssignment{ClusterName: name, Endpoints: []*endpointv3.LocalityLbEndpoints{{
			LbEndpoints: []*endpointv3.LbEndpoint{{HostIdentifier: &endpointv3.LbEndpoint_Endpoint{
				Endpoint: &endpointv3.Endpoint{Address: socketAddress(host, port)},
			}}},
		}}},
	}
}
