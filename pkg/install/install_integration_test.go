package install

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	corev1 "k8s.io/api/core/v1"

	"skiff.dev/skiff/internal/testenv"
	"skiff.dev/skiff/pkg/config"
	"skiff.dev/skiff/pkg/errs"
	"skiff.dev/skiff/pkg/kube"
	"skiff.dev/skiff/pkg/version"
)

var (
	virtualServices = schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: "virtualservices"}
	crdResource     = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
)

// labelled counts the objects of the given component that carry installation "default"'s labels.
func labelled(t *testing.T, c *kube.Clients, comp Component) int {
	t.Helper()
	objs, err := listManaged(context.Background(), c, managedKinds(), installationSelector("default")+","+LabelComponent+"="+string(comp))
	if err != nil {
		t.Fatal(err)
	}
	return len(objs)
}

func mustContain(t *testing.T, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

// TestInstallLifecycle drives the real profiles through a real API server: install minimal, upgrade to
// demo, prune back to minimal, verify, detect drift, uninstall and purge.
func TestInstallLifecycle(t *testing.T) {
	env := testenv.Start(t)
	c := clientsFor(t, env.Config)
	ctx := t.Context()
	mctx, stopMarking := context.WithCancel(ctx)
	defer stopMarking()
	markDeploymentsReady(mctx, t, c)

	install := func(t *testing.T, profile string, mod func(*Options)) string {
		t.Helper()
		var out bytes.Buffer
		o := Options{Profile: ProfileOptions{Profile: profile}, Yes: true, Wait: true, Timeout: 30 * time.Second, Streams: streams(&out)}
		if mod != nil {
			mod(&o)
		}
		if err := Install(ctx, c, o); err != nil {
			t.Fatalf("install %s: %v\n%s", profile, err, out.String())
		}
		return out.String()
	}

	t.Run("minimal", func(t *testing.T) {
		out := install(t, "minimal", nil)
		mustContain(t, out, "✔ Skiff core installed\n", "✔ Controller installed\n", "✔ Installation complete\n")
		if strings.Contains(out, "gateways installed") || strings.Contains(out, "Addons") {
			t.Errorf("minimal installed more than the core and controller:\n%s", out)
		}
		if labelled(t, c, ComponentIngressGateways) != 0 {
			t.Error("minimal created ingress gateway objects")
		}
	})

	t.Run("CRDs are served", func(t *testing.T) {
		vs := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
			"metadata": map[string]any{"name": "reviews", "namespace": "default"},
			"spec":     map[string]any{"hosts": []any{"reviews"}, "http": []any{map[string]any{"route": []any{map[string]any{"destination": map[string]any{"host": "reviews"}}}}}},
		}}
		if _, err := c.Dynamic.Resource(virtualServices).Namespace("default").Create(ctx, vs, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating a VirtualService after install: %v", err)
		}
	})

	t.Run("version --remote reads the installed controller", func(t *testing.T) {
		g := config.Global{Kubeconfig: env.Kubeconfig(t), MeshNamespace: config.DefaultMeshNamespace}
		remote, err := version.RemoteVersion(ctx, g)
		if err != nil {
			t.Fatal(err)
		}
		if remote.Version == "" || remote.Version != version.Get().Version {
			t.Fatalf("remote version %q, want this build's %q", remote.Version, version.Get().Version)
		}
	})

	t.Run("verify-install passes", func(t *testing.T) {
		var out bytes.Buffer
		if err := Verify(ctx, c, VerifyOptions{Profile: ProfileOptions{Profile: "minimal"}, Streams: streams(&out)}); err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
		mustContain(t, out.String(), "✔ All ", " objects of the minimal profile are installed and match")
	})

	t.Run("demo dry run changes nothing", func(t *testing.T) {
		out := install(t, "demo", func(o *Options) { o.DryRun = true; o.Yes = false })
		mustContain(t, out, "✔ Ingress gateways: 5 objects accepted by the API server (dry run)\n", "nothing was changed")
		if strings.Contains(out, "not checkable") || strings.Contains(out, "could not be checked") {
			t.Errorf("with the namespace and CRDs installed, the server should check every object:\n%s", out)
		}
		if labelled(t, c, ComponentAddons) != 0 {
			t.Error("a dry run created add-on objects")
		}
	})

	t.Run("upgrade to demo", func(t *testing.T) {
		out := install(t, "demo", nil)
		mustContain(t, out, "✔ Skiff core installed\n", "✔ Controller installed\n", "✔ Ingress gateways installed\n", "✔ Egress gateways installed\n", "✔ Addons installed\n✔ Installation complete\n")
		for _, comp := range []Component{ComponentIngressGateways, ComponentEgressGateways, ComponentAddons} {
			if labelled(t, c, comp) == 0 {
				t.Errorf("demo created no %s objects", comp)
			}
		}
	})

	t.Run("verify-install lists what the profile no longer has as stale", func(t *testing.T) {
		var out bytes.Buffer
		err := Verify(ctx, c, VerifyOptions{Profile: ProfileOptions{Profile: "minimal"}, Streams: streams(&out)})
		// demo's configuration differs from minimal's too, so some objects are drifted as well
		if err == nil || !strings.Contains(err.Error(), " stale (run 'skiff install' to repair)") || strings.Contains(err.Error(), " 0 stale") {
			t.Fatalf("want stale objects, got %v\n%s", err, out.String())
		}
		mustContain(t, out.String(), "Ingress gateways   Deployment istio-system/istio-ingressgateway", "stale", "not in the profile; 'skiff install' prunes it")
	})

	t.Run("back to minimal prunes gateways and add-ons", func(t *testing.T) {
		out := install(t, "minimal", nil)
		mustContain(t, out, "✔ Removed ", " objects no longer in the profile: ")
		for _, comp := range []Component{ComponentIngressGateways, ComponentEgressGateways, ComponentAddons} {
			if n := labelled(t, c, comp); n != 0 {
				t.Errorf("%d %s objects survived the prune", n, comp)
			}
		}
		if labelled(t, c, ComponentController) == 0 {
			t.Error("prune removed the controller")
		}
	})

	t.Run("verify-install reports missing and drifted objects", func(t *testing.T) {
		ms := renderProfile(t, "minimal")
		cm := firstOf(t, ms, "ConfigMap")
		if err := c.Typed.CoreV1().ConfigMaps(cm.GetNamespace()).Delete(ctx, cm.GetName(), metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		dep := firstOf(t, ms, "Deployment")
		patch := `[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"example.com/hijacked:1"}]`
		if _, err := c.Typed.AppsV1().Deployments(dep.GetNamespace()).Patch(ctx, dep.GetName(), types.JSONPatchType, []byte(patch), metav1.PatchOptions{FieldManager: "kubectl-edit"}); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		err := Verify(ctx, c, VerifyOptions{Profile: ProfileOptions{Profile: "minimal"}, Streams: streams(&out)})
		if errs.Code(err) != errs.ExitFailure || !strings.Contains(err.Error(), "2 of ") {
			t.Fatalf("want a failure naming 2 problems, got %v\n%s", err, out.String())
		}
		mustContain(t, out.String(), "COMPONENT", "ConfigMap "+cm.GetNamespace()+"/"+cm.GetName(), "missing",
			"Deployment "+dep.GetNamespace()+"/"+dep.GetName(), "drifted", `spec.template.spec.containers[0].image: "example.com/hijacked:1", want "`)

		install(t, "minimal", nil) // repairs both
		out.Reset()
		if err := Verify(ctx, c, VerifyOptions{Profile: ProfileOptions{Profile: "minimal"}, Streams: streams(&out)}); err != nil {
			t.Fatalf("install did not repair the drift: %v\n%s", err, out.String())
		}
	})

	unrelated := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "users-own", Namespace: "default", Labels: map[string]string{"app": "istiod"}}}
	t.Run("uninstall removes exactly the labelled objects, keeps the CRDs", func(t *testing.T) {
		if _, err := c.Typed.CoreV1().ConfigMaps("default").Create(ctx, unrelated, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		stopMarking()
		var out bytes.Buffer
		err := Uninstall(ctx, c, UninstallOptions{Yes: true, Timeout: 2 * time.Second, Streams: streams(&out)})
		if err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
		t.Log(out.String())
		mustContain(t, out.String(), "✔ Removed Controller (", "✔ Removed Skiff core (",
			"! Namespace istio-system is still terminating", "! Kept ", " CustomResourceDefinitions", "--purge", "✔ Uninstall complete")
		left, err := listManaged(ctx, c, managedKinds(), installationSelector("default"))
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range left {
			if k := o.GetKind(); k != "CustomResourceDefinition" && !(k == "Namespace" && o.GetDeletionTimestamp() != nil) {
				t.Errorf("%s survived uninstall", describe(o))
			}
		}
		if _, err := c.Typed.CoreV1().ConfigMaps("default").Get(ctx, "users-own", metav1.GetOptions{}); err != nil {
			t.Errorf("an unrelated ConfigMap did not survive: %v", err)
		}
		if _, err := c.Dynamic.Resource(virtualServices).Namespace("default").Get(ctx, "reviews", metav1.GetOptions{}); err != nil {
			t.Errorf("the user's VirtualService did not survive uninstall without --purge: %v", err)
		}
	})

	t.Run("uninstall --purge removes the CRDs", func(t *testing.T) {
		var out bytes.Buffer
		err := Install(ctx, c, Options{Profile: ProfileOptions{Profile: "minimal"}, Yes: true, Streams: streams(&out)})
		if err == nil || !strings.Contains(err.Error(), "because it is being terminated (wait until the namespace is gone, then retry)") || strings.Contains(err.Error(), "permission denied") {
			t.Errorf("installing into the terminating namespace: %v", err)
		}
		nctx, stop := context.WithCancel(ctx)
		defer stop()
		finalizeNamespaces(nctx, c)
		waitNamespaceGone(t, c, "istio-system")
		markDeploymentsReady(nctx, t, c)
		install(t, "minimal", nil) // installing again after an uninstall works
		out.Reset()
		if err := Uninstall(ctx, c, UninstallOptions{Yes: true, Purge: true, Timeout: 20 * time.Second, Streams: streams(&out)}); err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
		t.Log(out.String())
		mustContain(t, out.String(), "✔ Removed ", " CustomResourceDefinitions\n", "✔ Removed namespace istio-system\n✔ Uninstall complete")
		crds, err := c.Dynamic.Resource(crdResource).List(ctx, metav1.ListOptions{LabelSelector: installationSelector("default")})
		if err != nil {
			t.Fatal(err)
		}
		if len(crds.Items) != 0 {
			t.Errorf("%d CRDs survived --purge", len(crds.Items))
		}
		if _, err := c.Typed.CoreV1().ConfigMaps("default").Get(ctx, "users-own", metav1.GetOptions{}); err != nil {
			t.Errorf("an unrelated ConfigMap did not survive --purge: %v", err)
		}
		_, err = c.Dynamic.Resource(virtualServices).Namespace("default").Get(ctx, "reviews", metav1.GetOptions{})
		if !apierrors.IsNotFound(err) && !strings.Contains(strings.ToLower(errString(err)), "not found") {
			t.Errorf("VirtualServices are still served after --purge (err=%v)", err)
		}
	})
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func renderProfile(t *testing.T, name string) []Manifest {
	t.Helper()
	p, err := LoadProfile(ProfileOptions{Profile: name})
	if err != nil {
		t.Fatal(err)
	}
	ms, err := Render(p)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func firstOf(t *testing.T, ms []Manifest, kind string) *unstructured.Unstructured {
	t.Helper()
	for _, m := range ms {
		for _, o := range m.Objects {
			if o.GetKind() == kind && o.GetNamespace() != "" {
				return o
			}
		}
	}
	t.Fatalf("the profile renders no namespaced %s", kind)
	return nil
}

// finalizeNamespaces plays kube-controller-manager's namespace controller, which envtest lacks: it
// finishes the deletion of terminating namespaces (they are empty here) by removing their finalizer.
func finalizeNamespaces(ctx context.Context, c *kube.Clients) {
	go func() {
		for ctx.Err() == nil {
			list, err := c.Typed.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
			if err == nil {
				for i := range list.Items {
					if ns := &list.Items[i]; ns.DeletionTimestamp != nil && len(ns.Spec.Finalizers) > 0 {
						ns.Spec.Finalizers = nil
						_, _ = c.Typed.CoreV1().Namespaces().Finalize(ctx, ns, metav1.UpdateOptions{})
					}
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
}

func waitNamespaceGone(t *testing.T, c *kube.Clients, name string) {
	t.Helper()
	for range 100 {
		if _, err := c.Typed.CoreV1().Namespaces().Get(t.Context(), name, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("namespace %s was not finalized", name)
}
