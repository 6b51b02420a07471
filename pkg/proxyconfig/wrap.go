package proxyconfig

import (
	adminv3 "github.com/envoyproxy/go-control-plane/envoy/admin/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"skiff.dev/skiff/pkg/xds"
)

// translatedVersion is the version_info of translated resources; a live proxy shows the control plane's.
const translatedVersion = "translated"

// FromResources wraps a proxy's generated resources into the ConfigDump a proxy holding exactly them
// would serve at /config_dump?include_eds, sections in Envoy's order. The secrets section holds what the
// control plane serves (a gateway's credentialName Secrets), private keys redacted as Envoy does; the
// mesh certificates come from the node agent, not from translation.
func FromResources(res *xds.Resources) (*adminv3.ConfigDump, error) {
	clusters := &adminv3.ClustersConfigDump{VersionInfo: translatedVersion}
	for _, c := range res.Clusters {
		clusters.DynamicActiveClusters = append(clusters.DynamicActiveClusters, &adminv3.ClustersConfigDump_DynamicCluster{
			VersionInfo: translatedVersion, Cluster: mustAny(c),
		})
	}
	listeners := &adminv3.ListenersConfigDump{VersionInfo: translatedVersion}
	for _, l := range res.Listeners {
		listeners.DynamicListeners = append(listeners.DynamicListeners, &adminv3.ListenersConfigDump_DynamicListener{
			Name:        l.GetName(),
			ActiveState: &adminv3.ListenersConfigDump_DynamicListenerState{VersionInfo: translatedVersion, Listener: mustAny(l)},
		})
	}
	routes := &adminv3.RoutesConfigDump{}
	for _, r := range res.Routes {
		routes.DynamicRouteConfigs = append(routes.DynamicRouteConfigs, &adminv3.RoutesConfigDump_DynamicRouteConfig{
			VersionInfo: translatedVersion, RouteConfig: mustAny(r),
		})
	}
	endpoints := &adminv3.EndpointsConfigDump{}
	for _, e := range res.Endpoints {
		endpoints.DynamicEndpointConfigs = append(endpoints.DynamicEndpointConfigs, &adminv3.EndpointsConfigDump_DynamicEndpointConfig{
			VersionInfo: translatedVersion, EndpointConfig: mustAny(e),
		})
	}
	secrets := &adminv3.SecretsConfigDump{}
	for _, s := range res.Secrets {
		secrets.DynamicActiveSecrets = append(secrets.DynamicActiveSecrets, &adminv3.SecretsConfigDump_DynamicSecret{
			Name: s.GetName(), VersionInfo: translatedVersion, Secret: mustAny(xds.Redact(s)),
		})
	}
	dump := &adminv3.ConfigDump{}
	for _, section := range []proto.Message{clusters, listeners, routes, secrets, endpoints} {
		a, err := anypb.New(section)
		if err != nil {
			return nil, err
		}
		dump.Configs = append(dump.Configs, a)
	}
	return dump, nil
}

// mustAny packs a generated resource; marshalling a well-formed generated message does not fail, and an
// empty Any would show up as an unnamed row rather than crash.
func mustAny(m proto.Message) *anypb.Any {
	a, err := anypb.New(m)
	if err != nil {
		return &anypb.Any{}
	}
	return a
}
