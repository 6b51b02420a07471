package xds

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoverygrpc "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/log"
	"google.golang.org/grpc"

	"skiff.dev/skiff/pkg/model"
)

// Server serves the mesh over ADS, state of the world and delta, to Envoy and proxyless gRPC.
//
// It is our own server on go-control-plane's types rather than go-control-plane's snapshot cache and
// server: those marshal every resource again for each stream and resend every type on any change, which
// costs gigabytes and tens of seconds per push at a thousand services and proxies (docs/benchmarks.md).
// Here a push generates and encodes each proxy class's configuration once; resources carry content
// versions, so a stream is sent only the types, and for routes, endpoints and secrets only the resources,
// that changed, from one encoding shared by every stream of the class.
type Server struct {
	ctx  context.Context
	log  log.Logger
	sync *syncTracker // what was sent and acknowledged, for /debug/syncz
	gen  atomic.Pointer[generation]
	ids  atomic.Int64
	// generating is the one slot for generating a class's configuration (see generation.generating).
	generating chan struct{}
	interned   *internTable
	metrics    *serverMetrics // nil until Instrument

	mu    sync.Mutex
	nodes map[string]*connectedNode // by node ID
}

// connectedNode is a node with at least one open stream.
type connectedNode struct {
	proxy *model.Proxy
	wake  map[int64]chan struct{} // each stream's wake-up, by stream ID
}

// NewServer serves mesh until the first Push replaces it; streams end when ctx does. logger may be nil.
func NewServer(ctx context.Context, mesh *model.Mesh, logger log.Logger) *Server {
	if logger == nil {
		logger = log.NewDefaultLogger()
	}
	s := &Server{ctx: ctx, log: logger, sync: newSyncTracker(time.Now), nodes: map[string]*connectedNode{},
		generating: make(chan struct{}, 1), interned: newInternTable()}
	s.gen.Store(newGeneration(mesh, s.generating, s.interned, s.metrics))
	return s
}

// Register adds the aggregated discovery service (SotW and delta) to g, best created with GRPCServerOptions.
func (s *Server) Register(g *grpc.Server) {
	discoverygrpc.RegisterAggregatedDiscoveryServiceServer(g, s)
}

// Push makes mesh current and wakes every stream, which sends its proxy whatever changed. It does not
// wait for delivery: a slow proxy delays no other, and pushes that follow one another quickly coalesce.
func (s *Server) Push(_ context.Context, mesh *model.Mesh) error {
	s.interned.sweep()
	s.gen.Store(newGeneration(mesh, s.generating, s.interned, s.metrics))
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range s.nodes {
		for _, w := range n.wake {
			wakeUp(w)
		}
	}
	return nil
}

func wakeUp(w chan struct{}) {
	select {
	case w <- struct{}{}:
	default: // already due to wake
	}
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

// attach registers a stream of node; the first stream of a node decides its proxy.
func (s *Server) attach(stream int64, node *corev3.Node, wake chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.nodes[node.GetId()]
	if n == nil {
		n = &connectedNode{proxy: ProxyFromNode(node), wake: map[int64]chan struct{}{}}
		s.nodes[node.GetId()] = n
	}
	n.wake[stream] = wake
}

// detach forgets a stream, and its node with its last stream, so departed proxies cost nothing.
func (s *Server) detach(stream int64, nodeID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.nodes[nodeID]; n != nil {
		delete(n.wake, stream)
		if len(n.wake) == 0 {
			delete(s.nodes, nodeID)
		}
	}
}

// view is the current configuration of a connected node.
func (s *Server) view(nodeID string) *classView {
	s.mu.Lock()
	p := s.nodes[nodeID].proxy
	s.mu.Unlock()
	return s.gen.Load().view(p)
}

// requestedListeners notes the server listeners a proxyless gRPC server asks for: their ports are known
// only from the request. A new one changes the node's configuration, so its streams are woken.
func (s *Server) requestedListeners(nodeID string, names []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.nodes[nodeID]
	if n == nil || n.proxy.Type != model.ProxylessGRPC {
		return
	}
	changed := false
	for _, name := range names {
		if strings.HasPrefix(name, GRPCInboundPrefix) && !slices.Contains(n.proxy.InboundListeners, name) {
			p := *n.proxy
			p.InboundListeners = append(slices.Clone(p.InboundListeners), name)
			n.proxy = &p
			changed = true
		}
	}
	if changed {
		for _, w := range n.wake {
			wakeUp(w)
		}
	}
}

// ConnectedProxies is the number of nodes with an open stream.
func (s *Server) ConnectedProxies() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.nodes)
}

// Proxies lists the IDs of connected nodes, sorted.
func (s *Server) Proxies() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.nodes))
}

// ConfigFor regenerates a connected node's current configuration, for debugging; false when it is unknown.
func (s *Server) ConfigFor(nodeID string) (*Resources, bool) {
	s.mu.Lock()
	n := s.nodes[nodeID]
	var p *model.Proxy
	if n != nil {
		p = n.proxy
	}
	s.mu.Unlock()
	if p == nil {
		return nil, false
	}
	return Generate(s.gen.Load().mesh, p), true
}
