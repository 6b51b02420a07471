package xds

import (
	"slices"

	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	tlsinspectorv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/listener/tls_inspector/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tcpproxyv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	"google.golang.org/protobuf/proto"
	networking "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"

	"skiff.dev/skiff/pkg/model"
)

const tlsInspectorFilter = "envoy.filters.listener.tls_inspector"

// serverChains are the filter chains of one non-plain-HTTP server; authn is as for gatewayHCMChain.
func (g *generator) serverChains(gs gatewayServer, authn []*hcmv3.HttpFilter) []*listenerv3.FilterChain {
	switch gs.kind {
	case serverHTTPS:
		chain := g.gatewayHCMChain(gatewayRouteName(gs), authn)
		chain.FilterChainMatch = &listenerv3.FilterChainMatch{ServerNames: sniNames(gs.server.GetHosts())}
		chain.TransportSocket = gs.tls
		return []*listenerv3.FilterChain{chain}
	case serverPassthrough:
		return g.passthroughChains(gs)
	case serverTCP:
		if chain := g.tcpServerChain(gs); chain != nil {
			return []*listenerv3.FilterChain{chain}
		}
	}
	return nil
}

// boundVirtualServices are the VirtualServices bound to the server's Gateway with a host the server covers,
// in precedence order.
func (g *generator) boundVirtualServices(gs gatewayServer) []*networkingv1.VirtualService {
	var out []*networkingv1.VirtualService
	for _, vs := range g.mesh.VirtualServices() {
		if !boundTo(vs.Spec.GetGateways(), vs.Namespace, gs.gateway) {
			continue
		}
		for _, h := range vs.Spec.GetHosts() {
			if serverCovers(gs.server.GetHosts(), model.ResolveHost(h, vs.Namespace, g.mesh.DomainSuffix())) {
				out = append(out, vs)
				break
			}
		}
	}
	return out
}

// passthroughChains forwards TLS untouched: each match of a bound VirtualService's tls rules becomes a
// chain selected by its SNI hosts (those the server's hosts cover), proxying to the rule's destinations.
// A later rule never takes an SNI name an earlier one has (see dedupeChains).
func (g *generator) passthroughChains(gs gatewayServer) []*listenerv3.FilterChain {
	port := gs.server.GetPort().GetNumber()
	var out []*listenerv3.FilterChain
	for _, vs := range g.boundVirtualServices(gs) {
		rc := routeContext{namespace: vs.Namespace, port: port, gateway: gs.gateway}
		for _, r := range vs.Spec.GetTls() {
			for _, m := range r.GetMatch() {
				if !g.tlsMatchApplies(m, rc) {
					continue
				}
				snis := serverSNIs(m.GetSniHosts(), gs.server.GetHosts())
				if len(snis) == 0 {
					continue
				}
				tp := g.tcpProxyTo(r.GetRoute(), rc)
				if tp == nil {
					continue
				}
				g.tcpTelemetry(tp, telemetryClient)
				chain := tcpProxyFilterChain(tp)
				chain.FilterChainMatch = &listenerv3.FilterChainMatch{ServerNames: snis}
				out = append(out, chain)
			}
		}
	}
	return out
}

// tcpServerChain proxies a TCP server (TLS terminated first for TLS servers) by the first tcp rule of a
// bound VirtualService whose match applies, as Istio does; without one the server has no chain.
func (g *generator) tcpServerChain(gs gatewayServer) *listenerv3.FilterChain {
	port := gs.server.GetPort().GetNumber()
	for _, vs := range g.boundVirtualServices(gs) {
		rc := routeContext{namespace: vs.Namespace, port: port, gateway: gs.gateway}
		for _, r := range vs.Spec.GetTcp() {
			if !g.l4MatchApplies(r.GetMatch(), rc) {
				continue
			}
			tp := g.tcpProxyTo(r.GetRoute(), rc)
			if tp == nil {
				continue
			}
			g.tcpTelemetry(tp, telemetryClient)
			chain := tcpProxyFilterChain(tp)
			if gs.tls != nil {
				chain.FilterChainMatch = &listenerv3.FilterChainMatch{ServerNames: sniNames(gs.server.GetHosts())}
				chain.TransportSocket = gs.tls
			}
			return chain
		}
	}
	return nil
}

// tcpProxyTo proxies to one destination or a weighted split (zero weights dropped, even split if all are
// zero); nil when no destination has a host. The stat prefix is the cluster, or the listener for a split.
func (g *generator) tcpProxyTo(routes []*networking.RouteDestination, rc routeContext) *tcpproxyv3.TcpProxy {
	var targets []weightedTarget
	for _, d := range routes {
		if d.GetDestination().GetHost() != "" {
			targets = append(targets, weightedTarget{cluster: g.destinationCluster(d.GetDestination(), rc), weight: d.GetWeight()})
		}
	}
	switch len(targets) {
	case 0:
		return nil
	case 1:
		return &tcpproxyv3.TcpProxy{StatPrefix: targets[0].cluster, ClusterSpecifier: &tcpproxyv3.TcpProxy_Cluster{Cluster: targets[0].cluster}}
	}
	wc := &tcpproxyv3.TcpProxy_WeightedCluster{}
	for _, c := range weightedClusters(targets).GetClusters() {
		wc.Clusters = append(wc.Clusters, &tcpproxyv3.TcpProxy_WeightedCluster_ClusterWeight{Name: c.GetName(), Weight: c.GetWeight().GetValue()})
	}
	return &tcpproxyv3.TcpProxy{StatPrefix: "0.0.0.0_" + portName(rc.port), ClusterSpecifier: &tcpproxyv3.TcpProxy_WeightedClusters{WeightedClusters: wc}}
}

// tlsMatchApplies is l4MatchApplies for tls rules; subnet matches are not supported and never apply.
func (g *generator) tlsMatchApplies(m *networking.TLSMatchAttributes, rc routeContext) bool {
	if len(m.GetDestinationSubnets()) > 0 {
		return false
	}
	return g.l4MatchApplies([]*networking.L4MatchAttributes{{
		Port: m.GetPort(), SourceLabels: m.GetSourceLabels(), Gateways: m.GetGateways(), SourceNamespace: m.GetSourceNamespace(),
	}}, rc)
}

// serverSNIs intersects a rule's SNI hosts with the server's hosts, keeping the more specific of each
// overlapping pair, without duplicates.
func serverSNIs(sniHosts, serverHosts []string) []string {
	var out []string
	add := func(h string) {
		if h != "*" && !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	for _, sni := range sniHosts {
		for _, sh := range serverHosts {
			sh = gatewayHost(sh)
			switch {
			case model.HostMatches(sh, sni):
				add(sni)
			case model.HostMatches(sni, sh):
				add(sh)
			}
		}
	}
	return out
}

// finishRouterListener makes a router listener one Envoy accepts: filter chains whose match repeats an
// earlier one are dropped (the first server or rule wins, as in Istio), SNI matching gets the TLS
// inspector it needs. It reports false when no chain is left.
func finishRouterListener(l *listenerv3.Listener) bool {
	l.FilterChains = dedupeChains(l.FilterChains)
	for _, c := range l.FilterChains {
		if len(c.GetFilterChainMatch().GetServerNames()) > 0 || c.GetTransportSocket() != nil {
			l.ListenerFilters = []*listenerv3.ListenerFilter{{Name: tlsInspectorFilter, ConfigType: &listenerv3.ListenerFilter_TypedConfig{TypedConfig: toAny(&tlsinspectorv3.TlsInspector{})}}}
			break
		}
	}
	return len(l.FilterChains) > 0
}

// dedupeChains removes SNI names claimed by an earlier chain, and chains left with nothing to match or
// matching everything a second time: Envoy rejects a listener with two chains for the same connection.
func dedupeChains(chains []*listenerv3.FilterChain) []*listenerv3.FilterChain {
	claimed := map[string]bool{}
	catchAll := false
	var out []*listenerv3.FilterChain
	for _, c := range chains {
		names := c.GetFilterChainMatch().GetServerNames()
		if len(names) == 0 {
			if catchAll {
				continue
			}
			catchAll = true
			out = append(out, c)
			continue
		}
		var kept []string
		for _, n := range names {
			if !claimed[n] {
				claimed[n] = true
				kept = append(kept, n)
			}
		}
		if len(kept) == 0 {
			continue
		}
		if len(kept) < len(names) {
			c = proto.CloneOf(c)
			c.FilterChainMatch.ServerNames = kept
		}
		out = append(out, c)
	}
	return out
}
