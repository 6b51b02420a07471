package proxyconfig

import (
	adminv3 "github.com/envoyproxy/go-control-plane/envoy/admin/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// sections are the resources of a dump, static and dynamic alike, in the dump's order.
type sections struct {
	clusters  []*clusterv3.Cluster
	listeners []*listenerv3.Listener
	routes    []*routev3.RouteConfiguration
	endpoints []*endpointv3.ClusterLoadAssignment
	secrets   []secret
}

// secret is an SDS secret with the state Envoy reports for it.
type secret struct {
	name   string
	status string // ACTIVE or WARMING
	secret *tlsv3.Secret
}

// extract unpacks the typed sections of a dump; payloads that do not unpack (an empty Any, a type from
// another Envoy version) are skipped rather than failing the whole view.
func extract(dump *adminv3.ConfigDump) sections {
	var s sections
	for _, a := range dump.GetConfigs() {
		m, err := a.UnmarshalNew()
		if err != nil {
			continue
		}
		switch d := m.(type) {
		case *adminv3.ClustersConfigDump:
			for _, c := range d.GetStaticClusters() {
				addAs(&s.clusters, c.GetCluster())
			}
			for _, c := range d.GetDynamicActiveClusters() {
				addAs(&s.clusters, c.GetCluster())
			}
		case *adminv3.ListenersConfigDump:
			for _, l := range d.GetStaticListeners() {
				addAs(&s.listeners, l.GetListener())
			}
			for _, l := range d.GetDynamicListeners() {
				addAs(&s.listeners, l.GetActiveState().GetListener())
			}
		case *adminv3.RoutesConfigDump:
			for _, r := range d.GetStaticRouteConfigs() {
				addAs(&s.routes, r.GetRouteConfig())
			}
			for _, r := range d.GetDynamicRouteConfigs() {
				addAs(&s.routes, r.GetRouteConfig())
			}
		case *adminv3.EndpointsConfigDump:
			for _, e := range d.GetStaticEndpointConfigs() {
				addAs(&s.endpoints, e.GetEndpointConfig())
			}
			for _, e := range d.GetDynamicEndpointConfigs() {
				addAs(&s.endpoints, e.GetEndpointConfig())
			}
		case *adminv3.SecretsConfigDump:
			for _, sec := range d.GetStaticSecrets() {
				s.addSecret(sec.GetName(), "ACTIVE", sec.GetSecret())
			}
			for _, sec := range d.GetDynamicActiveSecrets() {
				s.addSecret(sec.GetName(), "ACTIVE", sec.GetSecret())
			}
			for _, sec := range d.GetDynamicWarmingSecrets() {
				s.addSecret(sec.GetName(), "WARMING", sec.GetSecret())
			}
		}
	}
	s.routes = append(s.routes, inlineRoutes(s.listeners)...)
	return s
}

// inlineRoutes are the route configurations listeners carry in their HTTP connection managers (Istio's
// inbound ones); istioctl lists them with the RDS ones.
func inlineRoutes(listeners []*listenerv3.Listener) []*routev3.RouteConfiguration {
	var out []*routev3.RouteConfiguration
	seen := map[string]bool{}
	for _, l := range listeners {
		for _, fc := range l.GetFilterChains() {
			for _, f := range fc.GetFilters() {
				m, err := f.GetTypedConfig().UnmarshalNew()
				if err != nil {
					continue
				}
				if hcm, ok := m.(*hcmv3.HttpConnectionManager); ok && hcm.GetRouteConfig() != nil && !seen[hcm.GetRouteConfig().GetName()] {
					seen[hcm.GetRouteConfig().GetName()] = true
					out = append(out, hcm.GetRouteConfig())
				}
			}
		}
	}
	return out
}

func (s *sections) addSecret(name, status string, a *anypb.Any) {
	sec := &tlsv3.Secret{}
	if a == nil || a.UnmarshalTo(sec) != nil {
		sec = &tlsv3.Secret{Name: name}
	}
	s.secrets = append(s.secrets, secret{name: name, status: status, secret: sec})
}

// addAs unpacks a into a new T and appends it when it is one.
func addAs[T proto.Message](list *[]T, a *anypb.Any) {
	if a == nil {
		return
	}
	m, err := a.UnmarshalNew()
	if err != nil {
		return
	}
	if t, ok := m.(T); ok {
		*list = append(*list, t)
	}
}
