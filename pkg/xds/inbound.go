package xds

import (
	"fmt"
	"slices"
	"strings"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	originaldstv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/listener/original_dst/v3"
	tlsinspectorv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/listener/tls_inspector/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tcpproxyv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"skiff.dev/skiff/pkg/model"
)

const (
	virtualInbound            = "virtualInbound"
	virtualInboundPort        = 15006
	inboundPassthroughCluster = "InboundPassthroughCluster"
)

// inboundPort is a port the sidecar's own workload serves: an endpoint of some service at the proxy's IP.
type inboundPort struct {
	port     uint32
	protocol model.Protocol
}

// inboundPorts finds the workload's ports from the services whose endpoints carry the proxy's IP.
func (g *generator) inboundPorts() []inboundPort {
	if g.proxy.IP == "" {
		return nil
	}
	seen := map[uint32]bool{}
	var out []inboundPort
	for _, svc := range g.mesh.Services() {
		if svc.Resolution != model.ResolutionEDS {
			continue
		}
		for i := range svc.Endpoints {
			if ep := &svc.Endpoints[i]; ep.Address == g.proxy.IP {
				out = appendInboundPorts(out, seen, svc, ep)
			}
		}
	}
	slices.SortFunc(out, func(a, b inboundPort) int { return int(a.port) - int(b.port) })
	return out
}

// appendInboundPorts adds the ports endpoint ep of svc serves that seen does not have yet.
func appendInboundPorts(out []inboundPort, seen map[uint32]bool, svc *model.Service, ep *model.Endpoint) []inboundPort {
	for _, p := range svc.Ports {
		if tp := ep.TargetPort(p); tp != 0 && tp <= 65535 && !seen[tp] {
			seen[tp] = true
			out = append(out, inboundPort{port: tp, protocol: p.Protocol})
		}
	}
	return out
}

// inboundPortsKeys gives, for every endpoint IP in m, a key naming its inbound ports: what a sidecar's
// configuration depends on besides its proxy class (see Server), computed once per mesh for all proxies.
func inboundPortsKeys(m *model.Mesh) map[string]string {
	ports := map[string][]inboundPort{}
	seen := map[string]map[uint32]bool{}
	for _, svc := range m.Services() {
		if svc.Resolution != model.ResolutionEDS {
			continue
		}
		for i := range svc.Endpoints {
			ep := &svc.Endpoints[i]
			if seen[ep.Address] == nil {
				seen[ep.Address] = map[uint32]bool{}
			}
			ports[ep.Address] = appendInboundPorts(ports[ep.Address], seen[ep.Address], svc, ep)
		}
	}
	keys := make(map[string]string, len(ports))
	for ip, list := range ports {
		slices.SortFunc(list, func(a, b inboundPort) int { return int(a.port) - int(b.port) })
		var b strings.Builder
		for _, p := range list {
			fmt.Fprintf(&b, "%d/%s,", p.port, p.protocol)
		}
		keys[ip] = b.String()
	}
	return keys
}

// inboundClusters deliver accepted traffic to the application on localhost.
func (g *generator) inboundClusters(ports []inboundPort) []*clusterv3.Cluster {
	clusters := []*clusterv3.Cluster{{
		Name:                 inboundPassthroughCluster,
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_ORIGINAL_DST},
		LbPolicy:             clusterv3.Cluster_CLUSTER_PROVIDED,
		ConnectTimeout:       duration(defaultConnectTimeout),
	}}
	for _, p := range ports {
		name := inboundClusterName(p.port)
		clusters = append(clusters, &clusterv3.Cluster{
			Name:                 name,
			ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STATIC},
			ConnectTimeout:       duration(defaultConnectTimeout),
			LoadAssignment: &endpointv3.ClusterLoadAssignment{ClusterName: name, Endpoints: []*endpointv3.LocalityLbEndpoints{{
				LbEndpoints: []*endpointv3.LbEndpoint{{HostIdentifier: &endpointv3.LbEndpoint_Endpoint{
					Endpoint: &endpointv3.Endpoint{Address: socketAddress("127.0.0.1", p.port)},
				}}},
			}}},
		})
	}
	return clusters
}

func inboundClusterName(port uint32) string { return "inbound|" + portName(port) + "||" }

// virtualInboundListener takes the redirected inbound traffic on 15006. Each workload port gets filter
// chains by its PeerAuthentication mode: STRICT accepts only mesh mTLS, DISABLE only plaintext, and
// PERMISSIVE both, told apart by the TLS inspector. Other ports pass through.
func (g *generator) virtualInboundListener(ports []inboundPort) *listenerv3.Listener {
	l := &listenerv3.Listener{
		Name:             virtualInbound,
		Address:          socketAddress("0.0.0.0", virtualInboundPort),
		TrafficDirection: corev3.TrafficDirection_INBOUND,
		UseOriginalDst:   wrapperspb.Bool(true),
		ListenerFilters: []*listenerv3.ListenerFilter{
			{Name: "envoy.filters.listener.original_dst", ConfigType: &listenerv3.ListenerFilter_TypedConfig{TypedConfig: toAny(&originaldstv3.OriginalDst{})}},
			{Name: "envoy.filters.listener.tls_inspector", ConfigType: &listenerv3.ListenerFilter_TypedConfig{TypedConfig: toAny(&tlsinspectorv3.TlsInspector{})}},
		},
	}
	// RequestAuthentication's JWT check (jwt.go) runs before AuthorizationPolicy (rbac.go), which reads its result.
	authz := inboundAuthz{http: append(g.jwtAuthnFilters(), g.rbacHTTPFilters()...), tcp: g.rbacNetworkFilters()}
	for _, p := range ports {
		mode := g.mesh.InboundMTLS(g.proxy.Namespace, g.proxy.Labels, p.port)
		if mode != model.MTLSDisable {
			chain := inboundChain(p, "tls", authz)
			chain.TransportSocket = inboundMTLS()
			l.FilterChains = append(l.FilterChains, chain)
		}
		if mode != model.MTLSStrict {
			l.FilterChains = append(l.FilterChains, inboundChain(p, "raw_buffer", authz))
		}
	}
	passthrough := tcpProxyChain(inboundPassthroughCluster, inboundPassthroughCluster)
	passthrough.Name = inboundPassthroughCluster
	passthrough.Filters = append(slices.Clone(authz.tcp), passthrough.Filters...) // no bypass through other ports
	l.FilterChains = append(l.FilterChains, passthrough)
	g.listenerTelemetry(l, telemetryServer) // Telemetry access logs and tracing, see telemetry.go
	return l
}

// inboundAuthz are the RBAC filters enforcing AuthorizationPolicy on HTTP and on TCP ports.
type inboundAuthz struct {
	http []*hcmv3.HttpFilter
	tcp  []*listenerv3.Filter
}

// inboundChain serves one workload port; the authz filters run before the router or tcp_proxy.
func inboundChain(p inboundPort, transport string, authz inboundAuthz) *listenerv3.FilterChain {
	cluster := inboundClusterName(p.port)
	chain := &listenerv3.FilterChain{
		Name:             cluster + transport,
		FilterChainMatch: &listenerv3.FilterChainMatch{DestinationPort: u32(p.port), TransportProtocol: transport},
	}
	if !p.protocol.IsHTTP() {
		tp := &tcpproxyv3.TcpProxy{StatPrefix: cluster, ClusterSpecifier: &tcpproxyv3.TcpProxy_Cluster{Cluster: cluster}}
		chain.Filters = append(slices.Clone(authz.tcp), &listenerv3.Filter{Name: tcpProxyFilter, ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: toAny(tp)}})
		return chain
	}
	hcm := &hcmv3.HttpConnectionManager{
		StatPrefix: cluster,
		RouteSpecifier: &hcmv3.HttpConnectionManager_RouteConfig{RouteConfig: &routev3.RouteConfiguration{
			Name: cluster,
			VirtualHosts: []*routev3.VirtualHost{{
				Name:    "inbound|http|" + portName(p.port),
				Domains: []string{"*"},
				Routes: []*routev3.Route{{
					Name:  "default",
					Match: &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
					Action: &routev3.Route_Route{Route: &routev3.RouteAction{
						ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: cluster},
						Timeout:          durationZero(),
					}},
				}},
			}},
		}},
		HttpFilters: append(slices.Clone(authz.http), &hcmv3.HttpFilter{Name: routerFilter, ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: toAny(&routerv3.Router{})}}),
	}
	chain.Filters = []*listenerv3.Filter{{Name: hcmFilter, ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: toAny(hcm)}}}
	return chain
}

// inboundMTLS requires a client certificate from the mesh, with the workload's certificate and the
// root served by the agent over SDS.
func inboundMTLS() *corev3.TransportSocket {
	ctx := &tlsv3.DownstreamTlsContext{
		RequireClientCertificate: wrapperspb.Bool(true),
		CommonTlsContext: &tlsv3.CommonTlsContext{
			AlpnProtocols:                  []string{"h2", "http/1.1"},
			TlsCertificateSdsSecretConfigs: []*tlsv3.SdsSecretConfig{agentSDS(sdsWorkloadCert)},
			ValidationContextType: &tlsv3.CommonTlsContext_CombinedValidationContext{CombinedValidationContext: &tlsv3.CommonTlsContext_CombinedCertificateValidationContext{
				DefaultValidationContext:         &tlsv3.CertificateValidationContext{},
				ValidationContextSdsSecretConfig: agentSDS(sdsRootCert),
			}},
		},
	}
	return &corev3.TransportSocket{Name: tlsTransportSocket, ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: toAny(ctx)}}
}
