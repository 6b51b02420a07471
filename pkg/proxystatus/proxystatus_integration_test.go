package proxystatus

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/structpb"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"skiff.dev/skiff/internal/testenv"
	"skiff.dev/skiff/pkg/config"
	"skiff.dev/skiff/pkg/errs"
	"skiff.dev/skiff/pkg/model"
	"skiff.dev/skiff/pkg/ui"
	"skiff.dev/skiff/pkg/xds"
)

const (
	meshNS      = "istio-system"
	productpage = "sidecar~10.1.0.7~productpage-v1-6b7.default~default.svc.cluster.local"
	reviews     = "sidecar~10.1.0.8~reviews-v1-5c4.default~default.svc.cluster.local"
	ratings     = "sidecar~10.1.0.9~ratings-v1-9f2.default~default.svc.cluster.local"
)

// TestProxyStatusThroughAPIServer runs the real xDS server in-process with two proxies on real ADS
// streams (one acknowledges, one rejects), serves its /debug/syncz behind a running istiod pod's port
// 15014 through the real API server's port-forward, and reads it as `skiff proxy-status` does.
func TestProxyStatusThroughAPIServer(t *testing.T) {
	env := testenv.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cs := kubernetes.NewForConfigOrDie(env.Config)
	kubelet := env.StartKubelet(t, "node-1")
	global := config.Global{Kubeconfig: env.Kubeconfig(t), MeshNamespace: meshNS, Namespace: "default"}

	srv := xds.NewServer(ctx, model.Build(model.Input{DomainSuffix: "cluster.local"}), nil)
	xdsAddr, monitoringAddr := serve(t, srv)
	testenv.RunningPod(t, cs, meshNS, "istiod-5d8f-x7k2p", "node-1", map[string]string{"app": "istiod"}, true)
	kubelet.Expose(meshNS, "istiod-5d8f-x7k2p", MonitoringPort, monitoringAddr)

	ads := discoveryv3.NewAggregatedDiscoveryServiceClient(dial(t, xdsAddr))
	// productpage subscribes to clusters and listeners and accepts both.
	pp := openStream(ctx, t, ads, productpage, "1.24.0")
	for _, typ := range []string{resource.ClusterType, resource.ListenerType} {
		if err := pp.Send(&discoveryv3.DiscoveryRequest{TypeUrl: typ}); err != nil {
			t.Fatal(err)
		}
		resp, err := pp.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if err := pp.Send(&discoveryv3.DiscoveryRequest{TypeUrl: typ, VersionInfo: resp.GetVersionInfo(), ResponseNonce: resp.GetNonce()}); err != nil {
			t.Fatal(err)
		}
	}
	// reviews rejects its clusters.
	rv := openStream(ctx, t, ads, reviews, "1.24.0")
	if err := rv.Send(&discoveryv3.DiscoveryRequest{TypeUrl: resource.ClusterType}); err != nil {
		t.Fatal(err)
	}
	resp, err := rv.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if err := rv.Send(&discoveryv3.DiscoveryRequest{TypeUrl: resource.ClusterType, ResponseNonce: resp.GetNonce(),
		ErrorDetail: &rpcstatus.Status{Code: 3, Message: "cluster BlackHoleCluster: unsupported"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, srv, func(doc xds.Syncz) bool {
		return len(doc.Proxies) == 2 && doc.Proxies[0].Sync[xds.LDS] == xds.Synced && doc.Proxies[1].Types[xds.CDS].Error != ""
	})

	// A second replica with its own proxy: each replica knows only the proxies connected to it.
	srv2 := xds.NewServer(ctx, model.Build(model.Input{DomainSuffix: "cluster.local"}), nil)
	xdsAddr2, monitoringAddr2 := serve(t, srv2)
	testenv.RunningPod(t, cs, meshNS, "istiod-5d8f-q9w3z", "node-1", map[string]string{"app": "istiod"}, true)
	kubelet.Expose(meshNS, "istiod-5d8f-q9w3z", MonitoringPort, monitoringAddr2)
	rt := openStream(ctx, t, discoveryv3.NewAggregatedDiscoveryServiceClient(dial(t, xdsAddr2)), ratings, "1.23.2")
	if err := rt.Send(&discoveryv3.DiscoveryRequest{TypeUrl: resource.EndpointType}); err != nil {
		t.Fatal(err)
	}
	eds, err := rt.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Send(&discoveryv3.DiscoveryRequest{TypeUrl: resource.EndpointType, VersionInfo: eds.GetVersionInfo(), ResponseNonce: eds.GetNonce()}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, srv2, func(doc xds.Syncz) bool { return len(doc.Proxies) == 1 && doc.Proxies[0].Sync[xds.EDS] == xds.Synced })

	t.Run("table", func(t *testing.T) {
		out := run(t, Options{Global: global})
		t.Logf("skiff proxy-status:\n%s", out)
		rows := fields(out)
		want := [][]string{
			{"NAME", "CDS", "LDS", "EDS", "RDS", "ISTIOD", "VERSION"},
			{"productpage-v1-6b7.default", "SYNCED", "SYNCED", "NOT", "SENT", "NOT", "SENT", "istiod-5d8f-x7k2p", "1.24.0"},
			{"ratings-v1-9f2.default", "NOT", "SENT", "NOT", "SENT", "SYNCED", "NOT", "SENT", "istiod-5d8f-q9w3z", "1.23.2"},
			{"reviews-v1-5c4.default", "STALE", "NOT", "SENT", "NOT", "SENT", "NOT", "SENT", "istiod-5d8f-x7k2p", "1.24.0"},
		}
		if !equal(rows, want) {
			t.Fatalf("table:\n%s\nwant rows %q", out, want)
		}
	})

	t.Run("detail shows the NACK", func(t *testing.T) {
		out := run(t, Options{Global: global, Proxy: "reviews-v1-5c4"})
		t.Logf("skiff proxy-status reviews-v1-5c4:\n%s", out)
		for _, part := range []string{"Proxy:      reviews-v1-5c4.default", "Node ID:    " + reviews, "Controller: istiod-5d8f-x7k2p",
			"✘ CDS: the proxy rejected version ", "cluster BlackHoleCluster: unsupported"} {
			if !strings.Contains(out, part) {
				t.Errorf("detail lacks %q:\n%s", part, out)
			}
		}
		cds := lineStarting(out, "CDS ")
		if !strings.Contains(cds, "STALE") || !strings.Contains(cds, "sotw") {
			t.Errorf("CDS row %q", cds)
		}
		if lds := lineStarting(out, "LDS "); !strings.Contains(lds, "NOT SENT") || !strings.Contains(lds, "not requested") {
			t.Errorf("LDS row %q", lds)
		}
	})

	t.Run("json", func(t *testing.T) {
		out := run(t, Options{Global: global, Proxy: "productpage-v1-6b7.default", Output: OutputJSON})
		doc, err := xds.ParseSyncz([]byte(out))
		if err != nil {
			t.Fatalf("-o json: %v\n%s", err, out)
		}
		if doc.Controller != "istiod-5d8f-q9w3z,istiod-5d8f-x7k2p" || len(doc.Proxies) != 1 || doc.Proxies[0].ID != productpage ||
			doc.Proxies[0].Controller != "istiod-5d8f-x7k2p" || doc.Proxies[0].Sync[xds.CDS] != xds.Synced {
			t.Fatalf("-o json: %s", out)
		}
	})

	t.Run("a replica that cannot be read is a warning", func(t *testing.T) {
		testenv.RunningPod(t, cs, meshNS, "istiod-5d8f-zzzzz", "node-1", map[string]string{"app": "istiod"}, true)
		defer func() {
			_ = cs.CoreV1().Pods(meshNS).Delete(context.Background(), "istiod-5d8f-zzzzz", metav1.DeleteOptions{})
		}()
		var out, stderr bytes.Buffer
		if err := Run(ctx, Options{Global: global, Streams: ui.Streams{Out: &out, Err: &stderr}}); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(stderr.String(), "! reading /debug/syncz from istio-system/istiod-5d8f-zzzzz port 15014: ") || len(fields(out.String())) != 4 {
			t.Fatalf("stdout:\n%s\nstderr:\n%s", out.String(), stderr.String())
		}
	})

	t.Run("unknown proxy", func(t *testing.T) {
		err := Run(ctx, Options{Global: global, Proxy: "ratings-v1", Streams: discard()})
		if err == nil || err.Error() != "no proxy ratings-v1 is connected to the controller (run 'skiff proxy-status' to list them)" || errs.Code(err) != 1 {
			t.Fatalf("got %v", err)
		}
	})

	t.Run("bad output", func(t *testing.T) {
		if err := Run(ctx, Options{Global: global, Output: "yaml", Streams: discard()}); errs.Code(err) != 64 {
			t.Fatalf("got %v", err)
		}
	})

	t.Run("no controller installed", func(t *testing.T) {
		g := global
		g.MeshNamespace = "other-mesh"
		err := Run(ctx, Options{Global: g, Streams: discard()})
		if err == nil || err.Error() != "the controller (istiod) is not installed in namespace other-mesh (no pod matches app=istiod); install the control plane with 'skiff install'" {
			t.Fatalf("got %v", err)
		}
	})

	t.Run("controller not ready", func(t *testing.T) {
		testenv.RunningPod(t, cs, "starting-mesh", "istiod-0", "node-1", map[string]string{"app": "istiod"}, false)
		g := global
		g.MeshNamespace = "starting-mesh"
		err := Run(ctx, Options{Global: g, Streams: discard()})
		if err == nil || !strings.HasPrefix(err.Error(), "the controller (istiod) is installed in starting-mesh but not ready: pod istiod-0") {
			t.Fatalf("got %v", err)
		}
	})

	t.Run("unreachable cluster", func(t *testing.T) {
		g := config.Global{Kubeconfig: unreachableKubeconfig(t), MeshNamespace: meshNS}
		err := Run(ctx, Options{Global: g, Streams: discard()})
		if err == nil || !strings.HasPrefix(err.Error(), "cannot reach the Kubernetes API server at https://127.0.0.1:1") || strings.Contains(err.Error(), "\n") {
			t.Fatalf("got %v", err)
		}
	})
}

// serve runs srv's ADS on one port and its /debug/syncz on another, as the controller does.
func serve(t *testing.T, srv *xds.Server) (xdsAddr, monitoringAddr string) {
	t.Helper()
	g := grpc.NewServer(xds.GRPCServerOptions()...)
	srv.Register(g)
	lis := listen(t)
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)
	mux := http.NewServeMux()
	mux.Handle(xds.SynczPath, srv.SynczHandler("ignored"))
	web := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	mon := listen(t)
	go func() { _ = web.Serve(mon) }()
	t.Cleanup(func() { _ = web.Close() })
	return lis.Addr().String(), mon.Addr().String()
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func dial(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// openStream opens an ADS stream whose first request carries the node, as Istio's agent fills it.
func openStream(ctx context.Context, t *testing.T, ads discoveryv3.AggregatedDiscoveryServiceClient, id, version string) discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesClient {
	t.Helper()
	stream, err := ads.StreamAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	meta, err := structpb.NewStruct(map[string]any{"ISTIO_VERSION": version})
	if err != nil {
		t.Fatal(err)
	}
	// Only the first request must carry the node; later ones leave it out, as Envoy does.
	return &nodeStream{AggregatedDiscoveryService_StreamAggregatedResourcesClient: stream, node: &corev3.Node{Id: id, Metadata: meta}}
}

// nodeStream adds the node to the first request sent.
type nodeStream struct {
	discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesClient
	node *corev3.Node
}

func (s *nodeStream) Send(r *discoveryv3.DiscoveryRequest) error {
	if s.node != nil {
		r.Node, s.node = s.node, nil
	}
	return s.AggregatedDiscoveryService_StreamAggregatedResourcesClient.Send(r)
}

func waitFor(t *testing.T, srv *xds.Server, ok func(xds.Syncz) bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok(srv.Syncz("")) {
		if time.Now().After(deadline) {
			t.Fatalf("the server never reached the expected state: %+v", srv.Syncz("").Proxies)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func run(t *testing.T, o Options) string {
	t.Helper()
	var out, stderr bytes.Buffer
	o.Streams = ui.Streams{Out: &out, Err: &stderr}
	if err := Run(context.Background(), o); err != nil {
		t.Fatalf("Run: %v\n%s%s", err, out.String(), stderr.String())
	}
	return out.String()
}

func fields(out string) [][]string {
	var rows [][]string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		rows = append(rows, strings.Fields(l))
	}
	return rows
}

func equal(a, b [][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if strings.Join(a[i], " ") != strings.Join(b[i], " ") {
			return false
		}
	}
	return true
}

func lineStarting(out, prefix string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}

func discard() ui.Streams { return ui.Streams{Out: io.Discard, Err: io.Discard} }

func unreachableKubeconfig(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
