package xds

import (
	"errors"
	"fmt"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	networking "istio.io/api/networking/v1alpha3"

	"skiff.dev/skiff/pkg/model"
)

// Resources is the complete configuration for one proxy, each list sorted by name.
type Resources struct {
	Listeners []*listenerv3.Listener
	Routes    []*routev3.RouteConfiguration
	Clusters  []*clusterv3.Cluster
	Endpoints []*endpointv3.ClusterLoadAssignment
	// Secrets are the Kubernetes Secrets a router's Gateway servers name in credentialName, served over
	// ADS as kubernetes://<name>; never set for sidecars. They hold private keys: dump them redacted.
	Secrets []*tlsv3.Secret
}

// Generate computes the resources proxy p needs from mesh m. It is pure: the same inputs give the same
// resources, and it never modifies m.
func Generate(m *model.Mesh, p *model.Proxy) *Resources {
	return generate(m, p, nil)
}

// generate is Generate, sharing outbound resources through cache when it is not nil.
func generate(m *model.Mesh, p *model.Proxy, cache *GenerateCache) *Resources {
	g := &generator{mesh: m, proxy: p, cache: cache}
	if p.Type == model.Sidecar {
		g.scope = m.SidecarScope(p.Namespace, p.Labels)
	}
	r := &Resources{}
	r.Clusters, r.Endpoints = g.clusters()
	switch p.Type {
	case model.ProxylessGRPC:
		r.Listeners, r.Routes = g.grpcListeners()
		r.Listeners = append(r.Listeners, g.grpcInboundListeners()...)
		sortByName(r.Listeners, (*listenerv3.Listener).GetName)
	case model.Router:
		servers := g.gatewayServers()
		r.Listeners = g.routerListeners(servers)
		r.Routes = g.routerRoutes(servers)
		r.Secrets = gatewaySecrets(servers, r.Listeners)
	default:
		r.Listeners = g.sidecarListeners()
		r.Routes = g.sharedSidecarRoutes()
		inbound := g.inboundPorts()
		r.Clusters = append(r.Clusters, g.inboundClusters(inbound)...)
		r.Listeners = append(r.Listeners, g.virtualInboundListener(inbound))
		sortByName(r.Clusters, (*clusterv3.Cluster).GetName)
		sortByName(r.Listeners, (*listenerv3.Listener).GetName)
	}
	r.Clusters = g.withTelemetryClusters(r.Clusters) // trace collectors outside the proxy's clusters
	return r
}

// Validate runs every resource's protoc-gen-validate rules and reports all failures.
func (r *Resources) Validate() error {
	var all []error
	type validator interface {
		ValidateAll() error
		GetName() string
	}
	check := func(kind string, v validator) {
		if err := v.ValidateAll(); err != nil {
			all = append(all, fmt.Errorf("%s %q: %w", kind, v.GetName(), err))
		}
	}
	for _, l := range r.Listeners {
		check("listener", l)
	}
	for _, rc := range r.Routes {
		check("route configuration", rc)
	}
	for _, c := range r.Clusters {
		check("cluster", c)
	}
	for _, s := range r.Secrets {
		check("secret", s)
	}
	for _, e := range r.Endpoints {
		if err := e.ValidateAll(); err != nil {
			all = append(all, fmt.Errorf("cluster load assignment %q: %w", e.GetClusterName(), err))
		}
	}
	return errors.Join(all...)
}

// generator carries the inputs through one Generate call.
type generator struct {
	mesh  *model.Mesh
	proxy *model.Proxy
	// scope is the Sidecar resource limiting what a sidecar imports; nil imports everything.
	scope *networking.Sidecar
	// tel is the proxy's Telemetry, computed on first use (see telemetry.go).
	tel *proxyTelemetry
	// cache shares outbound resources between proxies; nil builds everything (generate_cache.go).
	cache *GenerateCache
	// labelsRead is set when a route's translation depended on the proxy's labels (sourceLabels), which
	// keeps it out of the cache.
	labelsRead bool
}

// visibleServices are the services exported to this proxy's namespace and imported by its Sidecar
// resource. Proxyless gRPC clients cannot use DNS or passthrough clusters, so they only see services
// whose endpoints the control plane lists.
func (g *generator) visibleServices() []*model.Service {
	var out []*model.Service
	for _, s := range g.mesh.Services() {
		if !model.Visible(s.ExportTo, s.Namespace, g.proxy.Namespace) || !model.Imports(g.scope, s.Namespace, s.Hostname, g.proxy.Namespace) {
			continue
		}
		if g.proxy.Type == model.ProxylessGRPC && s.Resolution != model.ResolutionEDS {
			continue
		}
		out = append(out, s)
	}
	return out
}
