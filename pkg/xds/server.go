package xds

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoverygrpc "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/log"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"google.golang.org/grpc"

	"skiff.dev/skiff/pkg/model"
)

// Server serves the mesh over ADS (state of the world and delta) from a go-control-plane snapshot cache.
// Each connected node gets its own snapshot, computed when it first asks and recomputed on every Push.
type Server struct {
	cache cachev3.SnapshotCache
	xds   serverv3.Server

	mu      sync.Mutex
	mesh    *model.Mesh
	version uint64
	proxies map[string]*connectedProxy // by node ID
	streams map[int64]string           // stream ID -> node ID
	sync    *syncTracker               // what was sent and acknowledged, for /debug/syncz
}

type connectedProxy struct {
	proxy   *model.Proxy
	streams int
}

// NewServer serves mesh until the first Push replaces it. logger may be nil (go-control-plane's default).
func NewServer(ctx context.Context, mesh *model.Mesh, logger log.Logger) *Server {
	s := &Server{
		// Not go-control-plane's "ADS mode": that answers a named request only when it names every resource
		// of the type, and gRPC clients ask for just the clusters their routes use.
		cache:   cachev3.NewSnapshotCache(false, cachev3.IDHash{}, logger),
		mesh:    mesh,
		proxies: map[string]*connectedProxy{},
		streams: map[int64]string{},
		sync:    newSyncTracker(time.Now),
	}
	callbacks := serverv3.CallbackFuncs{
		StreamRequestFunc: func(id int64, req *discoverygrpc.DiscoveryRequest) error {
			s.sync.onStreamRequest(id, req)
			return s.onRequest(ctx, id, req.GetNode(), req.GetTypeUrl(), req.GetResourceNames())
		},
		StreamDeltaRequestFunc: func(id int64, req *discoverygrpc.DeltaDiscoveryRequest) error {
			s.sync.onDeltaRequest(id, req)
			return s.onRequest(ctx, id, req.GetNode(), req.GetTypeUrl(), req.GetResourceNamesSubscribe())
		},
		StreamResponseFunc: func(_ context.Context, id int64, req *discoverygrpc.DiscoveryRequest, resp *discoverygrpc.DiscoveryResponse) {
			s.sync.onStreamResponse(id, req, resp)
		},
		StreamDeltaResponseFunc: s.sync.onDeltaResponse,
		StreamClosedFunc:        func(id int64, _ *corev3.Node) { s.sync.closed(id, false); s.onClosed(id) },
		DeltaStreamClosedFunc:   func(id int64, _ *corev3.Node) { s.sync.closed(id, true); s.onClosed(id) },
	}
	s.xds = serverv3.NewServer(ctx, s.cache, callbacks)
	return s
}

// Register adds the aggregated discovery service (SotW and delta) to g.
func (s *Server) Register(g *grpc.Server) {
	discoverygrpc.RegisterAggregatedDiscoveryServiceServer(g, s.xds)
}

// Push makes mesh current and sends every connected proxy its new configuration.
func (s *Server) Push(ctx context.Context, mesh *model.Mesh) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mesh = mesh
	s.version++
	// Replicas of one workload get identical configuration: generate it once per distinct proxy.
	shared := map[string]*cachev3.Snapshot{}
	for id, cp := range s.proxies {
		key := proxyClass(cp.proxy)
		snap := shared[key]
		if snap == nil {
			var err error
			if snap, err = s.snapshot(cp.proxy); err != nil {
				return err
			}
			shared[key] = snap
		}
		if err := s.cache.SetSnapshot(ctx, id, snap); err != nil {
			return err
		}
	}
	return nil
}

// proxyClass is everything Generate reads from a proxy besides its ID and IP.
func proxyClass(p *model.Proxy) string {
	var b strings.Builder
	b.WriteString(p.Type.String() + "|" + p.Namespace + "|" + strings.Join(p.InboundListeners, ","))
	for _, k := range slices.Sorted(maps.Keys(p.Labels)) {
		b.WriteString("|" + k + "=" + p.Labels[k])
	}
	return b.String()
}

// ConnectedProxies is the number of nodes with an open stream.
func (s *Server) ConnectedProxies() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.proxies)
}

// onRequest computes a snapshot for a node the first time one of its streams asks for anything, before
// the cache looks for one, and again when a gRPC server asks for a server listener not yet generated.
func (s *Server) onRequest(ctx context.Context, stream int64, node *corev3.Node, typeURL string, names []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if node == nil {
		return nil
	}
	cp := s.proxies[node.GetId()]
	first := cp == nil
	if first {
		cp = &connectedProxy{proxy: ProxyFromNode(node)}
		s.proxies[node.GetId()] = cp
	}
	if _, known := s.streams[stream]; !known {
		s.streams[stream] = node.GetId()
		cp.streams++
	}
	changed := false
	if typeURL == resource.ListenerType && cp.proxy.Type == model.ProxylessGRPC {
		for _, n := range names {
			if strings.HasPrefix(n, GRPCInboundPrefix) && !slices.Contains(cp.proxy.InboundListeners, n) {
				p := *cp.proxy
				p.InboundListeners = append(slices.Clone(p.InboundListeners), n)
				cp.proxy = &p
				changed = true
			}
		}
	}
	if !first && !changed {
		return nil
	}
	if changed {
		s.version++ // a new version, so the cache answers the request that named the new listener
	}
	return s.setSnapshot(ctx, node.GetId(), cp.proxy)
}

// onClosed forgets a node when its last stream closes, so departed proxies cost nothing on Push.
func (s *Server) onClosed(stream int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.streams[stream]
	if !ok {
		return
	}
	delete(s.streams, stream)
	if cp := s.proxies[id]; cp != nil {
		cp.streams--
		if cp.streams <= 0 {
			delete(s.proxies, id)
			s.cache.ClearSnapshot(id)
		}
	}
}

func (s *Server) setSnapshot(ctx context.Context, nodeID string, p *model.Proxy) error {
	snap, err := s.snapshot(p)
	if err != nil {
		return err
	}
	return s.cache.SetSnapshot(ctx, nodeID, snap)
}

func (s *Server) snapshot(p *model.Proxy) (*cachev3.Snapshot, error) {
	return Snapshot(Generate(s.mesh, p), strconv.FormatUint(s.version, 10))
}

// Snapshot packs resources into a go-control-plane snapshot with one version for all types.
func Snapshot(r *Resources, version string) (*cachev3.Snapshot, error) {
	return cachev3.NewSnapshot(version, map[resource.Type][]types.Resource{
		resource.ListenerType: asResources(r.Listeners),
		resource.RouteType:    asResources(r.Routes),
		resource.ClusterType:  asResources(r.Clusters),
		resource.EndpointType: asResources(r.Endpoints),
	})
}

func asResources[T types.Resource](in []T) []types.Resource {
	out := make([]types.Resource, len(in))
	for i, r := range in {
		out[i] = r
	}
	return out
}

// Proxies lists the IDs of connected nodes, sorted.
func (s *Server) Proxies() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.proxies))
}

// ConfigFor regenerates what a connected node was last sent, for debugging; false when it is unknown.
func (s *Server) ConfigFor(nodeID string) (*Resources, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cp := s.proxies[nodeID]
	if cp == nil {
		return nil, false
	}
	return Generate(s.mesh, cp.proxy), true
}
