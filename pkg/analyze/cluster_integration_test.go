package analyze

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"

	"skiff.dev/skiff/internal/testenv"
	"skiff.dev/skiff/pkg/errs"
	"skiff.dev/skiff/pkg/kube"
)

// TestClusterAnalysis runs analyze against a real API server with Istio's CRDs: first the cluster alone,
// then merged with a file that overrides one object and adds another.
func TestClusterAnalysis(t *testing.T) {
	_, c := istioCluster(t)
	ctx := t.Context()

	create := func(ns string, obj any) {
		t.Helper()
		var err error
		switch o := obj.(type) {
		case *corev1.Namespace:
			_, err = c.Typed.CoreV1().Namespaces().Create(ctx, o, metav1.CreateOptions{})
		case *corev1.Service:
			_, err = c.Typed.CoreV1().Services(ns).Create(ctx, o, metav1.CreateOptions{})
		case *corev1.Pod:
			_, err = c.Typed.CoreV1().Pods(ns).Create(ctx, o, metav1.CreateOptions{})
		case *unstructured.Unstructured:
			gvr := schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: strings.ToLower(o.GetKind()) + "s"}
			_, err = c.Dynamic.Resource(gvr).Namespace(ns).Create(ctx, o, metav1.CreateOptions{})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	create("", &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: map[string]string{"istio-injection": "enabled"}}})
	create("", &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "legacy"}})
	create("shop", &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "cart"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "cart"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	})
	create("shop", &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "cart-1", Labels: map[string]string{"app": "cart"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "cart", Image: "cart"}}},
	})
	create("shop", &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
		"metadata": map[string]any{"name": "cart"},
		"spec": map[string]any{"hosts": []any{"cart"}, "http": []any{map[string]any{
			"route": []any{map[string]any{"destination": map[string]any{"host": "kart"}}}}}},
	}})

	run := func(t *testing.T, o Options) ([]Message, error) {
		t.Helper()
		o.Clients = c
		yes := true
		o.UseKube = &yes
		st, err := o.validate()
		if err != nil {
			t.Fatal(err)
		}
		res, err := analyze(ctx, o, st)
		if err != nil {
			t.Fatal(err)
		}
		return res.Messages, Run(ctx, o)
	}

	t.Run("cluster", func(t *testing.T) {
		o := offline()
		o.AllNamespaces = true
		ms, err := run(t, o)
		assertCodes(t, ms, "IST0101 VirtualService shop/cart", "IST0102 Namespace default", "IST0102 Namespace legacy", "IST0103 Pod shop/cart-1")
		for _, m := range ms {
			if m.File != "" || m.Line != 0 {
				t.Errorf("cluster object message has a file location: %+v", m)
			}
		}
		if errs.Code(err) != errs.ExitIssuesFound {
			t.Errorf("exit code %d, want %d", errs.Code(err), errs.ExitIssuesFound)
		}
	})

	t.Run("namespace", func(t *testing.T) {
		o := offline()
		o.Global.Namespace = "legacy"
		ms, _ := run(t, o)
		assertCodes(t, ms, "IST0102 Namespace legacy")
	})

	t.Run("merged with files", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "fix.yaml")
		fix := `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: cart, namespace: shop}
spec:
  hosts: [cart]
  http:
  - route:
    - destination: {host: cart, subset: v1}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: cart, namespace: shop}
spec:
  host: cart
  subsets:
  - name: v1
    labels: {version: v1}
---
apiVersion: v1
kind: Service
metadata: {name: orphan, namespace: nowhere}
spec:
  ports: [{name: http, port: 80}]
`
		if err := os.WriteFile(file, []byte(fix), 0o644); err != nil {
			t.Fatal(err)
		}
		o := offline(file)
		o.Out = &bytes.Buffer{}
		ms, _ := run(t, o)
		// The file's VirtualService replaces the cluster's (no more "kart"), and its subset's labels are
		// checked against the cluster's pod.
		assertCodes(t, ms, "IST0103 Pod shop/cart-1", "SKF0003 DestinationRule shop/cart")
		o.AllNamespaces = true
		ms, _ = run(t, o)
		assertCodes(t, ms, "IST0102 Namespace default", "IST0102 Namespace legacy",
			"IST0103 Pod shop/cart-1", "SKF0003 DestinationRule shop/cart", "SKF0006 Service nowhere/orphan")
		for _, m := range ms {
			if m.Key.Kind == "DestinationRule" && (m.File != file || m.Line != 17) {
				t.Errorf("file object message lacks its location: %s:%d", m.File, m.Line)
			}
		}
	})
}

// istioCluster is a real API server with Istio's CRDs and clients for it whose namespace is shop.
func istioCluster(t *testing.T) (*testenv.Environment, *kube.Clients) {
	t.Helper()
	env := testenv.Start(t)
	c, err := kube.FromConfig(env.Config, "shop")
	if err != nil {
		t.Fatal(err)
	}
	env.InstallIstioCRDs(t)
	return env, c
}

func assertCodes(t *testing.T, ms []Message, want ...string) {
	t.Helper()
	var got []string
	for _, m := range ms {
		got = append(got, m.Type.Code+" "+m.Key.String())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("messages:\n  %s\nwant:\n  %s\n%s", strings.Join(got, "\n  "), strings.Join(want, "\n  "), fullText(ms))
	}
}
