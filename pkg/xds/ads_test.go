package xds

import (
	"context"
	"net"
	"runtime"
	"slices"
	"testing"
	"time"
	"weak"

	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"

	"skiff.dev/skiff/pkg/model"
)

// adsClient is one raw state-of-the-world ADS stream, as a sidecar or gateway uses it, that ACKs every
// response as it arrives.
type adsClient struct {
	t         *testing.T
	responses chan *discoveryv3.DiscoveryResponse
}

// serveADSForTest serves srv on loopback with the production gRPC options.
func serveADSForTest(t *testing.T, srv *Server) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer(GRPCServerOptions()...)
	srv.Register(g)
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)
	return lis.Addr().String()
}

func dialADS(ctx context.Context, t *testing.T, addr string, p *model.Proxy, subs map[string][]string) *adsClient {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := &adsClient{t: t, responses: make(chan *discoveryv3.DiscoveryResponse, 16)}
	first := true
	for _, typ := range pushOrder {
		names, ok := subs[typ]
		if !ok {
			continue
		}
		req := &discoveryv3.DiscoveryRequest{TypeUrl: typ, ResourceNames: names}
		if first {
			req.Node, first = node(p), false
		}
		if err := stream.Send(req); err != nil {
			t.Fatal(err)
		}
	}
	go func() {
		defer close(c.responses)
		for {
			resp, err := stream.Recv()
			if err != nil {
				return
			}
			if err := stream.Send(&discoveryv3.DiscoveryRequest{TypeUrl: resp.GetTypeUrl(), VersionInfo: resp.GetVersionInfo(),
				ResponseNonce: resp.GetNonce(), ResourceNames: subs[resp.GetTypeUrl()]}); err != nil {
				return
			}
			c.responses <- resp
		}
	}()
	return c
}

// dialSidecar serves srv and connects the sidecar of workload 0 of mesh, subscribed as Envoy would;
// it returns the proxy, the client and the first response of each of the four types, by type URL.
func dialSidecar(ctx context.Context, t *testing.T, srv *Server, mesh *model.Mesh) (*model.Proxy, *adsClient, map[string]*discoveryv3.DiscoveryResponse) {
	t.Helper()
	p := fleetSpec{proxies: 1, replicas: 1}.proxy(0)
	c := dialADS(ctx, t, serveADSForTest(t, srv), p, subscriptions(mesh, p))
	first := map[string]*discoveryv3.DiscoveryResponse{}
	for range 4 {
		resp := c.recv()
		first[resp.GetTypeUrl()] = resp
	}
	return p, c, first
}

// recv is the next response.
func (c *adsClient) recv() *discoveryv3.DiscoveryResponse {
	c.t.Helper()
	select {
	case resp, ok := <-c.responses:
		if !ok {
			c.t.Fatal("the stream ended")
		}
		return resp
	case <-time.After(10 * time.Second):
		c.t.Fatal("no response within 10s")
	}
	return nil
}

// quiet fails if a response arrives within d.
func (c *adsClient) quiet(d time.Duration) {
	c.t.Helper()
	select {
	case resp := <-c.responses:
		c.t.Fatalf("unexpected %s response with %d resources", resp.GetTypeUrl(), len(resp.GetResources()))
	case <-time.After(d):
	}
}

// TestSotWSendsOnlyWhatChanged: a push that changes nothing sends nothing; an endpoint change sends one
// ClusterLoadAssignment and no other type; a route change sends routes only.
func TestSotWSendsOnlyWhatChanged(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	in := largeInput(5)
	mesh := model.Build(in)
	srv := NewServer(ctx, mesh, discardLogger{})
	p, c, first := dialSidecar(ctx, t, srv, mesh)
	want := Generate(mesh, p)
	count := func(url string) int { return len(first[url].GetResources()) }
	if count(resource.ClusterType) != len(want.Clusters) || count(resource.EndpointType) != len(want.Endpoints) ||
		count(resource.ListenerType) != len(want.Listeners) || count(resource.RouteType) != len(want.Routes) {
		t.Fatalf("first responses carry %d clusters, %d endpoint assignments, %d listeners, %d route configurations",
			count(resource.ClusterType), count(resource.EndpointType), count(resource.ListenerType), count(resource.RouteType))
	}

	if err := srv.Push(ctx, model.Build(in)); err != nil {
		t.Fatal(err)
	}
	c.quiet(300 * time.Millisecond)

	in = withEndpoint(in, 10)
	if err := srv.Push(ctx, model.Build(in)); err != nil {
		t.Fatal(err)
	}
	// The new endpoint is a v1 pod: the service's cluster and its v1 subset change, nothing else.
	resp := c.recv()
	var sent []string
	for _, a := range resp.GetResources() {
		cla := &endpointv3.ClusterLoadAssignment{}
		if err := a.UnmarshalTo(cla); err != nil {
			t.Fatal(err)
		}
		sent = append(sent, cla.GetClusterName())
	}
	wantSent := []string{ClusterName(servicePort, "v1", changedHostname), ClusterName(servicePort, "", changedHostname)} // sorted
	if resp.GetTypeUrl() != resource.EndpointType || !slices.Equal(sent, wantSent) {
		t.Fatalf("after an endpoint change: a %s response with %v, want endpoints %v", resp.GetTypeUrl(), sent, wantSent)
	}
	c.quiet(300 * time.Millisecond)

	in = withSplit(in, [2]uint32{70, 30})
	if err := srv.Push(ctx, model.Build(in)); err != nil {
		t.Fatal(err)
	}
	if resp := c.recv(); resp.GetTypeUrl() != resource.RouteType {
		t.Fatalf("after a route change: a %s response, want routes", resp.GetTypeUrl())
	}
	c.quiet(300 * time.Millisecond)
}

// TestGatewaySecretsOverADS: a gateway is served the credentialName Secret its listener names, over ADS;
// a sidecar asking for the same name gets nothing.
func TestGatewaySecretsOverADS(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	mesh := loadMesh(t, "testdata/in/gateway-https.yaml")
	router := goldenProxy("gateway-https")
	want := Generate(mesh, router).Secrets
	if len(want) == 0 {
		t.Fatal("the gateway-https case has no secrets")
	}
	name := want[0].GetName()
	srv := NewServer(ctx, mesh, discardLogger{})
	addr := serveADSForTest(t, srv)

	gw := dialADS(ctx, t, addr, &model.Proxy{ID: "router~10.1.0.99~" + router.ID + "~istio-system.svc.cluster.local",
		Namespace: router.Namespace, Labels: router.Labels}, map[string][]string{resource.SecretType: {name}})
	resp := gw.recv()
	if resp.GetTypeUrl() != resource.SecretType || len(resp.GetResources()) != 1 {
		t.Fatalf("gateway got a %s response with %d resources", resp.GetTypeUrl(), len(resp.GetResources()))
	}
	got := &tlsv3.Secret{}
	if err := resp.GetResources()[0].UnmarshalTo(got); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(got, want[0]) || len(got.GetTlsCertificate().GetPrivateKey().GetInlineBytes()) == 0 {
		t.Fatalf("served secret %q differs from the generated one or has no key", got.GetName())
	}

	sidecar := dialADS(ctx, t, addr, goldenProxy("bookinfo"), map[string][]string{resource.SecretType: {name}})
	if resp := sidecar.recv(); len(resp.GetResources()) != 0 {
		t.Fatalf("a sidecar was sent %d secrets", len(resp.GetResources()))
	}
}

// TestClassesShareEncodings: replicas of a workload share one view, and workloads share the encodings
// of the resources they have in common.
func TestClassesShareEncodings(t *testing.T) {
	spec := fleetSpec{proxies: 4, replicas: 2}
	g := newGeneration(model.Build(largeInput(5)), make(chan struct{}, 1), newInternTable(), nil)
	a, b, other := g.view(spec.proxy(0)), g.view(spec.proxy(1)), g.view(spec.proxy(2))
	if a != b {
		t.Fatal("two replicas of one workload got separate views")
	}
	if a == other {
		t.Fatal("two workloads got one view")
	}
	outbound := ClusterName(servicePort, "", changedHostname)
	if a.typ(resource.ClusterType).byName[outbound] != other.typ(resource.ClusterType).byName[outbound] {
		t.Fatalf("cluster %s is encoded twice", outbound)
	}
}

// TestSharedResponseWireForm: what sharedResponseCodec writes is the DiscoveryResponse a client expects.
func TestSharedResponseWireForm(t *testing.T) {
	mesh := model.Build(largeInput(3))
	p := fleetSpec{proxies: 1, replicas: 1}.proxy(0)
	view := newGeneration(mesh, make(chan struct{}, 1), newInternTable(), nil).view(p).typ(resource.ClusterType)
	resp := view.subset(newSubsKey(nil, true))
	c := newSharedResponseCodec()
	wire, err := c.Marshal(&sharedResponse{encodedResponse: resp, nonce: "7"})
	if err != nil {
		t.Fatal(err)
	}
	got := &discoveryv3.DiscoveryResponse{}
	if err := proto.Unmarshal(wire.Materialize(), got); err != nil {
		t.Fatal(err)
	}
	if got.GetNonce() != "7" || got.GetVersionInfo() != resp.version || got.GetTypeUrl() != resource.ClusterType {
		t.Fatalf("header fields: %q %q %q", got.GetNonce(), got.GetVersionInfo(), got.GetTypeUrl())
	}
	clusters := Generate(mesh, p).Clusters
	if len(got.GetResources()) != len(clusters) {
		t.Fatalf("%d resources, want %d", len(got.GetResources()), len(clusters))
	}
	for i, a := range got.GetResources() {
		c := clusters[i].ProtoReflect().New().Interface()
		if err := a.UnmarshalTo(c); err != nil || !proto.Equal(c, clusters[i]) {
			t.Fatalf("resource %d differs from cluster %q (%v)", i, clusters[i].GetName(), err)
		}
	}
}

// TestRepeatedNamesNotDecoded: an ACK repeating the previous request's names is read without them;
// different names are read in full.
func TestRepeatedNamesNotDecoded(t *testing.T) {
	c := newSharedResponseCodec()
	seen := newNamesSeen()
	read := func(req *discoveryv3.DiscoveryRequest) *sotwRequest {
		t.Helper()
		b, err := proto.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		r := &sotwRequest{DiscoveryRequest: &discoveryv3.DiscoveryRequest{}, names: seen}
		if err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(b)}, r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	names := []string{"outbound|80||a", "outbound|80||b"}
	if r := read(&discoveryv3.DiscoveryRequest{TypeUrl: resource.EndpointType, ResourceNames: names}); r.sameNames || !slices.Equal(r.GetResourceNames(), names) {
		t.Fatalf("first request: same=%v names=%v", r.sameNames, r.GetResourceNames())
	}
	r := read(&discoveryv3.DiscoveryRequest{TypeUrl: resource.EndpointType, ResourceNames: names, ResponseNonce: "3", VersionInfo: "v"})
	if !r.sameNames || len(r.GetResourceNames()) != 0 || r.GetResponseNonce() != "3" || r.GetVersionInfo() != "v" {
		t.Fatalf("ACK: same=%v names=%v nonce=%q version=%q", r.sameNames, r.GetResourceNames(), r.GetResponseNonce(), r.GetVersionInfo())
	}
	if r := read(&discoveryv3.DiscoveryRequest{TypeUrl: resource.EndpointType, ResourceNames: names[:1]}); r.sameNames || !slices.Equal(r.GetResourceNames(), names[:1]) {
		t.Fatalf("changed names: same=%v names=%v", r.sameNames, r.GetResourceNames())
	}
	if r := read(&discoveryv3.DiscoveryRequest{TypeUrl: resource.RouteType, ResourceNames: names[:1]}); r.sameNames {
		t.Fatal("another type's names were taken as repeated")
	}
}

// TestOldGenerationsAreCollected: once every stream has moved on, nothing keeps an old generation's
// configuration alive (the server keeps only the current one).
func TestOldGenerationsAreCollected(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	in := largeInput(5)
	mesh := model.Build(in)
	srv := NewServer(ctx, mesh, discardLogger{})
	p, c, _ := dialSidecar(ctx, t, srv, mesh)
	first := weak.Make(srv.gen.Load().view(p).typ(resource.EndpointType))
	for n := 10; n < 13; n++ {
		in = withEndpoint(in, n)
		if err := srv.Push(ctx, model.Build(in)); err != nil {
			t.Fatal(err)
		}
		if resp := c.recv(); resp.GetTypeUrl() != resource.EndpointType {
			t.Fatalf("a %s response after an endpoint change", resp.GetTypeUrl())
		}
	}
	runtime.GC()
	runtime.GC()
	if first.Value() != nil {
		t.Fatal("the first generation's endpoints are still reachable after three pushes")
	}
}

// TestInstrumentedServerCountsResponses: the metrics count what was sent, and a push's responses are
// timed from the push.
func TestInstrumentedServerCountsResponses(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	in := largeInput(3)
	mesh := model.Build(in)
	srv := NewServer(ctx, mesh, discardLogger{})
	reg := prometheus.NewRegistry()
	if err := srv.Instrument(reg); err != nil {
		t.Fatal(err)
	}
	if err := srv.Push(ctx, mesh); err != nil { // the instrumented generation
		t.Fatal(err)
	}
	p, c, _ := dialSidecar(ctx, t, srv, mesh)
	if err := srv.Push(ctx, model.Build(withEndpoint(in, 10))); err != nil {
		t.Fatal(err)
	}
	c.recv()
	if got := testutil.ToFloat64(srv.metrics.responses.WithLabelValues(EDS)); got != 2 {
		t.Fatalf("%v EDS responses counted, want 2", got)
	}
	if got := testutil.ToFloat64(srv.metrics.resources.WithLabelValues(EDS)); got != float64(len(Generate(mesh, p).Endpoints)+2) {
		t.Fatalf("%v endpoint assignments counted", got)
	}
	if n := testutil.CollectAndCount(reg, "skiff_xds_convergence_seconds", "skiff_xds_config_generation_seconds"); n != 2 {
		t.Fatalf("%d histograms collected, want 2", n)
	}
	var m dto.Metric
	if err := srv.metrics.convergence.Write(&m); err != nil || m.GetHistogram().GetSampleCount() != 1 {
		t.Fatalf("convergence samples: %v (%v), want the one pushed response", m.GetHistogram().GetSampleCount(), err)
	}
}
