package xds_test

import (
	"context"
	"net"
	"slices"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	skiffxds "skiff.dev/skiff/pkg/xds"
)

// TestDeltaADS speaks the incremental protocol Envoy uses: a wildcard cluster subscription gets every
// cluster, and a Push sends only what changed.
func TestDeltaADS(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v1 := &backend{name: "reviews-v1", version: "v1", port: 7001}
	srv := skiffxds.NewServer(ctx, meshOf([]*backend{v1}, nil, subsetsRule()), quietLogger{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer(skiffxds.GRPCServerOptions()...)
	srv.Register(g)
	go func() { _ = g.Serve(lis) }()
	defer g.Stop()

	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).DeltaAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	node := &corev3.Node{Id: "sidecar~10.1.0.10~productpage-v1.default~default.svc.cluster.local"}
	if err := stream.Send(&discoveryv3.DeltaDiscoveryRequest{Node: node, TypeUrl: resource.ClusterType}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	got := names(resp)
	want := []string{"BlackHoleCluster", "InboundPassthroughCluster", "PassthroughCluster",
		"outbound|9080|v1|reviews.default.svc.cluster.local",
		"outbound|9080|v2|reviews.default.svc.cluster.local",
		"outbound|9080||reviews.default.svc.cluster.local"}
	if !slices.Equal(got, want) {
		t.Fatalf("first delta response has %v, want %v", got, want)
	}
	if srv.ConnectedProxies() != 1 {
		t.Fatalf("ConnectedProxies = %d, want 1", srv.ConnectedProxies())
	}
	if err := stream.Send(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: resource.ClusterType, ResponseNonce: resp.GetNonce()}); err != nil {
		t.Fatal(err)
	}

	// Dropping subset v2 from the DestinationRule must remove exactly that cluster and resend nothing else.
	dr := subsetsRule()
	dr.Spec.Subsets = dr.Spec.Subsets[:1]
	if err := srv.Push(ctx, meshOf([]*backend{v1}, nil, dr)); err != nil {
		t.Fatal(err)
	}
	resp, err = stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetResources()) != 0 || !slices.Equal(resp.GetRemovedResources(), []string{"outbound|9080|v2|reviews.default.svc.cluster.local"}) {
		t.Fatalf("after removing subset v2: resources %v removed %v; want only v2 removed", names(resp), resp.GetRemovedResources())
	}
}

func names(r *discoveryv3.DeltaDiscoveryResponse) []string {
	var out []string
	for _, res := range r.GetResources() {
		out = append(out, res.GetName())
	}
	slices.Sort(out)
	return out
}
