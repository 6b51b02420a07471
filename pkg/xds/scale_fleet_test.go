package xds

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/structpb"

	"skiff.dev/skiff/pkg/model"
)

// The four types a sidecar subscribes to, in the order Envoy asks for them.
var fleetTypes = []string{resource.ClusterType, resource.EndpointType, resource.ListenerType, resource.RouteType}

// fleetSpec says which simulated sidecars to connect: proxy i is replica i%replicas of workload
// i/replicas, a pod of service svc-<workload> in largeInput's mesh.
type fleetSpec struct {
	proxies, replicas int
}

// workloads is the number of distinct proxy classes the server generates configuration for.
func (s fleetSpec) workloads() int { return (s.proxies + s.replicas - 1) / s.replicas }

// proxy is the model.Proxy the server derives from simulated proxy i's node.
func (s fleetSpec) proxy(i int) *model.Proxy {
	w := i / s.replicas
	ns := fmt.Sprintf("ns-%d", w%20)
	return &model.Proxy{
		ID:        fmt.Sprintf("sidecar~10.%d.%d.%d~svc-%d-v1-%d.%s~%s.svc.cluster.local", 1+w/250, w%250, 100+i%s.replicas, w, i%s.replicas, ns, ns),
		Namespace: ns,
		Labels:    map[string]string{"app": fmt.Sprintf("svc-%d", w), "version": "v1"},
	}
}

// node is what an Istio agent would send for p.
func node(p *model.Proxy) *corev3.Node {
	labels := map[string]any{}
	for k, v := range p.Labels {
		labels[k] = v
	}
	md, _ := structpb.NewStruct(map[string]any{"NAMESPACE": p.Namespace, "LABELS": labels})
	return &corev3.Node{Id: p.ID, Metadata: md}
}

// subscriptions are the resource names a sidecar asks for per type: wildcard for clusters and listeners,
// and the endpoints and routes its clusters and listeners refer to, computed as the server will.
func subscriptions(mesh *model.Mesh, p *model.Proxy) map[string][]string {
	r := Generate(mesh, p)
	subs := map[string][]string{resource.ClusterType: nil, resource.ListenerType: nil}
	for _, e := range r.Endpoints {
		subs[resource.EndpointType] = append(subs[resource.EndpointType], e.GetClusterName())
	}
	for _, rc := range r.Routes {
		subs[resource.RouteType] = append(subs[resource.RouteType], rc.GetName())
	}
	return subs
}

// fleet is a set of simulated sidecars, each on its own gRPC connection and SotW ADS stream, that
// acknowledge every response. It counts each proxy's ACKs per type, so waiting for every proxy to take
// a push costs nothing per response beyond a comparison.
type fleet struct {
	proxies []*simProxy
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	// keep makes proxy 0 remember its last response of each type, for checking content.
	keep bool

	mu      sync.Mutex
	total   int            // ACKs of any type, for settle
	reached map[string]int // proxies past their mark, per type
	done    chan struct{}  // closed when every proxy passed its mark of the type waited for
	waiting string
	err     error // the first stream failure
}

type simProxy struct {
	conn   *grpc.ClientConn
	stream discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesClient
	subs   map[string][]string
	// acks, marks and last are guarded by fleet.mu.
	acks, marks map[string]int
	last        map[string]*discoveryv3.DiscoveryResponse
}

// connectFleet dials addr once per proxy, in waves of connectWave, subscribes to all four types and
// returns when every proxy has ACKed each of them once. Close it to end the streams and their goroutines.
func connectFleet(ctx context.Context, addr string, spec fleetSpec, mesh *model.Mesh, keep bool) (*fleet, error) {
	ctx, cancel := context.WithCancel(ctx)
	f := &fleet{cancel: cancel, keep: keep, reached: map[string]int{}}
	subsByWorkload := map[int]map[string][]string{}
	for i := range spec.proxies {
		p := spec.proxy(i)
		w := i / spec.replicas
		if subsByWorkload[w] == nil {
			subsByWorkload[w] = subscriptions(mesh, p)
		}
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(1<<30)))
		if err != nil {
			f.close()
			return nil, err
		}
		sp := &simProxy{conn: conn, subs: subsByWorkload[w], acks: map[string]int{}, marks: map[string]int{},
			last: map[string]*discoveryv3.DiscoveryResponse{}}
		f.mu.Lock()
		f.proxies = append(f.proxies, sp)
		f.mu.Unlock()
		if sp.stream, err = discoveryv3.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx); err != nil {
			f.close()
			return nil, err
		}
		for j, typ := range fleetTypes {
			req := &discoveryv3.DiscoveryRequest{TypeUrl: typ, ResourceNames: sp.subs[typ]}
			if j == 0 {
				req.Node = node(p)
			}
			if err := sp.stream.Send(req); err != nil {
				f.close()
				return nil, err
			}
		}
		f.wg.Add(1)
		go f.receive(sp)
		if (i+1)%connectWave == 0 || i+1 == spec.proxies {
			// New proxies' marks are 0: wait until each has ACKed every type once.
			for _, typ := range fleetTypes {
				if err := f.waitPast(ctx, typ); err != nil {
					f.close()
					return nil, err
				}
			}
		}
	}
	return f, nil
}

// connectWave is how many proxies dial before the fleet waits for them to be served, as pods start
// during a rollout rather than all in one instant.
const connectWave = 100

// receive ACKs every response on one stream until it ends.
func (f *fleet) receive(sp *simProxy) {
	defer f.wg.Done()
	for {
		resp, err := sp.stream.Recv()
		if err != nil {
			f.fail(err)
			return
		}
		typ := resp.GetTypeUrl()
		if err := sp.stream.Send(&discoveryv3.DiscoveryRequest{TypeUrl: typ, VersionInfo: resp.GetVersionInfo(),
			ResponseNonce: resp.GetNonce(), ResourceNames: sp.subs[typ]}); err != nil {
			f.fail(err)
			return
		}
		f.acked(sp, resp)
	}
}

func (f *fleet) acked(sp *simProxy, resp *discoveryv3.DiscoveryResponse) {
	f.mu.Lock()
	defer f.mu.Unlock()
	typ := resp.GetTypeUrl()
	if f.keep && sp == f.proxies[0] {
		sp.last[typ] = resp
	}
	f.total++
	sp.acks[typ]++
	if typ == f.waiting && f.done != nil && sp.acks[typ] == sp.marks[typ]+1 {
		f.reached[typ]++
		if f.reached[typ] == len(f.proxies) {
			close(f.done)
			f.done = nil
		}
	}
}

func (f *fleet) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil {
		f.err = err
	}
	if f.done != nil {
		close(f.done)
		f.done = nil
	}
}

// mark remembers how many responses of typ each proxy has ACKed, for waitPast.
func (f *fleet) mark(typ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, sp := range f.proxies {
		sp.marks[typ] = sp.acks[typ]
	}
	return f.err
}

// waitPast returns once every proxy has ACKed a response of typ since its mark.
func (f *fleet) waitPast(ctx context.Context, typ string) error {
	f.mu.Lock()
	if f.err != nil {
		defer f.mu.Unlock()
		return f.err
	}
	f.waiting, f.reached[typ] = typ, 0
	for _, sp := range f.proxies {
		if sp.acks[typ] > sp.marks[typ] {
			f.reached[typ]++
		}
	}
	if f.reached[typ] == len(f.proxies) {
		f.mu.Unlock()
		return nil
	}
	done := make(chan struct{})
	f.done = done
	f.mu.Unlock()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("waiting for %d proxies to ACK a new %s: %w (%d did)", len(f.proxies), typ, ctx.Err(), f.count(typ))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

func (f *fleet) count(typ string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reached[typ]
}

// settle waits until no response has arrived for a quiet period, so the next measurement does not start
// with responses still in flight.
func (f *fleet) settle(ctx context.Context) error {
	const quiet = 300 * time.Millisecond
	last := -1
	for {
		f.mu.Lock()
		total, err := f.total, f.err
		f.mu.Unlock()
		if err != nil || total == last {
			return err
		}
		last = total
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(quiet):
		}
	}
}

// lastResponse is proxy 0's last response of typ (only when the fleet keeps them).
func (f *fleet) lastResponse(typ string) *discoveryv3.DiscoveryResponse {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.proxies[0].last[typ]
}

// close ends every stream and connection and waits for the receiving goroutines.
func (f *fleet) close() {
	f.cancel()
	for _, sp := range f.proxies {
		_ = sp.conn.Close()
	}
	f.wg.Wait()
}
