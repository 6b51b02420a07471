package proxyconfig

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"

	adminv3 "github.com/envoyproxy/go-control-plane/envoy/admin/v3"
	"google.golang.org/protobuf/encoding/protojson"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"skiff.dev/skiff/internal/testenv"
	"skiff.dev/skiff/pkg/config"
	"skiff.dev/skiff/pkg/errs"
	"skiff.dev/skiff/pkg/ui"
)

// TestLiveMatchesTranslate is the proof that both sources share one renderer: a pod on a node of the real
// API server forwards its port 15000 to an Envoy admin stand-in serving the dump of pkg/xds's translation
// for that pod, and `proxy-config <view> <pod>` prints exactly what `x translate` prints for the same files.
func TestLiveMatchesTranslate(t *testing.T) {
	env := testenv.Start(t)
	cs := kubernetes.NewForConfigOrDie(env.Config)
	kubelet := env.StartKubelet(t, "node-a")
	translate := goldenCases[0].opts
	dump, err := TranslateDump(translate)
	if err != nil {
		t.Fatal(err)
	}
	admin := serveEnvoyAdmin(t, dump)

	proxyPod(t, cs, "default", "productpage-v1-0", corev1.PodRunning, true)
	kubelet.Expose("default", "productpage-v1-0", EnvoyAdminPort, admin)
	global := config.Global{Kubeconfig: env.Kubeconfig(t), MeshNamespace: "istio-system"}

	for _, v := range []View{Cluster, Listener, Route, Endpoint, All} {
		t.Run(string(v), func(t *testing.T) {
			o := RenderOptions{View: v}
			var offline, live bytes.Buffer
			translate.Streams, translate.Render = ui.Streams{Out: &offline}, o
			if err := RunTranslate(t.Context(), translate); err != nil {
				t.Fatal(err)
			}
			err := RunLive(t.Context(), LiveOptions{Global: global, Streams: ui.Streams{Out: &live, Err: &live}, Pod: "productpage-v1-0.default", Render: o})
			if err != nil {
				t.Fatal(err)
			}
			if live.String() != offline.String() {
				t.Errorf("proxy-config and x translate differ:\n--- live\n%s\n--- translate\n%s", live.String(), offline.String())
			}
			if v == Endpoint && !strings.Contains(live.String(), "10.1.1.3:9080") {
				t.Errorf("the live endpoint view lacks EDS endpoints (was include_eds asked for?):\n%s", live.String())
			}
		})
	}

	t.Run("errors", func(t *testing.T) {
		testenv.RunningPod(t, cs, "default", "plain-1", "node-a", nil, true)
		proxyPod(t, cs, "default", "pending-1", corev1.PodPending, false)
		proxyPod(t, cs, "default", "silent-1", corev1.PodRunning, true) // a sidecar whose admin port nobody serves
		g := global
		g.Namespace = "default"
		for pod, want := range map[string]string{
			"ghost":     "pod ghost not found in namespace default (use -n or pod.namespace)",
			"plain-1":   "pod default/plain-1 has no istio-proxy sidecar, so there is no Envoy to read; is the namespace labelled istio-injection=enabled?",
			"pending-1": "pod default/pending-1 is not running (phase Pending)",
			"silent-1":  "reading the Envoy admin API of default/silent-1 (port 15000): ",
		} {
			err := RunLive(t.Context(), LiveOptions{Global: g, Streams: ui.Streams{Out: &bytes.Buffer{}, Err: &bytes.Buffer{}}, Pod: pod, Render: RenderOptions{View: Cluster}})
			if errs.Code(err) != 1 || !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("%s: got %v (exit %d), want a one-line failure starting %q", pod, err, errs.Code(err), want)
			}
		}
	})
}

// serveEnvoyAdmin answers /config_dump as Envoy does: protojson, endpoints only with include_eds.
func serveEnvoyAdmin(t *testing.T, dump *adminv3.ConfigDump) string {
	t.Helper()
	withoutEDS := &adminv3.ConfigDump{Configs: dump.GetConfigs()[:len(dump.GetConfigs())-1]}
	mux := http.NewServeMux()
	mux.HandleFunc("/config_dump", func(w http.ResponseWriter, r *http.Request) {
		d := withoutEDS
		if r.URL.Query().Has("include_eds") {
			d = dump
		}
		b, err := protojson.MarshalOptions{Multiline: true}.Marshal(d)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return l.Addr().String()
}

// proxyPod creates an injected pod (app and istio-proxy containers) in the given phase.
func proxyPod(t *testing.T, cs kubernetes.Interface, namespace, name string, phase corev1.PodPhase, ready bool) {
	t.Helper()
	ctx := context.Background()
	testenv.EnsureNamespace(t, cs, namespace, nil)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: map[string]string{"app": "productpage"}},
		Spec: corev1.PodSpec{NodeName: "node-a", Containers: []corev1.Container{
			{Name: "productpage", Image: "example.invalid/productpage:1"},
			{Name: "istio-proxy", Image: "example.invalid/proxyv2:1"},
		}},
	}
	created, err := cs.CoreV1().Pods(namespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	created.Status.Phase = phase
	created.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}
	if _, err := cs.CoreV1().Pods(namespace).UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}
