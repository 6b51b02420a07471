package xds

import (
	"slices"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	networking "istio.io/api/networking/v1alpha3"

	"skiff.dev/skiff/pkg/model"
)

// gatewayServer is one server of a Gateway that selects this router, with the Gateway's "<ns>/<name>".
type gatewayServer struct {
	gateway   string
	namespace string
	server    *networking.Server
	kind      serverKind
	// tls terminates the server's connections; secrets are the SDS secrets it names (gateway_tls.go).
	tls     *corev3.TransportSocket
	secrets []*tlsv3.Secret
}

// gatewayServers lists the servers of the Gateways whose selector matches the router's labels: HTTP,
// HTTPS, TLS (terminated or passed through) and TCP. A server whose TLS cannot be set up (missing or
// malformed Secret) is skipped, not the Gateway; so is one whose port another kind of server took first.
func (g *generator) gatewayServers() []gatewayServer {
	var out []gatewayServer
	classes := map[uint32]portClass{} // the class of the first server on each port
	for _, gw := range g.mesh.Gateways() {
		if !hasLabels(g.proxy.Labels, gw.Spec.GetSelector()) {
			continue
		}
		for _, s := range gw.Spec.GetServers() {
			port := s.GetPort().GetNumber()
			if port == 0 || port > 65535 || len(s.GetHosts()) == 0 {
				continue
			}
			kind, ok := classifyServer(s)
			if !ok {
				continue
			}
			gs := gatewayServer{gateway: gw.Namespace + "/" + gw.Name, namespace: gw.Namespace, server: s, kind: kind}
			if terminates(kind, s.GetTls()) {
				var err error
				if gs.tls, gs.secrets, err = g.serverTLS(s, kind == serverHTTPS); err != nil {
					continue
				}
			}
			class := gs.portClass()
			if first, taken := classes[port]; taken && (first != class || class == portPlainTCP) {
				continue
			}
			classes[port] = class
			out = append(out, gs)
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

// routerListeners binds 0.0.0.0:<port> for each server port: one filter chain for the plain HTTP servers,
// one per terminating server chosen by SNI (certificate over SDS as kubernetes://<credential>), and the
// passthrough and TCP chains of gateway_l4.go. A port left without chains gets no listener.
func (g *generator) routerListeners(servers []gatewayServer) []*listenerv3.Listener {
	// RequestAuthentication's jwt_authn filter and AuthorizationPolicy's RBAC filters, computed once for
	// every HTTP connection manager of the router.
	authn := append(g.jwtAuthnFilters(), g.rbacHTTPFilters()...)
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
			if s.kind == serverHTTP {
				if !plain {
					l.FilterChains = append(l.FilterChains, g.gatewayHCMChain(gatewayRouteName(s), authn))
					plain = true
				}
				continue
			}
			l.FilterChains = append(l.FilterChains, g.serverChains(s, authn)...)
		}
		if finishRouterListener(l) {
			out = append(out, l)
		}
	}
	return out
}

// gatewayHCMChain serves a route configuration. authn runs first, as on Istio's gateways (before fault,
// CORS and the router); Telemetry adds access logs and tracing (telemetry.go).
func (g *generator) gatewayHCMChain(routeName string, authn []*hcmv3.HttpFilter) *listenerv3.FilterChain {
	hcm := httpConnectionManager(routeName, routeName, true)
	hcm.HttpFilters = append(slices.Clone(authn), hcm.HttpFilters...)
	g.httpTelemetry(hcm, telemetryClient)
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

// routerRoutes builds one route configuration per listener filter chain. A VirtualService bound to the
// Gateway contributes a virtual host for each of its hosts that a server host covers; the first
// VirtualService (in precedence order) to claim a host wins.
func (g *generator) routerRoutes(servers []gatewayServer) []*routev3.RouteConfiguration {
	byName := map[string]*routev3.RouteConfiguration{}
	claimed := map[string]map[string]bool{} // route name -> hosts with a virtual host
	for _, s := range servers {
		if !s.kind.isHTTP() {
			continue
		}
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
