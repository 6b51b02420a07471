package xds_test

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	networkingapi "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/xds"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"skiff.dev/skiff/pkg/model"
	skiffxds "skiff.dev/skiff/pkg/xds"
)

// These tests drive a real grpc-go xDS client (the resolver, balancers and fault filter grpc-go ships)
// against Server on loopback, with real gRPC backends: the proof that the generated xDS means what it
// should, since no Envoy binary is available here.

const (
	target      = "xds:///reviews.default.svc.cluster.local:9080"
	versionRPC  = "/skiff.test.Version/Get"
	slowRequest = "slow"
	// flakyRequest makes a backend fail every other such request with UNAVAILABLE.
	flakyRequest = "flaky"
)

// backend is a real gRPC server answering Version/Get with its name; a "slow" request takes 1 s and
// every other "flaky" request fails; a backend named broken* fails everything.
type backend struct {
	name    string
	version string
	port    int
	stop    func()
}

func startBackend(t *testing.T, name, version string) *backend {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	var flaky atomic.Int64
	srv.RegisterService(&grpc.ServiceDesc{
		ServiceName: "skiff.test.Version",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{
			MethodName: "Get",
			Handler: func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
				in := &wrapperspb.StringValue{}
				if err := dec(in); err != nil {
					return nil, err
				}
				if strings.HasPrefix(name, "broken") {
					return nil, status.Error(codes.Unavailable, "broken backend")
				}
				if in.GetValue() == flakyRequest && flaky.Add(1)%2 == 1 {
					return nil, status.Error(codes.Unavailable, "flaky: every other request fails")
				}
				if in.GetValue() == slowRequest {
					select {
					case <-time.After(time.Second):
					case <-ctx.Done():
						return nil, ctx.Err()
					}
				}
				return wrapperspb.String(name), nil
			},
		}},
	}, struct{}{})
	go func() { _ = srv.Serve(lis) }()
	b := &backend{name: name, version: version, port: lis.Addr().(*net.TCPAddr).Port, stop: srv.Stop}
	t.Cleanup(srv.Stop)
	return b
}

// meshOf builds the model the way the controller would from Kubernetes: a Service, one EndpointSlice and
// Pod per backend (each backend has its own port on 127.0.0.1), and the given Istio config.
func meshOf(backends []*backend, vs *networkingv1.VirtualService, dr *networkingv1.DestinationRule) *model.Mesh {
	in := model.Input{Services: []*corev1.Service{{
		ObjectMeta: metav1.ObjectMeta{Name: "reviews", Namespace: "default"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "grpc", Port: 9080}}},
	}}}
	for _, b := range backends {
		in.Pods = append(in.Pods, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{
			// tlsMode marks injected pods; gRPC clients must tolerate the endpoint metadata it produces.
			Name: b.name, Namespace: "default", Labels: map[string]string{"app": "reviews", "version": b.version, "security.istio.io/tlsMode": "istio"},
		}})
		in.EndpointSlices = append(in.EndpointSlices, &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Name: "reviews-" + b.name, Namespace: "default", Labels: map[string]string{discoveryv1.LabelServiceName: "reviews"}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("grpc"), Port: ptr.To(int32(b.port))}},
			Endpoints: []discoveryv1.Endpoint{{
				Addresses: []string{"127.0.0.1"},
				TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: b.name, Namespace: "default"},
			}},
		})
	}
	if vs != nil {
		in.VirtualServices = append(in.VirtualServices, vs)
	}
	if dr != nil {
		in.DestinationRules = append(in.DestinationRules, dr)
	}
	return model.Build(in)
}

func subsetsRule() *networkingv1.DestinationRule {
	return &networkingv1.DestinationRule{
		ObjectMeta: metav1.ObjectMeta{Name: "reviews", Namespace: "default"},
		Spec: networkingapi.DestinationRule{Host: "reviews", Subsets: []*networkingapi.Subset{
			{Name: "v1", Labels: map[string]string{"version": "v1"}},
			{Name: "v2", Labels: map[string]string{"version": "v2"}},
		}},
	}
}

func dest(subset string, weight int32) *networkingapi.HTTPRouteDestination {
	return &networkingapi.HTTPRouteDestination{Destination: &networkingapi.Destination{Host: "reviews", Subset: subset}, Weight: weight}
}

func headerMatch(name, value string) []*networkingapi.HTTPMatchRequest {
	return []*networkingapi.HTTPMatchRequest{{Headers: map[string]*networkingapi.StringMatch{
		name: {MatchType: &networkingapi.StringMatch_Exact{Exact: value}},
	}}}
}

// testRules is the VirtualService under test: header routes for v2, abort and timeout, then a 90/10 split.
func testRules() *networkingv1.VirtualService {
	return &networkingv1.VirtualService{
		ObjectMeta: metav1.ObjectMeta{Name: "reviews", Namespace: "default"},
		Spec: networkingapi.VirtualService{Hosts: []string{"reviews"}, Http: []*networkingapi.HTTPRoute{
			{Name: "jason", Match: headerMatch("end-user", "jason"), Route: []*networkingapi.HTTPRouteDestination{dest("v2", 0)}},
			{
				Name: "abort", Match: headerMatch("x-fault", "abort"), Route: []*networkingapi.HTTPRouteDestination{dest("v1", 0)},
				Retries: &networkingapi.HTTPRetry{Attempts: 0},
				Fault: &networkingapi.HTTPFaultInjection{Abort: &networkingapi.HTTPFaultInjection_Abort{
					ErrorType:  &networkingapi.HTTPFaultInjection_Abort_GrpcStatus{GrpcStatus: "UNAVAILABLE"},
					Percentage: &networkingapi.Percent{Value: 50},
				}},
			},
			{
				Name: "timeout", Match: headerMatch("x-timeout", "short"), Route: []*networkingapi.HTTPRouteDestination{dest("v1", 0)},
				Timeout: durationpb.New(100 * time.Millisecond),
			},
			{Name: "canary", Route: []*networkingapi.HTTPRouteDestination{dest("v1", 90), dest("v2", 10)}},
		}},
	}
}

// env is a running control plane with backends and a connected gRPC client.
type env struct {
	t        *testing.T
	server   *skiffxds.Server
	conn     *grpc.ClientConn
	backends []*backend
}

func startEnv(t *testing.T, backends []*backend) *env {
	return startEnvWith(t, backends, testRules(), subsetsRule())
}

func startEnvWith(t *testing.T, backends []*backend, vs *networkingv1.VirtualService, dr *networkingv1.DestinationRule) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	srv := skiffxds.NewServer(ctx, meshOf(backends, vs, dr), quietLogger{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer(skiffxds.GRPCServerOptions()...)
	srv.Register(g)
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)

	bootstrap := fmt.Sprintf(`{
	  "xds_servers": [{"server_uri": %q, "channel_creds": [{"type": "insecure"}], "server_features": ["xds_v3"]}],
	  "node": {"id": "sidecar~127.0.0.1~client-%s.default~default.svc.cluster.local",
	           "metadata": {"GENERATOR": "grpc", "NAMESPACE": "default"}}
	}`, lis.Addr().String(), strings.ReplaceAll(t.Name(), "/", "-"))
	resolver, err := xds.NewXDSResolverWithConfigForTesting([]byte(bootstrap))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(target, grpc.WithResolvers(resolver), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &env{t: t, server: srv, conn: conn, backends: backends}
}

// call makes one RPC with the given request headers and returns the answering backend's name.
func (e *env) call(request string, headers ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if len(headers) > 0 {
		ctx = metadata.AppendToOutgoingContext(ctx, headers...)
	}
	out := &wrapperspb.StringValue{}
	err := e.conn.Invoke(ctx, versionRPC, wrapperspb.String(request), out)
	return out.GetValue(), err
}

// waitReady waits until the client has its configuration and reaches a backend.
func (e *env) waitReady() {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := e.call("")
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("client never became ready: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestGRPCWeightedSplit(t *testing.T) {
	e := startEnv(t, []*backend{startBackend(t, "reviews-v1", "v1"), startBackend(t, "reviews-v2", "v2")})
	e.waitReady()
	const n = 2000
	counts := map[string]int{}
	for range n {
		name, err := e.call("")
		if err != nil {
			t.Fatal(err)
		}
		counts[name]++
	}
	v2Share := 100 * float64(counts["reviews-v2"]) / n
	t.Logf("90/10 split over %d RPCs: %v (v2 %.1f%%)", n, counts, v2Share)
	if counts["reviews-v1"]+counts["reviews-v2"] != n || v2Share < 7 || v2Share > 13 {
		t.Fatalf("want v2 at 10%% ± 3 points, got %.1f%% (%v)", v2Share, counts)
	}
}

func TestGRPCHeaderMatchAndFaultAndTimeout(t *testing.T) {
	e := startEnv(t, []*backend{startBackend(t, "reviews-v1", "v1"), startBackend(t, "reviews-v2", "v2")})
	e.waitReady()

	t.Run("header match routes to v2", func(t *testing.T) {
		for range 200 {
			name, err := e.call("", "end-user", "jason")
			if err != nil || name != "reviews-v2" {
				t.Fatalf("end-user: jason went to %q (err %v), want reviews-v2", name, err)
			}
		}
	})

	t.Run("abort fault at 50 percent", func(t *testing.T) {
		const n = 1000
		aborted := 0
		for range n {
			_, err := e.call("", "x-fault", "abort")
			switch status.Code(err) {
			case codes.OK:
			case codes.Unavailable:
				aborted++
			default:
				t.Fatalf("unexpected error %v", err)
			}
		}
		share := 100 * float64(aborted) / n
		t.Logf("aborted %d of %d (%.1f%%)", aborted, n, share)
		if share < 44 || share > 56 {
			t.Fatalf("want about 50%% aborted, got %.1f%%", share)
		}
	})

	t.Run("route timeout is enforced", func(t *testing.T) {
		start := time.Now()
		_, err := e.call(slowRequest, "x-timeout", "short")
		if status.Code(err) != codes.DeadlineExceeded {
			t.Fatalf("want DeadlineExceeded from the 100ms route timeout, got %v", err)
		}
		if took := time.Since(start); took > 900*time.Millisecond {
			t.Fatalf("timeout took %v, want about 100ms (the backend answers after 1s)", took)
		}
		// The same slow request on a route without a timeout completes.
		if _, err := e.call(slowRequest, "end-user", "jason"); err != nil {
			t.Fatalf("slow request without route timeout failed: %v", err)
		}
	})
}

func TestGRPCEndpointChangesPropagate(t *testing.T) {
	v1 := startBackend(t, "reviews-v1", "v1")
	v2 := startBackend(t, "reviews-v2", "v2")
	e := startEnv(t, []*backend{v1, v2})
	e.waitReady()
	ctx := context.Background()

	// A second v1 endpoint appears: jason's route is v2-only, so use the default split and watch for it.
	v1b := startBackend(t, "reviews-v1-b", "v1")
	start := time.Now()
	if err := e.server.Push(ctx, meshOf([]*backend{v1, v1b, v2}, testRules(), subsetsRule())); err != nil {
		t.Fatal(err)
	}
	e.waitFor(t, start, "new endpoint reviews-v1-b receives traffic", func(seen map[string]int) bool { return seen["reviews-v1-b"] > 0 })

	// The original v1 endpoint is removed: no more traffic reaches it.
	start = time.Now()
	if err := e.server.Push(ctx, meshOf([]*backend{v1b, v2}, testRules(), subsetsRule())); err != nil {
		t.Fatal(err)
	}
	e.waitFor(t, start, "removed endpoint reviews-v1 stops receiving traffic", func(seen map[string]int) bool {
		return seen["reviews-v1"] == 0 && seen["reviews-v1-b"] >= 20
	})
}

// waitFor sends batches of 25 RPCs until one batch satisfies ok, and fails unless that happens within 1 s.
func (e *env) waitFor(t *testing.T, start time.Time, what string, ok func(map[string]int) bool) {
	t.Helper()
	for time.Since(start) < 3*time.Second {
		seen := map[string]int{}
		for range 25 {
			name, err := e.call("")
			if err != nil {
				t.Fatal(err)
			}
			seen[name]++
		}
		if ok(seen) {
			took := time.Since(start)
			t.Logf("%s after %v", what, took.Round(time.Millisecond))
			if took > time.Second {
				t.Fatalf("%s took %v, want under 1s", what, took)
			}
			return
		}
	}
	t.Fatalf("%s: not seen within 3s", what)
}

// quietLogger keeps the xDS server's debug chatter out of test output.
type quietLogger struct{}

func (quietLogger) Debugf(string, ...any) {}
func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Warnf(string, ...any)  {}
func (quietLogger) Errorf(f string, a ...any) {
	_ = strconv.Quote(fmt.Sprintf(f, a...))
}
