package dashboard

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"

	"skiff.dev/skiff/internal/testenv"
	"skiff.dev/skiff/pkg/config"
	"skiff.dev/skiff/pkg/errs"
	"skiff.dev/skiff/pkg/ui"
)

// TestDashboardForwardsThroughAPIServer port-forwards through the real kube-apiserver to a node whose kubelet
// speaks the kubelet's own port-forward protocol, and fetches the "Kiali" page through the printed URL.
func TestDashboardForwardsThroughAPIServer(t *testing.T) {
	env := testenv.Start(t)
	cs := kubernetes.NewForConfigOrDie(env.Config)
	kubelet := env.StartKubelet(t, "node-a")
	global := config.Global{Kubeconfig: env.Kubeconfig(t), MeshNamespace: "istio-system"}

	backend := serveText(t, "kiali says hello")
	testenv.RunningPod(t, cs, "istio-system", "kiali-1", "node-a", map[string]string{"app": "kiali"}, true)
	kubelet.Expose("istio-system", "kiali-1", 20001, backend)

	t.Run("kiali", func(t *testing.T) {
		body := runAndFetch(t, Options{Global: global, Addon: "kiali", Address: "127.0.0.1"})
		if body != "kiali says hello" {
			t.Fatalf("fetched %q through the forward", body)
		}
	})

	t.Run("envoy by pod name in the current namespace", func(t *testing.T) {
		admin := serveText(t, "envoy admin")
		testenv.RunningPod(t, cs, "shop", "web-1", "node-a", map[string]string{"app": "web"}, true)
		kubelet.Expose("shop", "web-1", 15000, admin)
		g := global
		g.Namespace = "shop"
		if body := runAndFetch(t, Options{Global: g, Addon: "envoy", Pod: "web-1", Address: "127.0.0.1"}); body != "envoy admin" {
			t.Fatalf("fetched %q", body)
		}
	})

	t.Run("not installed names the selector and the hint", func(t *testing.T) {
		err := Run(context.Background(), Options{Global: global, Addon: "grafana", Address: "127.0.0.1", Streams: discard()})
		if err == nil || !strings.Contains(err.Error(), "grafana is not installed in namespace istio-system (no pod matches app=grafana)") ||
			!strings.Contains(err.Error(), "skiff install --profile demo") {
			t.Fatalf("got %v", err)
		}
	})

	t.Run("not ready", func(t *testing.T) {
		testenv.RunningPod(t, cs, "istio-system", "jaeger-1", "node-a", map[string]string{"app": "jaeger"}, false)
		err := Run(context.Background(), Options{Global: global, Addon: "jaeger", Address: "127.0.0.1", Streams: discard()})
		if err == nil || !strings.Contains(err.Error(), "jaeger is installed in istio-system but not ready") {
			t.Fatalf("got %v", err)
		}
	})

	t.Run("port in use", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		port := l.Addr().(*net.TCPAddr).Port
		err = Run(context.Background(), Options{Global: global, Addon: "kiali", Address: "127.0.0.1", Port: port, Streams: discard()})
		if err == nil || err.Error() != fmt.Sprintf("local port %d on 127.0.0.1 is in use; choose another with --port", port) || errs.Code(err) != 1 {
			t.Fatalf("got %v", err)
		}
	})

	t.Run("unreachable cluster", func(t *testing.T) {
		g := config.Global{Kubeconfig: writeUnreachableKubeconfig(t), MeshNamespace: "istio-system"}
		err := Run(context.Background(), Options{Global: g, Addon: "kiali", Streams: discard()})
		if err == nil || !strings.HasPrefix(err.Error(), "cannot reach the Kubernetes API server at https://127.0.0.1:1") {
			t.Fatalf("got %v", err)
		}
	})
}

// runAndFetch runs the dashboard, fetches its URL once it is ready, then stops it as Ctrl-C would.
func runAndFetch(t *testing.T, o Options) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	o.Streams = ui.Streams{Out: &out, Err: &out}
	var body string
	var fetchErr error
	o.Ready = func(url string) {
		defer cancel()
		resp, err := http.Get(url)
		if err != nil {
			fetchErr = err
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
	}
	if err := Run(ctx, o); err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	if fetchErr != nil {
		t.Fatal(fetchErr)
	}
	if !strings.Contains(out.String(), "✔ "+o.Addon+" is at http://127.0.0.1:") {
		t.Fatalf("output does not show the URL:\n%s", out.String())
	}
	return body
}

func serveText(t *testing.T, text string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, text) })}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return l.Addr().String()
}

func discard() ui.Streams { return ui.Streams{Out: io.Discard, Err: io.Discard} }
