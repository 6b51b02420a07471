package xds

import (
	"sync"

	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
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
	// generating admits one Generate at a time, shared by all generations: each is tens of MB of
	// short-lived objects at a thousand services, and with two cores running them side by side gains
	// little but memory.
	generating chan struct{}

	interned *internTable

	mu      sync.Mutex
	classes map[string]*classView

	// inbound names each workload IP's inbound ports, computed on first use.
	inboundOnce sync.Once
	inbound     map[string]string
}

// classView is the encoded configuration of one proxy class, by type URL.
type classView struct {
	once  sync.Once
	types map[string]*typeView
}

func newGeneration(mesh *model.Mesh, generating chan struct{}, interned *internTable) *generation {
	return &generation{mesh: mesh, generating: generating, interned: interned, classes: map[string]*classView{}}
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
		cv = &classView{}
		g.classes[key] = cv
	}
	g.mu.Unlock()
	cv.once.Do(func() {
		g.generating <- struct{}{}
		defer func() { <-g.generating }()
		cv.types = g.encode(Generate(g.mesh, p))
	})
	return cv
}

// typ is the view of one type; an empty one when the class has no resources of it.
func (cv *classView) typ(url string) *typeView {
	if v := cv.types[url]; v != nil {
		return v
	}
	return newTypeView(url, nil)
}

func (g *generation) encode(r *Resources) map[string]*typeView {
	out := map[string]*typeView{}
	for url, list := range r.byType() {
		encoded := make([]*encodedResource, 0, len(list))
		for _, res := range list {
			if e := g.interned.encode(url, cachev3.GetResourceName(res), res); e != nil {
				encoded = append(encoded, e)
			}
		}
		out[url] = newTypeView(url, encoded)
	}
	return out
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
