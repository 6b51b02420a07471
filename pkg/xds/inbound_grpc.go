package xds

import (
	"net"
	"slices"
	"strconv"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"skiff.dev/skiff/pkg/model"
)

// GRPCInboundPrefix starts the listener names proxyless gRPC servers ask for: Istio's template
// xds.istio.io/grpc/lds/inbound/%s, with %s the server's listening host:port.
const GRPCInboundPrefix = "xds.istio.io/grpc/lds/inbound/"

// grpcInboundListeners answers the server listeners a proxyless gRPC server asked for. PeerAuthentication
// decides the port's security: STRICT requires a client certificate from the mesh (via the bootstrap's
// certificate provider); PERMISSIVE and DISABLE serve plaintext, since gRPC cannot sniff TLS.
func (g *generator) grpcInboundListeners() []*listenerv3.Listener {
	var out []*listenerv3.Listener
	authz := g.rbacHTTPFilters() // AuthorizationPolicy, see rbac.go
	for _, name := range g.proxy.InboundListeners {
		host, port, ok := parseInboundName(name)
		if !ok {
			continue
		}
		mode := g.mesh.InboundMTLS(g.proxy.Namespace, g.proxy.Labels, port)
		routeName := "inbound|" + portName(port) + "||"
		hcm := &hcmv3.HttpConnectionManager{
			StatPrefix: routeName,
			RouteSpecifier: &hcmv3.HttpConnectionManager_RouteConfig{RouteConfig: &routev3.RouteConfiguration{
				Name: routeName,
				VirtualHosts: []*routev3.VirtualHost{{
					Name:    "inbound|http|" + portName(port),
					Domains: []string{"*"},
					Routes: []*routev3.Route{{
						Match:  &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
						Action: &routev3.Route_NonForwardingAction{NonForwardingAction: &routev3.NonForwardingAction{}},
					}},
				}},
			}},
			// Servers accept only the router (and RBAC); the fault filter is client-side.
			HttpFilters: append(slices.Clone(authz), &hcmv3.HttpFilter{Name: routerFilter, ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: toAny(&routerv3.Router{})}}),
		}
		chain := &listenerv3.FilterChain{
			Name:    mode.String(),
			Filters: []*listenerv3.Filter{{Name: hcmFilter, ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: toAny(hcm)}}},
		}
		if mode == model.MTLSStrict {
			chain.TransportSocket = &corev3.TransportSocket{Name: tlsTransportSocket, ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: toAny(&tlsv3.DownstreamTlsContext{
				RequireClientCertificate: wrapperspb.Bool(true),
				CommonTlsContext: &tlsv3.CommonTlsContext{
					TlsCertificateProviderInstance: &tlsv3.CertificateProviderPluginInstance{InstanceName: grpcCertProvider, CertificateName: sdsWorkloadCert},
					ValidationContextType: &tlsv3.CommonTlsContext_ValidationContext{ValidationContext: &tlsv3.CertificateValidationContext{
						CaCertificateProviderInstance: &tlsv3.CertificateProviderPluginInstance{InstanceName: grpcCertProvider, CertificateName: sdsRootCert},
					}},
				},
			})}}
		}
		out = append(out, &listenerv3.Listener{
			Name:             name,
			Address:          socketAddress(host, port),
			TrafficDirection: corev3.TrafficDirection_INBOUND,
			FilterChains:     []*listenerv3.FilterChain{chain},
		})
	}
	return out
}

// parseInboundName reads <prefix><host>:<port>; gRPC writes IPv6 hosts in brackets.
func parseInboundName(name string) (string, uint32, bool) {
	hostPort, ok := strings.CutPrefix(name, GRPCInboundPrefix)
	if !ok {
		return "", 0, false
	}
	host, p, err := net.SplitHostPort(hostPort)
	if err != nil || net.ParseIP(host) == nil {
		return "", 0, false
	}
	port, err := strconv.ParseUint(p, 10, 32)
	if err != nil || port == 0 || port > 65535 {
		return "", 0, false
	}
	return host, uint32(port), true
}
