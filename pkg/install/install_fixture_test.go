package install

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"

	"skiff.dev/skiff/internal/testenv"
	"skiff.dev/skiff/pkg/kube"
	"skiff.dev/skiff/pkg/ui"
)

// fixtureYAML is a small hand-written install, independent of the profiles, with what the apply, wait and
// prune logic must handle: a namespace, a CRD and an instance of it, Deployments in two components.
const fixtureYAML = `
component: Base
apiVersion: v1
kind: Namespace
metadata: {name: fixture-system}
---
component: Base
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.fixture.skiff.dev}
spec:
  group: fixture.skiff.dev
  names: {kind: Widget, plural: widgets, singular: widget}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
---
component: Base
apiVersion: v1
kind: ConfigMap
metadata: {name: mesh, namespace: fixture-system}
data: {mesh: "defaultConfig: {}"}
---
component: Controller
apiVersion: fixture.skiff.dev/v1
kind: Widget
metadata: {name: default, namespace: fixture-system}
spec: {size: 1}
---
component: Controller
apiVersion: apps/v1
kind: Deployment
metadata: {name: controller, namespace: fixture-system}
spec:
  selector: {matchLabels: {app: controller}}
  template:
    metadata: {labels: {app: controller}}
    spec:
      containers:
      - name: c
        image: skiff/controller:test
        resources: {requests: {cpu: 1000m, memory: 1024Mi}} # stored as "1" and "1Gi"
---
component: Addons
apiVersion: apps/v1
kind: Deployment
metadata: {name: addon, namespace: fixture-system}
spec:
  selector: {matchLabels: {app: addon}}
  template:
    metadata: {labels: {app: addon}}
    spec: {containers: [{name: c, image: skiff/addon:test}]}
`

// fixture parses fixtureYAML into manifests, labelled the way Render labels objects.
func fixture(t *testing.T) []Manifest {
	t.Helper()
	var out []Manifest
	for _, doc := range strings.Split(fixtureYAML, "\n---\n") {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			t.Fatal(err)
		}
		comp := Component(u.Object["component"].(string))
		delete(u.Object, "component")
		u.SetLabels(map[string]string{LabelManagedBy: ManagedByValue, LabelComponent: string(comp), LabelInstallation: "fixture"})
		if len(out) == 0 || out[len(out)-1].Component != comp {
			out = append(out, Manifest{Component: comp})
		}
		out[len(out)-1].Objects = append(out[len(out)-1].Objects, u)
	}
	return out
}

// clientsFor uses the client-side rate limits kube.New sets for real clusters.
func clientsFor(t *testing.T, cfg *rest.Config) *kube.Clients {
	t.Helper()
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = 50, 100
	c, err := kube.FromConfig(cfg, "default")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func streams(out *bytes.Buffer) ui.Streams {
	return ui.Streams{In: strings.NewReader(""), Out: out, Err: out}
}

// markDeploymentsReady plays the deployment controller and kubelets envtest does not have: until ctx
// ends, it reports every Skiff Deployment's wanted replicas as updated and available, through the status
// subresource as the real controller does. It returns the names it marked, once ctx ends.
func markDeploymentsReady(ctx context.Context, t *testing.T, c *kube.Clients) <-chan []string {
	done := make(chan []string, 1)
	go func() {
		marked := map[string]bool{}
		defer func() {
			var names []string
			for n := range marked {
				names = append(names, n)
			}
			done <- names
		}()
		for ctx.Err() == nil {
			list, err := c.Typed.AppsV1().Deployments("").List(ctx, metav1.ListOptions{LabelSelector: LabelManagedBy + "=" + ManagedByValue})
			if err == nil {
				for i := range list.Items {
					d := &list.Items[i]
					if deploymentNotReady(d) == "" {
						continue
					}
					setReady(d)
					if _, err := c.Typed.AppsV1().Deployments(d.Namespace).UpdateStatus(ctx, d, metav1.UpdateOptions{}); err == nil {
						marked[d.Namespace+"/"+d.Name] = true
					} else if !apierrors.IsConflict(err) && ctx.Err() == nil {
						t.Errorf("marking %s ready: %v", d.Name, err)
					}
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return done
}

func setReady(d *appsv1.Deployment) {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: want, UpdatedReplicas: want, ReadyReplicas: want, AvailableReplicas: want}
}

// TestFixtureInstall exercises apply, readiness waits, dry run, timeouts and half-way failures on a real
// API server, with a hand-written install so it does not depend on what the profiles contain.
func TestFixtureInstall(t *testing.T) {
	env := testenv.Start(t)
	c := clientsFor(t, env.Config)
	ctx := context.Background()

	t.Run("dry run changes nothing", func(t *testing.T) {
		var out bytes.Buffer
		err := installPlan(ctx, c, Options{DryRun: true, Wait: true, Streams: streams(&out)}, plan{profile: "fixture", installation: "fixture", manifests: fixture(t)})
		if err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
		if _, err := c.Typed.CoreV1().Namespaces().Get(ctx, "fixture-system", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("dry run created the namespace (err=%v)", err)
		}
		for _, want := range []string{
			"✔ Skiff core: 2 accepted by the API server, 1 not checkable yet (dry run)\n",
			"✔ Controller: 0 accepted by the API server, 2 not checkable yet (dry run)\n",
			"! 4 objects could not be checked (ConfigMap fixture-system/mesh, Widget fixture-system/default and 2 more)",
			"✔ Dry run of the fixture profile complete: nothing was changed\n",
		} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("output lacks %q:\n%s", want, out.String())
			}
		}
	})

	t.Run("timeout names what is not ready and what was applied", func(t *testing.T) {
		var out bytes.Buffer
		start := time.Now()
		err := installPlan(ctx, c, Options{Yes: true, Wait: true, Timeout: time.Second, Streams: streams(&out)}, plan{profile: "fixture", installation: "fixture", manifests: fixture(t)})
		if err == nil {
			t.Fatalf("no controller makes the Deployment available, yet install succeeded:\n%s", out.String())
		}
		if time.Since(start) < time.Second {
			t.Errorf("gave up after %s, before --timeout", time.Since(start))
		}
		for _, want := range []string{"Controller: not ready after", "Deployment fixture-system/controller: rollout not observed by the deployment controller yet", "; see 'kubectl -n fixture-system get pods', or allow more than --timeout=1s (fully applied", "fully applied: Skiff core", "not applied: Addons"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %q: %v", want, err)
			}
		}
		if !strings.Contains(out.String(), "- Waiting for Controller to be ready: Deployment fixture-system/controller") {
			t.Errorf("no step line while waiting:\n%s", out.String())
		}
		if _, err := c.Dynamic.Resource(widgets).Namespace("fixture-system").Get(ctx, "default", metav1.GetOptions{}); err != nil {
			t.Errorf("the Widget (a CR of a CRD applied in the same run) was not applied: %v", err)
		}
	})

	t.Run("waits until the Deployments are available", func(t *testing.T) {
		mctx, stop := context.WithCancel(ctx)
		marked := markDeploymentsReady(mctx, t, c)
		var out bytes.Buffer
		err := installPlan(ctx, c, Options{Yes: true, Wait: true, Timeout: 20 * time.Second, Streams: streams(&out)}, plan{profile: "fixture", installation: "fixture", manifests: fixture(t)})
		stop()
		if err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
		if n := len(<-marked); n != 2 {
			t.Errorf("expected both Deployments to have been waited for, %d were marked", n)
		}
		want := "- Waiting for Controller to be ready: Deployment fixture-system/controller\n✔ Controller installed\n- Waiting for Addons to be ready: Deployment fixture-system/addon\n✔ Addons installed\n✔ Installation complete\n"
		if !strings.HasSuffix(out.String(), want) {
			t.Errorf("output:\n%s\nwant it to end with:\n%s", out.String(), want)
		}
	})

	t.Run("verify: server normalisation is not drift, an edit is", func(t *testing.T) {
		var out bytes.Buffer
		if err := verifyPlan(ctx, c, streams(&out), plan{profile: "fixture", installation: "fixture", manifests: fixture(t)}); err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
		cm, err := c.Typed.CoreV1().ConfigMaps("fixture-system").Get(ctx, "mesh", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cm.Data["mesh"] = "defaultConfig: {concurrency: 8}"
		if _, err := c.Typed.CoreV1().ConfigMaps("fixture-system").Update(ctx, cm, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
			t.Fatal(err)
		}
		out.Reset()
		err = verifyPlan(ctx, c, streams(&out), plan{profile: "fixture", installation: "fixture", manifests: fixture(t)})
		if err == nil || err.Error() != "1 of 6 objects of the fixture profile are missing or drifted, 0 stale (run 'skiff install' to repair)" {
			t.Fatalf("got %v\n%s", err, out.String())
		}
		want := "COMPONENT    OBJECT                          STATUS    DETAIL\n" +
			"Skiff core   ConfigMap fixture-system/mesh   drifted   data.mesh: \"defaultConfig: {concurrency: 8}\", want \"defaultConfig: {}\"\n"
		if out.String() != want {
			t.Errorf("table:\n%s\nwant:\n%s", out.String(), want)
		}
	})

	t.Run("prune removes what the new manifests dropped", func(t *testing.T) {
		ms := fixture(t)
		ms = ms[:len(ms)-1] // no Addons any more
		unrelated := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "users-own", Namespace: "fixture-system"},
			Spec: appsv1.DeploymentSpec{
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "u"}},
				Template: podTemplate("u"),
			},
		}
		if _, err := c.Typed.AppsV1().Deployments("fixture-system").Create(ctx, unrelated, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := installPlan(ctx, c, Options{Yes: true, Streams: streams(&out)}, plan{profile: "fixture", installation: "fixture", manifests: ms}); err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
		if _, err := c.Typed.AppsV1().Deployments("fixture-system").Get(ctx, "addon", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("the add-on Deployment was not pruned (err=%v)", err)
		}
		if _, err := c.Typed.AppsV1().Deployments("fixture-system").Get(ctx, "users-own", metav1.GetOptions{}); err != nil {
			t.Errorf("an unlabelled Deployment was touched: %v", err)
		}
		if !strings.Contains(out.String(), "✔ Removed 1 object no longer in the profile: Deployment fixture-system/addon") {
			t.Errorf("output:\n%s", out.String())
		}
	})

	t.Run("a failure half-way names what was and was not applied", func(t *testing.T) {
		ms := fixture(t)
		bad := ms[1].Objects[1] // the controller Deployment
		if err := unstructured.SetNestedField(bad.Object, "Nope", "spec", "strategy", "type"); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		err := installPlan(ctx, c, Options{Yes: true, Streams: streams(&out)}, plan{profile: "fixture", installation: "fixture", manifests: ms})
		if err == nil {
			t.Fatal("an invalid Deployment was accepted")
		}
		for _, want := range []string{"Controller: Deployment fixture-system/controller:", "fully applied: Skiff core; not applied: Controller, Addons"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %q: %v", want, err)
			}
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("error is not one line: %q", err)
		}
		if !strings.Contains(out.String(), "✘ Controller failed after 1 of 2 objects") {
			t.Errorf("output:\n%s", out.String())
		}
	})

	t.Run("uninstall keeps a namespace that holds objects Skiff did not create", func(t *testing.T) {
		retired := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "from-a-newer-skiff", Namespace: "default",
			Labels: map[string]string{LabelManagedBy: ManagedByValue, LabelInstallation: "fixture", LabelComponent: "Retired"}}}
		if _, err := c.Typed.CoreV1().ConfigMaps("default").Create(ctx, retired, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := Uninstall(ctx, c, UninstallOptions{Installation: "fixture", Yes: true, Timeout: 5 * time.Second, Streams: streams(&out)}); err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
		want := "✔ Removed Controller (2 objects)\n✔ Removed Skiff core (1 object)\n✔ Removed other objects (1 object)\n" +
			"! Kept namespace fixture-system: it holds objects Skiff did not create (Deployment fixture-system/users-own)\n" +
			"! Kept 1 CustomResourceDefinitions: they hold your mesh configuration (VirtualServices, ...); 'skiff uninstall --purge' removes them\n" +
			"✔ Uninstall complete\n"
		if out.String() != want {
			t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
		}
		if _, err := c.Dynamic.Resource(widgets).Namespace("fixture-system").Get(ctx, "default", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("the labelled Widget survived (err=%v)", err)
		}
		out.Reset()
		if err := Uninstall(ctx, c, UninstallOptions{Installation: "fixture", Yes: true, Streams: streams(&out)}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "Kept namespace fixture-system") {
			t.Errorf("a second uninstall should find only the kept namespace and CRD:\n%s", out.String())
		}
	})
}
