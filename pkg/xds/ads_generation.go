package xds

import (
	"sync"
	"time"

	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"

	"skiff.dev/skiff/pkg/model"
)

// pushOrder is the order a push sends types in, so a proxy never refers to what it was not sent yet:
// secrets before the listeners and clusters using them, clusters before their endpoints, listeners
// before their routes (Envoy's make-before-break).
var pushOrder = []string{resource.SecretType, resource.ClusterType, resource.EndpointType, resource.ListenerType, resource.RouteType}

// generation is one mesh model as served: each proxy class's configuration is generated and encoded
// the first time a stream of that class asks, then shared by all of them.
type generation struct {
	mesh *model.Mesh
	// born is when the push that made this generation began.
	born    time.Time
	metrics *serverMetrics
	// generating admits one Generate at a time, shared by all generations: each is tens of MB of
	// short-lived objects at a thousand services, and with two cores running them side by side gains
	// little but memory.
	generating chan struct{}

	interned *internTable
	// shared is what classes generating at the same time share (ads_shared.go).
	shared sharedWork

	mu      sync.Mutex
	classes map[string]*classView
	views   map[string]*typeView // by type URL and content version

	// inbound names each workload IP's inbound ports, computed on first use.
	inboundOnce sync.Once
	inbound     map[string]string
}

// classView is the encoded configuration of one proxy class, by type URL: every type in pushOrder.
type classView struct {
	once  sync.Once
	types map[string]*typeView
	born  time.Time // the generation's
}

func newGeneration(mesh *model.Mesh, generating chan struct{}, interned *internTable, metrics *serverMetrics) *generation {
	return &generation{mesh: mesh, born: time.Now(), metrics: metrics, generating: generating, interned: interned,
		classes: map[string]*classView{}, views: map[string]*typeView{}}
}

// view returns proxy p's configuration, generating it once per class.
func (g *generation) view(p *model.Proxy) *classView {
	key := proxyClass(p)
	if p.Type == model.Sidecar {
		// A sidecar's inbound listeners come from the services its IP is an endpoint of: replicas
		// share a class only once the same services list them.
		g.inboundOnce.Do(func() { g.inbound = inboundPortsKeys(g.mesh) })
		key += "|inbound=" + g.inbound[p.IP]
	}
	g.mu.Lock()
	cv := g.classes[key]
	if cv == nil {
		cv = &classView{born: g.born}
		g.classes[key] = cv
	}
	g.mu.Unlock()
	cv.once.Do(func() {
		// Acquired before queueing, so the classes waiting keep it for each other.
		shared := g.shared.acquire(g.mesh)
		defer g.shared.release()
		g.generating <- struct{}{}
		defer func() { <-g.generating }()
		start := time.Now()
		cv.types = g.encode(shared.cache.Generate(p), shared)
		g.metrics.generated(time.Since(start))
	})
	return cv
}

// typ is the view of one type in pushOrder (the types the streams serve).
func (cv *classView) typ(url string) *typeView { return cv.types[url] }

func (g *generation) encode(r *Resources, shared *sharedState) map[string]*typeView {
	out := map[string]*typeView{}
	byType := r.byType()
	for _, url := range pushOrder {
		list := byType[url]
		encoded := make([]*encodedResource, 0, len(list))
		for _, res := range list {
			if e := shared.encode(g.interned, url, res); e != nil {
				encoded = append(encoded, e)
			}
		}
		out[url] = g.typeView(url, encoded)
	}
	return out
}

// typeView is the view of these resources, shared by every class of the generation that has exactly
// them: sidecars in a namespace mostly have the same endpoints and routes, and one view means one set
// of maps and one cache of responses.
func (g *generation) typeView(url string, resources []*encodedResource) *typeView {
	sortByName(resources, func(e *encodedResource) string { return e.name })
	version := contentVersion(resources)
	key := url + "|" + version
	g.mu.Lock()
	defer g.mu.Unlock()
	if v := g.views[key]; v != nil {
		return v
	}
	v := newSortedTypeView(url, resources, version)
	g.views[key] = v
	return v
}

// byType lists the resources by type URL.
func (r *Resources) byType() map[string][]types.Resource {
	return map[string][]types.Resource{
		resource.ListenerType: asResources(r.Listeners),
		resource.RouteType:    asResources(r.Routes),
		resource.ClusterType:  asResources(r.Clusters),
		resource.EndpointType: asResources(r.Endpoints),
		resource.SecretType:   asResources(r.Secrets),
	}
}

func asResources[T types.Resource](in []T) []types.Resource {
	out := make([]types.Resource, len(in))
	for i, r := range in {
		out[i] = r
	}
	return out
}
