package xds

import (
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/types/known/anypb"

	"skiff.dev/skiff/pkg/model"
)

// defaultConnectTimeout is Istio's mesh default connectTimeout.
const defaultConnectTimeout = 10 * time.Second

// clusters builds one cluster per service port and one per DestinationRule subset, with the load
// assignments of those resolved through EDS.
func (g *generator) clusters() ([]*clusterv3.Cluster, []*endpointv3.ClusterLoadAssignment) {
	var clusters []*clusterv3.Cluster
	var loads []*endpointv3.ClusterLoadAssignment
	for _, svc := range g.visibleServices() {
		dr := g.mesh.DestinationRuleFor(svc.Hostname, g.proxy.Namespace)
		for _, port := range svc.Ports {
			c, cla := g.outboundCluster(svc, port, dr, nil)
			clusters = append(clusters, c)
			if cla != nil {
				loads = append(loads, cla)
			}
			if dr == nil {
				continue
			}
			seen := map[string]bool{}
			for _, subset := range dr.Spec.GetSubsets() {
				if subset.GetName() == "" || seen[subset.GetName()] {
					continue
				}
				seen[subset.GetName()] = true
				c, cla := g.outboundCluster(svc, port, dr, subset)
				clusters = append(clusters, c)
				if cla != nil {
					loads = append(loads, cla)
				}
			}
		}
	}
	if g.proxy.Type != model.ProxylessGRPC {
		clusters = append(clusters, passthrough(), blackhole())
	}
	clusters = append(clusters, g.jwksClusters()...) // JWKS servers outside the mesh, see jwt.go
	sortByName(clusters, (*clusterv3.Cluster).GetName)
	sortByName(loads, (*endpointv3.ClusterLoadAssignment).GetClusterName)
	return clusters, loads
}

func (g *generator) cluster(svc *model.Service, port model.Port, subset string, labels map[string]string, pol trafficPolicy) (*clusterv3.Cluster, *endpointv3.ClusterLoadAssignment) {
	name := ClusterName(port.Number, subset, svc.Hostname)
	c := &clusterv3.Cluster{
		Name:           name,
		ConnectTimeout: duration(defaultConnectTimeout),
		LbPolicy:       clusterv3.Cluster_LEAST_REQUEST,
	}
	if g.proxy.Type == model.ProxylessGRPC {
		c.LbPolicy = clusterv3.Cluster_ROUND_ROBIN
	}
	var cla *endpointv3.ClusterLoadAssignment
	switch svc.Resolution {
	case model.ResolutionEDS:
		c.ClusterDiscoveryType = &clusterv3.Cluster_Type{Type: clusterv3.Cluster_EDS}
		c.EdsClusterConfig = &clusterv3.Cluster_EdsClusterConfig{EdsConfig: adsSource(), ServiceName: name}
		cla = loadAssignment(name, svc, port, labels)
	case model.ResolutionDNS:
		c.ClusterDiscoveryType = &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STRICT_DNS}
		c.DnsLookupFamily = clusterv3.Cluster_V4_ONLY
		c.LoadAssignment = loadAssignment(name, svc, port, labels)
	case model.ResolutionPassthrough:
		c.ClusterDiscoveryType = &clusterv3.Cluster_Type{Type: clusterv3.Cluster_ORIGINAL_DST}
		c.LbPolicy = clusterv3.Cluster_CLUSTER_PROVIDED
	}
	opts := &httpv3.HttpProtocolOptions{
		UpstreamProtocolOptions: &httpv3.HttpProtocolOptions_UseDownstreamProtocolConfig{
			UseDownstreamProtocolConfig: &httpv3.HttpProtocolOptions_UseDownstreamHttpConfig{},
		},
	}
	if port.Protocol.IsHTTP2() {
		opts.UpstreamProtocolOptions = &httpv3.HttpProtocolOptions_ExplicitHttpConfig_{
			ExplicitHttpConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig{
				ProtocolConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_Http2ProtocolOptions{Http2ProtocolOptions: &corev3.Http2ProtocolOptions{}},
			},
		}
	}
	g.applyPolicy(c, opts, pol)
	g.applyTLS(c, svc, port, subset, pol.tls)
	if pol.tls == nil { // an explicit mode, DISABLE included, turns auto mTLS off
		g.applyAutoMTLS(c, svc, port, subset)
	}
	if port.Protocol.IsHTTP() {
		c.TypedExtensionProtocolOptions = map[string]*anypb.Any{httpProtocolOptionsKey: toAny(opts)}
	}
	return c, cla
}

func passthrough() *clusterv3.Cluster {
	return &clusterv3.Cluster{
		Name:                 passthroughCluster,
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_ORIGINAL_DST},
		LbPolicy:             clusterv3.Cluster_CLUSTER_PROVIDED,
		ConnectTimeout:       duration(defaultConnectTimeout),
	}
}

func blackhole() *clusterv3.Cluster {
	return &clusterv3.Cluster{
		Name:                 blackholeCluster,
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STATIC},
		ConnectTimeout:       duration(defaultConnectTimeout),
	}
}
