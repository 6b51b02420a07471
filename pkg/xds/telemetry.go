package xds

import (
	accesslogv3 "github.com/envoyproxy/go-control-plane/envoy/config/accesslog/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tcpproxyv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	telemetryapi "istio.io/api/telemetry/v1alpha1"

	"skiff.dev/skiff/pkg/model"
)

// The Telemetry API (telemetry.istio.io Telemetry, with the mesh config's extensionProviders) on Envoy
// proxies: access logs on every HTTP connection manager and TCP proxy, tracing on every HTTP connection
// manager. model.Mesh resolves which Telemetry applies and merges it; this file turns the result into
// Envoy config (telemetry_accesslog.go, telemetry_tracing.go) and the collector clusters it needs
// (telemetry_cluster.go).
//
// Left out on purpose:
//   - Proxyless gRPC: grpc-go ignores access logs and tracing in its xDS listeners, so its listeners
//     (grpcListeners, inbound_grpc.go) get none.
//   - Metrics (metrics[] providers, overrides, disabled): they configure Istio's stats filter, a proxy
//     extension Skiff's Envoy does not have, and Envoy has no equivalent to rename, drop or re-tag its
//     own stats per listener; they are accepted and not applied.

// The modes of the call sites: sidecar outbound and gateway listeners are CLIENT, sidecar inbound SERVER.
const (
	telemetryClient = model.TelemetryClient
	telemetryServer = model.TelemetryServer
)

// modeTelemetry is what one listener class gets: CLIENT (outbound, gateway) or SERVER (inbound).
type modeTelemetry struct {
	accessLogs []*accesslogv3.AccessLog
	tracing    *hcmv3.HttpConnectionManager_Tracing
	requestID  *hcmv3.RequestIDExtension
}

func (t *modeTelemetry) empty() bool {
	return len(t.accessLogs) == 0 && t.tracing == nil && t.requestID == nil
}

// proxyTelemetry is the Telemetry of one proxy, computed once per Generate.
type proxyTelemetry struct {
	client, server modeTelemetry
	// collectors are the clusters the access loggers and tracers send to, by name.
	collectors map[string]collector
}

// telemetry computes the proxy's telemetry on first use.
func (g *generator) telemetry() *proxyTelemetry {
	if g.tel != nil {
		return g.tel
	}
	t := &proxyTelemetry{collectors: map[string]collector{}}
	g.tel = t
	if g.proxy.Type == model.ProxylessGRPC {
		return t
	}
	for _, m := range []struct {
		mode telemetryapi.WorkloadMode
		dst  *modeTelemetry
	}{{telemetryClient, &t.client}, {telemetryServer, &t.server}} {
		m.dst.accessLogs = g.accessLogs(m.mode)
		m.dst.tracing, m.dst.requestID = g.tracing(m.mode, t.collectors)
	}
	return t
}

func (g *generator) modeTelemetry(mode telemetryapi.WorkloadMode) *modeTelemetry {
	if mode == telemetryServer {
		return &g.telemetry().server
	}
	return &g.telemetry().client
}

// httpTelemetry sets an HTTP connection manager's access logs and tracing for its listener's mode. It
// replaces rather than appends, so applying it twice is harmless.
func (g *generator) httpTelemetry(hcm *hcmv3.HttpConnectionManager, mode telemetryapi.WorkloadMode) {
	t := g.modeTelemetry(mode)
	if t.empty() {
		return
	}
	hcm.AccessLog = t.accessLogs
	hcm.Tracing = t.tracing
	if t.requestID != nil {
		hcm.RequestIdExtension = t.requestID
	}
}

// tcpTelemetry sets a TCP proxy's access logs (tracing is HTTP only).
func (g *generator) tcpTelemetry(tp *tcpproxyv3.TcpProxy, mode telemetryapi.WorkloadMode) {
	if t := g.modeTelemetry(mode); len(t.accessLogs) > 0 {
		tp.AccessLog = t.accessLogs
	}
}

// tcpTelemetryChain is tcpProxyChain with the mode's access logs.
func (g *generator) tcpTelemetryChain(statPrefix, cluster string, mode telemetryapi.WorkloadMode) *listenerv3.FilterChain {
	tp := &tcpproxyv3.TcpProxy{StatPrefix: statPrefix, ClusterSpecifier: &tcpproxyv3.TcpProxy_Cluster{Cluster: cluster}}
	g.tcpTelemetry(tp, mode)
	return tcpProxyFilterChain(tp)
}

// listenerTelemetry applies telemetry to every HTTP connection manager and TCP proxy of a listener whose
// filters were already packed (inbound listeners, built by code that has no generator at hand). It costs an unpack and repack per filter, so only when the mode has telemetry at all.
func (g *generator) listenerTelemetry(l *listenerv3.Listener, mode telemetryapi.WorkloadMode) {
	if g.modeTelemetry(mode).empty() {
		return
	}
	for _, fc := range l.GetFilterChains() {
		for _, f := range fc.GetFilters() {
			tc := f.GetTypedConfig()
			if tc == nil {
				continue
			}
			switch f.GetName() {
			case hcmFilter:
				hcm := &hcmv3.HttpConnectionManager{}
				if tc.UnmarshalTo(hcm) == nil {
					g.httpTelemetry(hcm, mode)
					f.ConfigType = &listenerv3.Filter_TypedConfig{TypedConfig: toAny(hcm)}
				}
			case tcpProxyFilter:
				tp := &tcpproxyv3.TcpProxy{}
				if tc.UnmarshalTo(tp) == nil {
					g.tcpTelemetry(tp, mode)
					f.ConfigType = &listenerv3.Filter_TypedConfig{TypedConfig: toAny(tp)}
				}
			}
		}
	}
}
