package xds

import (
	"slices"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	corsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/cors/v3"
	faultv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/fault/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tcpproxyv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// sidecarListeners builds Istio's outbound layout: virtualOutbound on 15001 takes the redirected traffic
// and hands it to the listener for its original destination port; 0.0.0.0_<port> listeners route HTTP by
// the route configuration named <port>; TCP services get <vip>_<port> listeners that proxy to the cluster.
func (g *generator) sidecarListeners() []*listenerv3.Listener {
	httpPorts := map[uint32]bool{}
	var out []*listenerv3.Listener
	for _, svc := range g.visibleServices() {
		for _, port := range svc.Ports {
			if port.Protocol.IsHTTP() {
				httpPorts[port.Number] = true
				continue
			}
			if svc.Address != "" {
				out = append(out, tcpListener(svc.Address, port.Number, g.tcpProxyFor(svc, port, "outbound|"+portName(port.Number)+"||"+svc.Hostname)))
			}
		}
	}
	for _, port := range slices.Sorted(mapsKeys(httpPorts)) {
		hcm := httpConnectionManager("outbound_0.0.0.0_"+portName(port), portName(port), true)
		g.httpTelemetry(hcm, telemetryClient) // Telemetry access logs and tracing, see telemetry.go
		out = append(out, &listenerv3.Listener{
			Name:             "0.0.0.0_" + portName(port),
			Address:          socketAddress("0.0.0.0", port),
			TrafficDirection: corev3.TrafficDirection_OUTBOUND,
			BindToPort:       wrapperspb.Bool(false),
			FilterChains: []*listenerv3.FilterChain{{
				Filters: []*listenerv3.Filter{{Name: hcmFilter, ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: toAny(hcm)}}},
			}},
		})
	}
	out = append(out, &listenerv3.Listener{
		Name:             virtualOutbound,
		Address:          socketAddress("0.0.0.0", virtualOutboundPort),
		TrafficDirection: corev3.TrafficDirection_OUTBOUND,
		UseOriginalDst:   wrapperspb.Bool(true),
		FilterChains:     []*listenerv3.FilterChain{g.tcpTelemetryChain("PassthroughCluster", passthroughCluster, telemetryClient)},
	})
	sortByName(out, (*listenerv3.Listener).GetName)
	return out
}

func tcpListener(addr string, port uint32, tp *tcpproxyv3.TcpProxy) *listenerv3.Listener {
	return &listenerv3.Listener{
		Name:             addr + "_" + portName(port),
		Address:          socketAddress(addr, port),
		TrafficDirection: corev3.TrafficDirection_OUTBOUND,
		BindToPort:       wrapperspb.Bool(false),
		FilterChains:     []*listenerv3.FilterChain{tcpProxyFilterChain(tp)},
	}
}

func tcpProxyChain(statPrefix, cluster string) *listenerv3.FilterChain {
	return tcpProxyFilterChain(&tcpproxyv3.TcpProxy{StatPrefix: statPrefix, ClusterSpecifier: &tcpproxyv3.TcpProxy_Cluster{Cluster: cluster}})
}

func tcpProxyFilterChain(tp *tcpproxyv3.TcpProxy) *listenerv3.FilterChain {
	return &listenerv3.FilterChain{
		Filters: []*listenerv3.Filter{{Name: tcpProxyFilter, ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: toAny(tp)}}},
	}
}

// grpcListeners builds, for proxyless gRPC, one API listener per service port named host:port (the
// xds:/// target) and one route configuration of the same name holding that service's virtual host.
func (g *generator) grpcListeners() ([]*listenerv3.Listener, []*routev3.RouteConfiguration) {
	var listeners []*listenerv3.Listener
	var routes []*routev3.RouteConfiguration
	for _, svc := range g.visibleServices() {
		for _, port := range svc.Ports {
			if !port.Protocol.IsHTTP() {
				continue
			}
			name := HostPort(svc.Hostname, port.Number)
			hcm := httpConnectionManager(name, name, false)
			listeners = append(listeners, &listenerv3.Listener{
				Name:        name,
				ApiListener: &listenerv3.ApiListener{ApiListener: toAny(hcm)},
			})
			vh := g.sharedVirtualHost(svc, port)
			routes = append(routes, &routev3.RouteConfiguration{Name: name, VirtualHosts: []*routev3.VirtualHost{vh}})
		}
	}
	return listeners, routes
}

// httpConnectionManager fetches its routes over ADS. The fault filter comes first so injected faults skip
// the upstream; CORS is only for Envoy (gRPC has no CORS filter); the router must be last.
func httpConnectionManager(statPrefix, routeConfig string, withCORS bool) *hcmv3.HttpConnectionManager {
	filters := []*hcmv3.HttpFilter{{Name: faultFilter, ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: toAny(&faultv3.HTTPFault{})}}}
	if withCORS {
		filters = append(filters, &hcmv3.HttpFilter{Name: corsFilter, ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: toAny(&corsv3.Cors{})}})
	}
	filters = append(filters, &hcmv3.HttpFilter{Name: routerFilter, ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: toAny(&routerv3.Router{})}})
	return &hcmv3.HttpConnectionManager{
		StatPrefix: statPrefix,
		RouteSpecifier: &hcmv3.HttpConnectionManager_Rds{Rds: &hcmv3.Rds{
			ConfigSource:    adsSource(),
			RouteConfigName: routeConfig,
		}},
		HttpFilters: filters,
	}
}
