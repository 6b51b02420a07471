package check

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"skiff.dev/skiff/internal/testenv"
	"skiff.dev/skiff/pkg/config"
	"skiff.dev/skiff/pkg/errs"
	"skiff.dev/skiff/pkg/inject"
	"skiff.dev/skiff/pkg/install"
	"skiff.dev/skiff/pkg/kube"
	"skiff.dev/skiff/pkg/proxystatus"
	"skiff.dev/skiff/pkg/version"
	"skiff.dev/skiff/pkg/xds"
)

const meshNS = "istio-system"

// allChecks are the stable names a healthy installation reports, in order.
var allChecks = []string{nameControllerReady, nameWebhooksConfigured, nameWebhooksCABundle, nameWebhookCertExpiry, nameCRDsServed, nameRootCertExpiry, nameVersionSkew, nameProxiesSynced}

// TestCheckInstalledMesh installs the minimal profile into a real API server, plays the parts envtest lacks
// (Deployment status, a running istiod pod whose ports 15014 and 15017 are served in-process through the
// kubelet's real port-forward protocol, the caBundle and root ConfigMap the controller would write), sees
// every check pass, then breaks one thing at a time and sees exactly the matching check fail.
func TestCheckInstalledMesh(t *testing.T) {
	env := testenv.Start(t)
	ctx := t.Context()
	g := config.Global{Kubeconfig: env.Kubeconfig(t), MeshNamespace: meshNS}
	c, err := kube.FromConfig(env.Config, "default")
	if err != nil {
		t.Fatal(err)
	}
	markCtx, stopMarking := context.WithCancel(ctx)
	marking := markDeploymentsReady(markCtx, c)
	defer func() { stopMarking(); <-marking }()

	installMinimal(t, ctx, g)

	now := time.Now()
	root := newCA(t, "skiff-root", now.Add(-time.Hour), now.Add(3650*day))
	leaf := root.issueLeaf(t, serviceDNSName(meshNS), now.Add(-time.Hour), now.Add(30*day))
	setCABundle(t, c, root.pem())
	if _, err := c.Typed.CoreV1().ConfigMaps(meshNS).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: rootCertConfigMap, Namespace: meshNS},
		Data:       map[string]string{"root-cert.pem": string(root.pem())},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	kubelet := env.StartKubelet(t, "node-1")
	testenv.RunningPod(t, c.Typed, meshNS, "istiod-7f9c-abcde", "node-1", map[string]string{"app": "istiod", "istio.io/rev": "default"}, true)
	webhookSrv := httptest.NewUnstartedServer(http.NotFoundHandler())
	webhookSrv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{leaf.cert.Raw}, PrivateKey: leaf.key}}}
	webhookSrv.StartTLS()
	t.Cleanup(webhookSrv.Close)
	var proxiesJSON atomic.Pointer[string]
	synced := `{"proxies":[{"id":"sidecar~10.1.0.7~productpage-v1-6b746f74dc-9stvs.default~default.svc.cluster.local","sync":{"CDS":"SYNCED","LDS":"SYNCED","RDS":"SYNCED","EDS":"SYNCED"}}]}`
	proxiesJSON.Store(&synced)
	debugSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != xds.SynczPath {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(*proxiesJSON.Load()))
	}))
	t.Cleanup(debugSrv.Close)
	kubelet.Expose(meshNS, "istiod-7f9c-abcde", webhookPort, webhookSrv.Listener.Addr().String())
	kubelet.Expose(meshNS, "istiod-7f9c-abcde", proxystatus.MonitoringPort, debugSrv.Listener.Addr().String())
	injectedPod(t, c, "productpage-v1-6b746f74dc-9stvs", version.Get().Version)

	check := func(t *testing.T, output string) (string, error) {
		t.Helper()
		var out bytes.Buffer
		err := Run(ctx, g, Options{Out: &out, Output: output})
		return out.String(), err
	}
	// wantOnly asserts that exactly the named check has status s and every other one passes.
	wantOnly := func(t *testing.T, name string, s Status, msgPart string) {
		t.Helper()
		out, err := check(t, "json")
		var doc Document
		if jerr := json.Unmarshal([]byte(out), &doc); jerr != nil {
			t.Fatalf("-o json is not JSON: %v\n%s", jerr, out)
		}
		for _, r := range doc.Checks {
			want := StatusOK
			if r.Name == name {
				want = s
				if !strings.Contains(r.Message, msgPart) {
					t.Errorf("%s: message %q lacks %q", name, r.Message, msgPart)
				}
			}
			if r.Status != want {
				t.Errorf("%s: %s (%s), want %s", r.Name, r.Status, r.Message, want)
			}
		}
		if wantCode := map[Status]int{StatusOK: 0, StatusWarning: 0, StatusError: 1}[s]; errs.Code(err) != wantCode {
			t.Errorf("exit code %d (%v), want %d", errs.Code(err), err, wantCode)
		}
		if s == StatusError {
			lines, _ := check(t, "")
			if !strings.Contains(lines, "✘ "+name+": ") || !strings.Contains(lines, "; see docs/checks.md#"+name+"\n") {
				t.Errorf("the report lacks the failure line and hint for %s:\n%s", name, lines)
			}
		}
	}

	t.Run("a healthy installation passes", func(t *testing.T) {
		out, err := check(t, "")
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		for _, name := range allChecks {
			if !strings.Contains(out, "✔ "+name+": ") {
				t.Errorf("no passing line for %s:\n%s", name, out)
			}
		}
		t.Logf("skiff check:\n%s", out)
		mustContain(t, out, "the served certificate chains to it", "all 1 proxy is SYNCED", "1 proxy on the same release", "✔ Status check results: all 8 checks passed\n")
		wantOnly(t, "", StatusOK, "")
	})

	t.Run("a reader who may not port-forward", func(t *testing.T) {
		readOnly(t, c, "checkers")
		var out bytes.Buffer
		err := Run(ctx, config.Global{Kubeconfig: env.KubeconfigFor(t, "reader", "checkers"), MeshNamespace: meshNS}, Options{Out: &out})
		if errs.Code(err) != 1 {
			t.Errorf("exit code %d, want 1", errs.Code(err))
		}
		t.Logf("skiff check as a reader:\n%s", out.String())
		mustContain(t, out.String(), "✔ skiff-webhook-cert-expiry: caBundle certificate \"skiff-root\" is valid for", "; served certificate not checked (port-forward to istio-system/istiod-7f9c-abcde: ",
			"✘ skiff-proxies-synced: reading the controller's /debug/syncz: port-forward to istio-system/istiod-7f9c-abcde: ", "skiff check needs permission to create pods/portforward in namespace istio-system; see docs/checks.md#skiff-proxies-synced", "✔ skiff-crds-served", "✔ skiff-version-skew")
	})

	t.Run("an expired caBundle", func(t *testing.T) {
		old := newCA(t, "old-root", now.Add(-400*day), now.Add(-day))
		setCABundle(t, c, old.pem())
		defer setCABundle(t, c, root.pem())
		wantOnly(t, nameWebhookCertExpiry, StatusError, `caBundle certificate "old-root" expired`)
	})

	t.Run("a caBundle the served certificate does not chain to", func(t *testing.T) {
		other := newCA(t, "other-root", now.Add(-time.Hour), now.Add(3650*day))
		setCABundle(t, c, other.pem())
		defer setCABundle(t, c, root.pem())
		wantOnly(t, nameWebhookCertExpiry, StatusError, "does not verify against the caBundle")
	})

	t.Run("a root certificate about to expire is only a warning", func(t *testing.T) {
		soon := newCA(t, "soon-root", now.Add(-day), now.Add(10*day))
		setRootConfigMap(t, c, soon.pem())
		defer setRootConfigMap(t, c, root.pem())
		wantOnly(t, nameRootCertExpiry, StatusWarning, `root certificate "soon-root" expires in`)
	})

	t.Run("a stale proxy", func(t *testing.T) {
		stale := strings.Replace(synced, `"RDS":"SYNCED"`, `"RDS":"STALE"`, 1)
		proxiesJSON.Store(&stale)
		defer proxiesJSON.Store(&synced)
		wantOnly(t, nameProxiesSynced, StatusError, "1 of 1 proxy is STALE: sidecar~10.1.0.7~productpage-v1-6b746f74dc-9stvs.default~default.svc.cluster.local (RDS)")
	})

	t.Run("a proxy one minor release behind is only a warning", func(t *testing.T) {
		injectedPod(t, c, "reviews-v1-old", "0.0.1") // 0.1.0-dev vs 0.0.1: one minor apart, a warning
		defer func() { _ = c.Typed.CoreV1().Pods("default").Delete(ctx, "reviews-v1-old", metav1.DeleteOptions{}) }()
		wantOnly(t, nameVersionSkew, StatusWarning, "1 proxy at 0.0.1 (e.g. default/reviews-v1-old)")
	})

	t.Run("a deleted CRD", func(t *testing.T) {
		if err := c.Dynamic.Resource(crdResource).Delete(ctx, "telemetries.telemetry.istio.io", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		wantOnly(t, nameCRDsServed, StatusError, "telemetries.telemetry.istio.io")
	})

	t.Run("an unready controller", func(t *testing.T) {
		stopMarking()
		<-marking
		d, err := c.Typed.AppsV1().Deployments(meshNS).Get(ctx, version.ControllerName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		d.Status.ReadyReplicas, d.Status.AvailableReplicas = 0, 0
		if _, err := c.Typed.AppsV1().Deployments(meshNS).UpdateStatus(ctx, d, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		out, err := check(t, "")
		if errs.Code(err) != 1 {
			t.Errorf("exit code %d, want 1", errs.Code(err))
		}
		t.Logf("skiff check:\n%s", out)
		mustContain(t, out, "✘ skiff-controller-ready: Deployment istio-system/istiod: 0 of 1 replicas ready", "see docs/checks.md#skiff-controller-ready\n", "✘ skiff-crds-served")
	})

	t.Run("--pre runs the pre-install checks", func(t *testing.T) {
		var out bytes.Buffer
		_ = Run(ctx, g, Options{Pre: true, Out: &out, Profile: install.ProfileOptions{Profile: "minimal"}})
		mustContain(t, out.String(), "Kubernetes version: ", "Permissions: ")
	})
}

// TestCheckBadInput: no kubeconfig, an unreachable cluster and a bad -o are one-line errors.
func TestCheckBadInput(t *testing.T) {
	dir := t.TempDir()
	unreachable := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(unreachable, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		g    config.Global
		o    Options
		code int
		want string
	}{
		{"no kubeconfig", config.Global{Kubeconfig: filepath.Join(dir, "missing")}, Options{}, errs.ExitFailure, "no usable kubeconfig"},
		{"unreachable", config.Global{Kubeconfig: unreachable}, Options{}, errs.ExitFailure, "cannot reach the Kubernetes API server at https://127.0.0.1:1"},
		{"bad output", config.Global{Kubeconfig: unreachable}, Options{Output: "yaml"}, errs.ExitUsage, `unknown output format "yaml"`},
		{"pre with json", config.Global{Kubeconfig: unreachable}, Options{Pre: true, Output: "json"}, errs.ExitUsage, "--pre prints lines only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			tc.o.Out = &out
			err := Run(t.Context(), tc.g, tc.o)
			if err == nil || errs.Code(err) != tc.code || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("got %v (exit %d), want exit %d, one line containing %q", err, errs.Code(err), tc.code, tc.want)
			}
		})
	}
}

func mustContain(t *testing.T, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

// setCABundle writes bundle into every webhook of Skiff's webhook configurations, as the controller does.
func setCABundle(t *testing.T, c *kube.Clients, bundle []byte) {
	t.Helper()
	ctx := context.Background()
	sel := metav1.ListOptions{LabelSelector: install.LabelManagedBy + "=" + install.ManagedByValue}
	ar := c.Typed.AdmissionregistrationV1()
	mut, err := ar.MutatingWebhookConfigurations().List(ctx, sel)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range mut.Items {
		for i := range w.Webhooks {
			w.Webhooks[i].ClientConfig.CABundle = bundle
		}
		if _, err := ar.MutatingWebhookConfigurations().Update(ctx, &w, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	val, err := ar.ValidatingWebhookConfigurations().List(ctx, sel)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range val.Items {
		for i := range w.Webhooks {
			w.Webhooks[i].ClientConfig.CABundle = bundle
		}
		if _, err := ar.ValidatingWebhookConfigurations().Update(ctx, &w, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if len(mut.Items) == 0 || len(val.Items) == 0 {
		t.Fatalf("install created %d mutating and %d validating webhook configurations", len(mut.Items), len(val.Items))
	}
}

func setRootConfigMap(t *testing.T, c *kube.Clients, pemData []byte) {
	t.Helper()
	cms := c.Typed.CoreV1().ConfigMaps(meshNS)
	cm, err := cms.Get(context.Background(), rootCertConfigMap, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Data["root-cert.pem"] = string(pemData)
	if _, err := cms.Update(context.Background(), cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// injectedPod creates a pod the way injection leaves it: the status annotation and an istio-proxy container.
func injectedPod(t *testing.T, c *kube.Clients, name, proxyVersion string) {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Annotations: map[string]string{
			inject.AnnotationStatus: `{"initContainers":["istio-init"],"containers":["istio-proxy"],"volumes":[],"imagePullSecrets":null,"revision":"default"}`,
		}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{
			{Name: "app", Image: "example.invalid/productpage:1.18"},
			{Name: proxyContainer, Image: inject.DefaultHub + "/skiff-proxy:" + proxyVersion},
		}},
	}
	if _, err := c.Typed.CoreV1().Pods("default").Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// markDeploymentsReady plays the deployment controller envtest does not run: until ctx ends, it reports
// every Skiff Deployment's replicas as ready. The returned channel closes when it has stopped.
func markDeploymentsReady(ctx context.Context, c *kube.Clients) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			list, err := c.Typed.AppsV1().Deployments("").List(ctx, metav1.ListOptions{LabelSelector: install.LabelManagedBy + "=" + install.ManagedByValue})
			if err == nil {
				for i := range list.Items {
					d := &list.Items[i]
					if markReady(d) {
						if _, err := c.Typed.AppsV1().Deployments(d.Namespace).UpdateStatus(ctx, d, metav1.UpdateOptions{}); err != nil && !apierrors.IsConflict(err) {
							continue
						}
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

// markReady sets d's status to fully rolled out, reporting whether it changed anything.
func markReady(d *appsv1.Deployment) bool {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	s := appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: want, UpdatedReplicas: want, ReadyReplicas: want, AvailableReplicas: want}
	if d.Status.ObservedGeneration == s.ObservedGeneration && d.Status.ReadyReplicas == want && d.Status.AvailableReplicas == want && d.Status.UpdatedReplicas == want {
		return false
	}
	d.Status = s
	return true
}

// readOnly lets group get and list everything, which does not include creating pods/portforward.
func readOnly(t *testing.T, c *kube.Clients, group string) {
	t.Helper()
	ctx := context.Background()
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: group}, Rules: []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"get", "list"}}}}
	if _, err := c.Typed.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: group},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: group},
		Subjects:   []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "Group", Name: group}},
	}
	if _, err := c.Typed.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}
