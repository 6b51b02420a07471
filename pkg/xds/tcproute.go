package xds

import (
	tcpproxyv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	networking "istio.io/api/networking/v1alpha3"

	"skiff.dev/skiff/pkg/model"
)

// tcpProxyFor routes a TCP service port: the first tcp rule of its VirtualService whose match applies
// (port, sourceLabels, sourceNamespace, gateways) picks one cluster or a weighted split; without one,
// the service's own cluster. Subnet matches are not supported and make a rule never apply.
func (g *generator) tcpProxyFor(svc *model.Service, port model.Port, statPrefix string) *tcpproxyv3.TcpProxy {
	tp := &tcpproxyv3.TcpProxy{StatPrefix: statPrefix, ClusterSpecifier: &tcpproxyv3.TcpProxy_Cluster{Cluster: ClusterName(port.Number, "", svc.Hostname)}}
	g.tcpTelemetry(tp, telemetryClient) // Telemetry access logs, see telemetry.go
	vs := g.virtualServiceFor(svc.Hostname)
	if vs == nil {
		return tp
	}
	rc := routeContext{namespace: vs.Namespace, port: port.Number, gateway: meshGateway}
	for _, r := range vs.Spec.GetTcp() {
		if !g.l4MatchApplies(r.GetMatch(), rc) {
			continue
		}
		if routed := g.tcpProxyTo(r.GetRoute(), rc); routed != nil { // gateway_l4.go; the stat prefix stays ours
			tp.ClusterSpecifier = routed.ClusterSpecifier
			return tp
		}
	}
	return tp
}

func (g *generator) l4MatchApplies(matches []*networking.L4MatchAttributes, rc routeContext) bool {
	if len(matches) == 0 {
		return true
	}
	for _, m := range matches {
		if len(m.GetDestinationSubnets()) > 0 || m.GetSourceSubnet() != "" {
			continue
		}
		if m.GetPort() != 0 && m.GetPort() != rc.port {
			continue
		}
		if !hasLabels(g.proxy.Labels, m.GetSourceLabels()) {
			continue
		}
		if ns := m.GetSourceNamespace(); ns != "" && ns != g.proxy.Namespace {
			continue
		}
		if gws := m.GetGateways(); len(gws) > 0 && !boundTo(gws, rc.namespace, rc.gateway) {
			continue
		}
		return true
	}
	return false
}
