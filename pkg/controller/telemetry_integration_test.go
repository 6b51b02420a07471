package controller

import (
	"context"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	filev3 "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/file/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	telemetryapi "istio.io/api/telemetry/v1alpha1"
	telemetryv1 "istio.io/client-go/pkg/apis/telemetry/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"skiff.dev/skiff/internal/testenv"
)

// TestTelemetryMeshConfigWatched runs the controller against a real API server: a mesh-wide Telemetry
// naming a provider the mesh config does not define yet gives an Envoy sidecar no access log; creating
// the istio ConfigMap that defines it, then changing its path, reaches the sidecar over ADS each time; a
// malformed mesh config keeps the previous one.
func TestTelemetryMeshConfigWatched(t *testing.T) {
	env := testenv.Start(t)
	ctx, kube, istio := istioAPIServer(t, env, 60*time.Second)
	testenv.EnsureNamespace(t, kube, "istio-system", nil)
	mustCreate(t, func() error {
		_, err := kube.CoreV1().Services("default").Create(ctx, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "reviews"},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 9080}}},
		}, metav1.CreateOptions{})
		return err
	})
	mustCreate(t, func() error {
		_, err := istio.TelemetryV1().Telemetries("istio-system").Create(ctx, &telemetryv1.Telemetry{
			ObjectMeta: metav1.ObjectMeta{Name: "mesh-default"},
			Spec:       telemetryapi.Telemetry{AccessLogging: []*telemetryapi.AccessLogging{{Providers: []*telemetryapi.ProviderRef{{Name: "file-log"}}}}},
		}, metav1.CreateOptions{})
		return err
	})

	c := startController(ctx, t, env.Config, kube, nil)

	lds := newLDSWatch(ctx, t, c.XDSAddr())
	lds.await(t, "no access log while the provider is undefined", func(path string, ok bool) bool { return ok && path == "" })

	meshCM := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "istio", Namespace: "istio-system"},
		Data:       map[string]string{"mesh": "extensionProviders:\n- name: file-log\n  envoyFileAccessLog: {path: /var/log/a.log}\n"},
	}
	mustCreate(t, func() error {
		var err error
		meshCM, err = kube.CoreV1().ConfigMaps("istio-system").Create(ctx, meshCM, metav1.CreateOptions{})
		return err
	})
	lds.await(t, "access log to the provider's path", func(path string, _ bool) bool { return path == "/var/log/a.log" })

	meshCM.Data["mesh"] = "extensionProviders: 42\n"
	meshCM, err := kube.CoreV1().ConfigMaps("istio-system").Update(ctx, meshCM, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// A new Service forces a push built with whatever mesh config is current: still the last good one.
	mustCreate(t, func() error {
		_, err := kube.CoreV1().Services("default").Create(ctx, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "ratings"},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 9081}}},
		}, metav1.CreateOptions{})
		return err
	})
	lds.await(t, "the malformed mesh config keeps the last good one", func(path string, _ bool) bool {
		return lds.has("0.0.0.0_9081") && path == "/var/log/a.log"
	})

	meshCM.Data["mesh"] = "extensionProviders:\n- name: file-log\n  envoyFileAccessLog: {path: /var/log/b.log}\n"
	if _, err := kube.CoreV1().ConfigMaps("istio-system").Update(ctx, meshCM, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	lds.await(t, "the ConfigMap update reaches the sidecar", func(path string, _ bool) bool { return path == "/var/log/b.log" })
}

// ldsWatch is an Envoy sidecar's ADS stream for listeners, ACKing every response.
type ldsWatch struct {
	stream    discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesClient
	node      *corev3.Node
	listeners map[string]*listenerv3.Listener
}

func newLDSWatch(ctx context.Context, t *testing.T, addr string) *ldsWatch {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w := &ldsWatch{stream: stream, node: &corev3.Node{Id: "sidecar~10.1.0.1~productpage-v1.default~default.svc.cluster.local"}}
	if err := stream.Send(&discoveryv3.DiscoveryRequest{Node: w.node, TypeUrl: listenerType}); err != nil {
		t.Fatal(err)
	}
	return w
}

const listenerType = "type.googleapis.com/envoy.config.listener.v3.Listener"

func (w *ldsWatch) has(name string) bool { return w.listeners[name] != nil }

// await reads pushes until ok holds for the access log path of the outbound 9080 listener's HTTP
// connection manager ("" when it has none; found says whether the listener exists).
func (w *ldsWatch) await(t *testing.T, what string, ok func(path string, found bool) bool) {
	t.Helper()
	for {
		if path, found := w.accessLogPath(t); ok(path, found) {
			return
		}
		resp, err := w.stream.Recv()
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		w.listeners = map[string]*listenerv3.Listener{}
		for _, r := range resp.GetResources() {
			l := &listenerv3.Listener{}
			if err := r.UnmarshalTo(l); err != nil {
				t.Fatal(err)
			}
			w.listeners[l.GetName()] = l
		}
		if err := w.stream.Send(&discoveryv3.DiscoveryRequest{Node: w.node, TypeUrl: listenerType, VersionInfo: resp.GetVersionInfo(), ResponseNonce: resp.GetNonce()}); err != nil {
			t.Fatal(err)
		}
	}
}

func (w *ldsWatch) accessLogPath(t *testing.T) (string, bool) {
	l := w.listeners["0.0.0.0_9080"]
	if l == nil {
		return "", false
	}
	hcm := &hcmv3.HttpConnectionManager{}
	if err := l.GetFilterChains()[0].GetFilters()[0].GetTypedConfig().UnmarshalTo(hcm); err != nil {
		t.Fatal(err)
	}
	if len(hcm.GetAccessLog()) == 0 {
		return "", true
	}
	fl := &filev3.FileAccessLog{}
	if err := hcm.GetAccessLog()[0].GetTypedConfig().UnmarshalTo(fl); err != nil {
		t.Fatal(err)
	}
	return fl.GetPath(), true
}
