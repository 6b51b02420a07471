package xds

import (
	"slices"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	networking "istio.io/api/networking/v1alpha3"

	"skiff.dev/skiff/pkg/model"
)

// gatewayServer is one server of a Gateway that selects this router, with the Gateway's "<ns>/<name>".
type gatewayServer struct {
	gateway   string
	namespace string
	server    *networking.Server
}

// gatewayServers lists the HTTP and HTTPS (terminated) servers of the Gateways whose selector matches
// the router's labels. TLS passthrough and TCP servers are not translated yet.
func (g *generator) gatewayServers() []gatewayServer {
	var out []gatewayServer
	for _, gw := range g.mesh.Gateways() {
		if !hasLabels(g.proxy.Labels, gw.Spec.GetSelector()) {
			continue
		}
		for _, s := range gw.Spec.GetServers() {
			port := s.GetPort().GetNumber()
			if port == 0 || port > 65535 || len(s.GetHosts()) == 0 {
				continue
			}
			switch model.ParseProtocol(s.GetPort().GetProtocol()) {
			case model.HTTP, model.HTTP2, model.GRPC:
			case model.HTTPS:
				if mode := s.GetTls().GetMode(); mode != networking.ServerTLSSettings_SIMPLE && mode != networking.ServerTLSSettings_MUTUAL {
					continue
				}
			default:
				continue
			}
			out = append(out, gatewayServer{gateway: gw.Namespace + "/" + gw.Name, namespace: gw.Namespace, server: s})
		}
	}
	return out
}

func isTLS(s *networking.Server) bool {
	return model.ParseProtocol(s.GetPort().GetProtocol()) == model.HTTPS
}

// gatewayRouteName is Istio's: http.<port> for plain servers, https.<port>.<port name>.<gateway>.<ns>
// for each terminating server.
func gatewayRouteName(gs gatewayServer) string {
	port := portName(gs.server.GetPort().GetNumber())
	if !isTLS(gs.server) {
		return "http." + port
	}
	ns, name, _ := strings.Cut(gs.gateway, "/")
	return "https." + port + "." + gs.server.GetPort().GetName() + "." + name + "." + ns
}

// routerListeners binds 0.0.0.0:<port> for each server port: one filter chain for the plain servers and
// one per terminating server, chosen by SNI, its certificate fetched over SDS as kubernetes://<credential>.
func (g *generator) routerListeners(servers []gatewayServer) []*listenerv3.Listener {
	byPort := map[uint32][]gatewayServer{}
	for _, s := range servers {
		byPort[s.server.GetPort().GetNumber()] = append(byPort[s.server.GetPort().GetNumber()], s)
	}
	var out []*listenerv3.Listener
	for _, port := range slices.Sorted(mapsKeys(byPort)) {
		l := &listenerv3.Listener{
			Name:             "0.0.0.0_" + portName(port),
			Address:          socketAddress("0.0.0.0", port),
			TrafficDirection: corev3.TrafficDirection_OUTBOUND,
		}
		plain := false
		for _, s := range byPort[port] {
			if !isTLS(s.server) {
				if !plain {
					l.FilterChains = append(l.FilterChains, hcmChain(gatewayRouteName(s)))
					plain = true
				}
				continue
			}
			chain := hcmChain(gatewayRouteName(s))
			chain.FilterChainMatch = &listenerv3.FilterChainMatch{ServerNames: sniNames(s.server.GetHosts())}
			chain.TransportSocket = downstreamTLS(s.server.GetTls(), s.namespace)
			l.FilterChains = append(l.FilterChains, chain)
		}
		out = append(out, l)
	}
	return out
}

func hcmChain(routeName string) *listenerv3.FilterChain {
	hcm := httpConnectionManager(routeName, routeName, true)
	return &listenerv3.FilterChain{
		Filters: []*listenerv3.Filter{{Name: hcmFilter, ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: toAny(hcm)}}},
	}
}

// sniNames are the server hosts without namespace prefixes; "*" matches any SNI, so it yields none.
func sniNames(hosts []string) []string {
	var out []string
	for _, h := range hosts {
		h = gatewayHost(h)
		if h == "*" {
			return nil
		}
		out = append(out, h)
	}
	return out
}

// gatewayHost strips the optional "<namespace>/" from a server host.
func gatewayHost(h string) string {
	if _, host, ok := strings.Cut(h, "/"); ok {
		return host
	}
	return h
}

func downstreamTLS(t *networking.ServerTLSSettings, namespace string) *corev3.TransportSocket {
	sds := func(name string) *tlsv3.SdsSecretConfig {
		return &tlsv3.SdsSecretConfig{Name: name, SdsConfig: adsSource()}
	}
	credential := t.GetCredentialName()
	if credential == "" {
		credential = "default"
	}
	ctx := &tlsv3.DownstreamTlsContext{CommonTlsContext: &tlsv3.CommonTlsContext{
		TlsCertificateSdsSecretConfigs: []*tlsv3.SdsSecretConfig{sds("kubernetes://" + credential)},
		AlpnProtocols:                  []string{"h2", "http/1.1"},
	}}
	if t.GetMode() == networking.ServerTLSSettings_MUTUAL {
		ctx.RequireClientCertificate = boolTrue()
		ctx.CommonTlsContext.ValidationContextType = &tlsv3.CommonTlsContext_ValidationContextSdsSecretConfig{
			ValidationContextSdsSecretConfig: sds("kubernetes://" + credential + "-cacert"),
		}
	}
	return &corev3.TransportSocket{Name: "envoy.transport_sockets.tls", ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: toAny(ctx)}}
}

// routerRoutes builds one route configuration per listener filter chain. A VirtualService bound to the
// Gateway contributes a virtual host for each of its hosts that a server host covers; the first
// VirtualService (in precedence order) to claim a host wins.
func (g *generator) routerRoutes(servers []gatewayServer) []*routev3.RouteConfiguration {
	byName := map[string]*routev3.RouteConfiguration{}
	claimed := map[string]map[string]bool{} // route name -> hosts with a virtual host
	for _, s := range servers {
		name := gatewayRouteName(s)
		rc := byName[name]
		if rc == nil {
			rc = &routev3.RouteConfiguration{Name: name, ValidateClusters: boolFalse()}
			byName[name] = rc
			claimed[name] = map[string]bool{}
		}
		port := s.server.GetPort().GetNumber()
		for _, vs := range g.mesh.VirtualServices() {
			if !boundTo(vs.Spec.GetGateways(), vs.Namespace, s.gateway) {
				continue
			}
			for _, h := range vs.Spec.GetHosts() {
				host := model.ResolveHost(h, vs.Namespace, g.mesh.DomainSuffix())
				if claimed[name][host] || !serverCovers(s.server.GetHosts(), host) {
					continue
				}
				claimed[name][host] = true
				vh := &routev3.VirtualHost{
					Name:    host + ":" + portName(port),
					Domains: []string{host, host + ":" + portName(port)},
					Routes:  fromVirtualService(g.httpRoutes(&vs.Spec, routeContext{namespace: vs.Namespace, port: port, gateway: s.gateway}), vs.Namespace, vs.Name),
				}
				if s.server.GetTls().GetHttpsRedirect() && !isTLS(s.server) {
					vh.RequireTls = routev3.VirtualHost_ALL
				}
				rc.VirtualHosts = append(rc.VirtualHosts, vh)
			}
		}
	}
	var out []*routev3.RouteConfiguration
	for _, name := range slices.Sorted(mapsKeys(byName)) {
		rc := byName[name]
		rc.VirtualHosts = dedupeDomains(rc.VirtualHosts)
		out = append(out, rc)
	}
	return out
}

// serverCovers says whether any server host and the VirtualService host overlap (either may be a wildcard).
func serverCovers(serverHosts []string, host string) bool {
	for _, sh := range serverHosts {
		sh = gatewayHost(sh)
		if model.HostMatches(sh, host) || model.HostMatches(host, sh) {
			return true
		}
	}
	return false
}
