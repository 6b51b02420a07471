package xds

import (
	"context"
	"slices"
	"testing"
	"time"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"

	"skiff.dev/skiff/pkg/model"
)

// deltaClient is one raw incremental ADS stream that acknowledges nothing on its own.
type deltaClient struct {
	t      *testing.T
	stream discoveryv3.AggregatedDiscoveryService_DeltaAggregatedResourcesClient
}

func dialDelta(ctx context.Context, t *testing.T, srv *Server) *deltaClient {
	t.Helper()
	conn, err := grpc.NewClient(serveADSForTest(t, srv), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).DeltaAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return &deltaClient{t: t, stream: stream}
}

// ask sends req and returns the answer, with its resource names.
func (c *deltaClient) ask(req *discoveryv3.DeltaDiscoveryRequest) (*discoveryv3.DeltaDiscoveryResponse, []string) {
	c.t.Helper()
	if err := c.stream.Send(req); err != nil {
		c.t.Fatal(err)
	}
	resp, err := c.stream.Recv()
	if err != nil {
		c.t.Fatal(err)
	}
	var names []string
	for _, r := range resp.GetResources() {
		names = append(names, r.GetName())
	}
	return resp, names
}

// TestDeltaSubscriptions: a proxy that reconnects with the versions it has is sent only what differs and
// told what is gone; unsubscribing and subscribing again sends the resource again.
func TestDeltaSubscriptions(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	mesh := model.Build(largeInput(3))
	srv := NewServer(ctx, mesh, discardLogger{})
	p := fleetSpec{proxies: 1, replicas: 1}.proxy(0)
	want := Generate(mesh, p)
	kept, stale := want.Clusters[0].GetName(), want.Clusters[1].GetName()
	view := newGeneration(mesh, make(chan struct{}, 1), newInternTable(), nil).view(p).typ(resource.ClusterType)

	c := dialDelta(ctx, t, srv)
	resp, names := c.ask(&discoveryv3.DeltaDiscoveryRequest{Node: node(p), TypeUrl: resource.ClusterType,
		InitialResourceVersions: map[string]string{kept: view.byName[kept].version, stale: "old", "outbound|1||gone.example": "v"}})
	if len(names) != len(want.Clusters)-1 || slices.Contains(names, kept) || !slices.Contains(names, stale) {
		t.Fatalf("reconnected proxy was sent %d clusters (kept one included: %v), want all %d but the one it has",
			len(names), slices.Contains(names, kept), len(want.Clusters))
	}
	if !slices.Equal(resp.GetRemovedResources(), []string{"outbound|1||gone.example"}) {
		t.Fatalf("removed %v, want the cluster the server does not have", resp.GetRemovedResources())
	}

	eds := want.Endpoints[0].GetClusterName()
	if _, names := c.ask(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: resource.EndpointType, ResourceNamesSubscribe: []string{eds}}); !slices.Equal(names, []string{eds}) {
		t.Fatalf("subscribing to %s sent %v", eds, names)
	}
	other := want.Endpoints[1].GetClusterName()
	// Unsubscribing eds while subscribing other: only other is sent, and nothing is removed.
	resp, names = c.ask(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: resource.EndpointType, ResourceNamesSubscribe: []string{other},
		ResourceNamesUnsubscribe: []string{eds}, ResponseNonce: resp.GetNonce()})
	if !slices.Equal(names, []string{other}) || len(resp.GetRemovedResources()) != 0 {
		t.Fatalf("after swapping subscriptions: sent %v, removed %v", names, resp.GetRemovedResources())
	}
	if _, names := c.ask(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: resource.EndpointType, ResourceNamesSubscribe: []string{eds}}); !slices.Equal(names, []string{eds}) {
		t.Fatalf("subscribing to %s again sent %v, want it again", eds, names)
	}
}

// TestDeltaStreamsShareChanges: two delta proxies of one class in the same state share one computed change.
func TestDeltaStreamsShareChanges(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	in := largeInput(3)
	srv := NewServer(ctx, model.Build(in), discardLogger{})
	spec := fleetSpec{proxies: 2, replicas: 2}
	var clients []*deltaClient
	for i := range 2 {
		c := dialDelta(ctx, t, srv)
		c.ask(&discoveryv3.DeltaDiscoveryRequest{Node: node(spec.proxy(i)), TypeUrl: resource.ClusterType})
		clients = append(clients, c)
	}
	// Service 2's DestinationRule loses subset v2: its cluster goes.
	dr := in.DestinationRules[2].DeepCopy()
	dr.Spec.Subsets = dr.Spec.Subsets[:1]
	in.DestinationRules = append(slices.Clone(in.DestinationRules[:2]), append([]*networkingv1.DestinationRule{dr}, in.DestinationRules[3:]...)...)
	if err := srv.Push(ctx, model.Build(in)); err != nil {
		t.Fatal(err)
	}
	var first *discoveryv3.DeltaDiscoveryResponse
	for _, c := range clients {
		resp, err := c.stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.GetRemovedResources()) != 1 || len(resp.GetResources()) != 0 {
			t.Fatalf("removing a subset sent %d clusters and removed %v, want only its cluster removed",
				len(resp.GetResources()), resp.GetRemovedResources())
		}
		if first == nil {
			first = resp
		} else if !slices.Equal(resp.GetRemovedResources(), first.GetRemovedResources()) {
			t.Fatalf("replicas were told different removals: %v and %v", first.GetRemovedResources(), resp.GetRemovedResources())
		}
	}
	cds := srv.gen.Load().view(spec.proxy(0)).typ(resource.ClusterType)
	if len(cds.deltas) != 1 {
		t.Fatalf("%d changes computed for two proxies in the same state, want 1", len(cds.deltas))
	}
}
