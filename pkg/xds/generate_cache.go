package xds

import (
	"crypto/sha256"
	"slices"
	"sync"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	networking "istio.io/api/networking/v1alpha3"

	"skiff.dev/skiff/pkg/model"
)

// GenerateCache shares the outbound resources proxies of one mesh have in common: every proxy class
// would otherwise rebuild the same clusters, load assignments, virtual hosts and sidecar route
// configurations. Each entry is keyed by everything its generation reads, so GenerateCache.Generate
// gives what Generate gives. Listeners, inbound clusters, gateway routes and the clusters JWKS and
// telemetry add are built per proxy as before. The resources it returns are shared between proxies and
// must not be modified. Safe for concurrent use.
type GenerateCache struct {
	mesh     *model.Mesh
	clusters memo[clusterKey, sharedCluster]
	vhosts   memo[vhostKey, *routev3.VirtualHost]
	routes   memo[routesKey, []*routev3.RouteConfiguration]

	sharedMu sync.Mutex
	// shared holds every resource handed out from the cache, for encoders to marshal each once.
	shared map[any]bool
	// vhostByContent finds equal virtual hosts cached under other keys (sameVirtualHost).
	vhostByContent map[[sha256.Size]byte]*routev3.VirtualHost
}

// NewGenerateCache returns an empty cache for mesh m, which must not change while the cache is in use.
func NewGenerateCache(m *model.Mesh) *GenerateCache {
	return &GenerateCache{mesh: m}
}

// Generate is Generate(mesh, p), sharing the outbound parts with the other proxies generated through c.
func (c *GenerateCache) Generate(p *model.Proxy) *Resources {
	return generate(c.mesh, p, c)
}

// clusterKey is what g.cluster reads besides the mesh: the proxy type (gRPC clients get other load
// balancers and TLS), the service port, and the DestinationRule (picked by the proxy's namespace) with the
// subset naming its labels and policy.
type clusterKey struct {
	typ    model.ProxyType
	svc    *model.Service
	port   model.Port
	dr     *model.DestinationRule
	subset string
}

type sharedCluster struct {
	cluster *clusterv3.Cluster
	load    *endpointv3.ClusterLoadAssignment
}

// vhostKey is what virtualHost reads besides the mesh, except labels: a virtual host whose routes
// consulted the proxy's labels (VirtualService sourceLabels) is not cached.
type vhostKey struct {
	typ       model.ProxyType
	namespace string
	svc       *model.Service
	port      model.Port
}

// routesKey is what sidecarRoutes reads besides the mesh, except labels (see vhostKey): the services
// visible to the proxy follow from its type, namespace and Sidecar scope.
type routesKey struct {
	typ       model.ProxyType
	namespace string
	scope     *networking.Sidecar
}

// memo is a map filled on first use; build says whether its value may be cached.
type memo[K comparable, V any] struct {
	mu sync.Mutex
	m  map[K]V
}

func (m *memo[K, V]) get(k K, build func() (V, bool)) V {
	m.mu.Lock()
	v, ok := m.m[k]
	m.mu.Unlock()
	if ok {
		return v
	}
	// Built outside the lock: two proxies racing for the same key build equal values, and the first
	// stored wins so everyone shares one.
	v, cacheable := build()
	if !cacheable {
		return v
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if prev, ok := m.m[k]; ok {
		return prev
	}
	if m.m == nil {
		m.m = map[K]V{}
	}
	m.m[k] = v
	return v
}

// share records resources handed out from the cache.
func (c *GenerateCache) share(resources ...any) {
	c.sharedMu.Lock()
	defer c.sharedMu.Unlock()
	if c.shared == nil {
		c.shared = map[any]bool{}
	}
	for _, r := range resources {
		c.shared[r] = true
	}
}

// isShared says whether res came from the cache: the same pointer may reach many proxies, and its
// content never changes.
func (c *GenerateCache) isShared(res any) bool {
	c.sharedMu.Lock()
	defer c.sharedMu.Unlock()
	return c.shared[res]
}

// outboundCluster is the cluster, and load assignment if resolved through EDS, for one service port and
// subset (nil for the service's own cluster) under dr, from the cache when there is one.
func (g *generator) outboundCluster(svc *model.Service, port model.Port, dr *model.DestinationRule, subset *networking.Subset) (*clusterv3.Cluster, *endpointv3.ClusterLoadAssignment) {
	build := func() (sharedCluster, bool) {
		c, cla := g.cluster(svc, port, subset.GetName(), subset.GetLabels(), policyFor(dr, subset.GetName(), port.Number))
		if dr != nil {
			c.Metadata = istioConfigMetadata("destination-rule", dr.Namespace, dr.Name)
		}
		return sharedCluster{c, cla}, true
	}
	if g.cache == nil {
		sc, _ := build()
		return sc.cluster, sc.load
	}
	key := clusterKey{typ: g.proxy.Type, svc: svc, port: port, dr: dr, subset: subset.GetName()}
	sc := g.cache.clusters.get(key, func() (sharedCluster, bool) {
		sc, _ := build()
		if sc.load != nil {
			g.cache.share(sc.cluster, sc.load)
		} else {
			g.cache.share(sc.cluster)
		}
		return sc, true
	})
	return sc.cluster, sc.load
}

// sharedVirtualHost is virtualHost, from the cache when there is one and the routes do not depend on
// the proxy's labels.
func (g *generator) sharedVirtualHost(svc *model.Service, port model.Port) *routev3.VirtualHost {
	if g.cache == nil {
		return g.virtualHost(svc, port)
	}
	key := vhostKey{typ: g.proxy.Type, namespace: g.proxy.Namespace, svc: svc, port: port}
	return g.cache.vhosts.get(key, func() (*routev3.VirtualHost, bool) {
		vh, cacheable := labelFree(g, func() *routev3.VirtualHost { return g.virtualHost(svc, port) })
		if cacheable {
			vh = g.cache.sameVirtualHost(vh)
		}
		return vh, cacheable
	})
}

// sameVirtualHost returns an earlier virtual host equal to vh if there is one, else vh. A service's
// virtual host is mostly the same from every namespace, and a thousand services in twenty namespaces
// would otherwise keep twenty copies of each alive.
func (c *GenerateCache) sameVirtualHost(vh *routev3.VirtualHost) *routev3.VirtualHost {
	b, err := marshal.Marshal(vh)
	if err != nil {
		return vh
	}
	key := sha256.Sum256(b) // deterministic bytes: equal bytes are equal virtual hosts
	c.sharedMu.Lock()
	defer c.sharedMu.Unlock()
	if prev := c.vhostByContent[key]; prev != nil {
		return prev
	}
	if c.vhostByContent == nil {
		c.vhostByContent = map[[sha256.Size]byte]*routev3.VirtualHost{}
	}
	c.vhostByContent[key] = vh
	return vh
}

// sharedSidecarRoutes is sidecarRoutes, from the cache when there is one and no route depends on the
// proxy's labels. The slice is the caller's; the route configurations are shared.
func (g *generator) sharedSidecarRoutes() []*routev3.RouteConfiguration {
	if g.cache == nil {
		return g.sidecarRoutes()
	}
	key := routesKey{typ: g.proxy.Type, namespace: g.proxy.Namespace, scope: g.scope}
	routes := g.cache.routes.get(key, func() ([]*routev3.RouteConfiguration, bool) {
		routes, cacheable := labelFree(g, g.sidecarRoutes)
		if cacheable {
			for _, rc := range routes {
				g.cache.share(rc)
			}
		}
		return routes, cacheable
	})
	return slices.Clone(routes)
}

// labelFree runs build and says whether it left the proxy's labels unread (see generator.labelsRead).
func labelFree[T any](g *generator, build func() T) (T, bool) {
	read := g.labelsRead
	g.labelsRead = false
	v := build()
	free := !g.labelsRead
	g.labelsRead = read || g.labelsRead
	return v, free
}
