package xds

import (
	"slices"
	"strings"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/proto"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"

	"skiff.dev/skiff/pkg/model"
)

const meshGateway = "mesh"

// sidecarRoutes builds one route configuration per HTTP port, named by the port, with a virtual host per
// service on that port and a catch-all that passes unknown hosts through (Istio's ALLOW_ANY default).
func (g *generator) sidecarRoutes() []*routev3.RouteConfiguration {
	byPort := map[uint32][]*routev3.VirtualHost{}
	for _, svc := range g.visibleServices() {
		for _, port := range svc.Ports {
			if port.Protocol.IsHTTP() {
				byPort[port.Number] = append(byPort[port.Number], g.sharedVirtualHost(svc, port))
			}
		}
	}
	var out []*routev3.RouteConfiguration
	for _, port := range slices.Sorted(mapsKeys(byPort)) {
		vhosts := append(byPort[port], &routev3.VirtualHost{
			Name:    "allow_any",
			Domains: []string{"*"},
			Routes: []*routev3.Route{{
				Name:   "allow_any",
				Match:  &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
				Action: &routev3.Route_Route{Route: &routev3.RouteAction{ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: passthroughCluster}}},
			}},
		})
		out = append(out, &routev3.RouteConfiguration{Name: portName(port), VirtualHosts: dedupeDomains(vhosts), ValidateClusters: boolFalse()})
	}
	return out
}

// virtualHost routes one service port: the VirtualService bound to the host if there is one, else a
// default route to the service's cluster.
func (g *generator) virtualHost(svc *model.Service, port model.Port) *routev3.VirtualHost {
	vh := &routev3.VirtualHost{Name: HostPort(svc.Hostname, port.Number), Domains: g.domains(svc, port)}
	if vs := g.virtualServiceFor(svc.Hostname); vs != nil {
		vh.Routes = fromVirtualService(g.httpRoutes(&vs.Spec, routeContext{namespace: vs.Namespace, port: port.Number, gateway: meshGateway}), vs.Namespace, vs.Name)
		return vh
	}
	vh.Routes = []*routev3.Route{{
		Name:  "default",
		Match: &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
		Action: &routev3.Route_Route{Route: &routev3.RouteAction{
			ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: ClusterName(port.Number, "", svc.Hostname)},
			Timeout:          durationZero(),
			RetryPolicy:      retryPolicy(nil),
			HashPolicy:       hashPolicyFor(policyFor(g.mesh.DestinationRuleFor(svc.Hostname, g.proxy.Namespace), "", port.Number).loadBalancer.GetConsistentHash()),
		}},
	}}
	return vh
}

// virtualServiceFor picks the VirtualService for a host on the mesh: an exact host beats a wildcard, and
// among equals the oldest wins (Istio's precedence). VirtualServices bound only to gateways, or not
// exported to the proxy's namespace, are skipped.
func (g *generator) virtualServiceFor(hostname string) *networkingv1.VirtualService {
	for _, vs := range g.mesh.VirtualServicesFor(hostname) {
		if !model.Visible(vs.Spec.GetExportTo(), vs.Namespace, g.proxy.Namespace) {
			continue
		}
		if gws := vs.Spec.GetGateways(); len(gws) == 0 || boundTo(gws, vs.Namespace, meshGateway) {
			return vs
		}
	}
	return nil
}

// domains are the names a client may use for the service: the FQDN, the short forms valid from the
// proxy's namespace, and the VIP, each with and without the port.
func (g *generator) domains(svc *model.Service, port model.Port) []string {
	names := []string{svc.Hostname}
	suffix := ".svc." + g.mesh.DomainSuffix()
	if short, ok := strings.CutSuffix(svc.Hostname, suffix); ok {
		names = append(names, short+".svc", short)
		if svc.Namespace == g.proxy.Namespace {
			names = append(names, svc.Name)
		}
	}
	if svc.Address != "" {
		names = append(names, svc.Address)
	}
	out := make([]string, 0, 2*len(names))
	for _, n := range names {
		out = append(out, n, n+":"+portName(port.Number))
	}
	return out
}

// dedupeDomains drops domains an earlier virtual host already claims: Envoy rejects a route
// configuration in which two virtual hosts share a domain. The virtual hosts may be shared through a
// GenerateCache, so one that loses domains is copied, never changed.
func dedupeDomains(vhosts []*routev3.VirtualHost) []*routev3.VirtualHost {
	seen := map[string]bool{}
	out := vhosts[:0]
	for _, vh := range vhosts {
		var kept []string // nil while vh loses none
		for i, d := range vh.Domains {
			if seen[d] {
				if kept == nil {
					kept = append(make([]string, 0, len(vh.Domains)), vh.Domains[:i]...)
				}
				continue
			}
			seen[d] = true
			if kept != nil {
				kept = append(kept, d)
			}
		}
		if kept != nil {
			if len(kept) == 0 {
				continue
			}
			vh = proto.Clone(vh).(*routev3.VirtualHost)
			vh.Domains = kept
		}
		if len(vh.Domains) > 0 {
			out = append(out, vh)
		}
	}
	return out
}
