package precheck

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"skiff.dev/skiff/internal/testenv"
	"skiff.dev/skiff/pkg/errs"
	"skiff.dev/skiff/pkg/install"
	"skiff.dev/skiff/pkg/kube"
)

// clients uses the client-side rate limits kube.New sets for real clusters.
func clients(t *testing.T, cfg *rest.Config) *kube.Clients {
	t.Helper()
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = 50, 100
	c, err := kube.FromConfig(cfg, "default")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func check(t *testing.T, c *kube.Clients) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := Check(t.Context(), c, Options{Profile: install.ProfileOptions{Profile: "demo"}, Out: &out})
	return out.String(), err
}

func TestPrecheckOnRealAPIServer(t *testing.T) {
	env := testenv.Start(t)
	admin := clients(t, env.Config)
	ctx := t.Context()

	t.Run("an admin on a fresh cluster passes", func(t *testing.T) {
		out, err := check(t, admin)
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		for _, want := range []string{
			"✔ Kubernetes version: v1.37.2 (minimum 1.30)\n",
			"✔ Permissions: allowed to create, patch, delete and list all ",
			"✔ Existing Istio: none found",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("a user without permissions fails the permission check", func(t *testing.T) {
		out, err := check(t, clients(t, env.ConfigFor(t, "nobody")))
		if errs.Code(err) != errs.ExitFailure {
			t.Fatalf("want exit 1, got %v", err)
		}
		for _, want := range []string{"✔ Kubernetes version", "✘ Permissions: missing get/create/patch/delete/list (all namespaces) namespaces;", "hint: install needs cluster-admin"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("a user who may not delete Deployments is told exactly that", func(t *testing.T) {
		grantAllButDeleteDeployments(t, admin, "deployer")
		out, err := check(t, clients(t, env.ConfigFor(t, "deployer")))
		if err == nil {
			t.Fatalf("precheck passed:\n%s", out)
		}
		if !strings.Contains(out, "✘ Permissions: missing delete deployments.apps in istio-system\n") {
			t.Errorf("output:\n%s", out)
		}
	})

	t.Run("an Istio installation not made by Skiff fails", func(t *testing.T) {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "istio-system"}}
		if _, err := admin.Typed.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		istiod := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "istiod", Namespace: "istio-system", Labels: map[string]string{"app": "istiod"}},
			Spec: appsv1.DeploymentSpec{
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "istiod"}},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "istiod"}},
					Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "discovery", Image: "docker.io/istio/pilot:1.24.0"}}},
				},
			},
		}
		if _, err := admin.Typed.AppsV1().Deployments("istio-system").Create(ctx, istiod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		out, err := check(t, admin)
		if errs.Code(err) != errs.ExitFailure || !strings.Contains(err.Error(), "1 of 3 checks failed") {
			t.Fatalf("want 1 of 3 checks failed, got %v\n%s", err, out)
		}
		want := "✘ Existing Istio: found an installation Skiff did not make: Deployment istio-system/istiod\n  hint: remove it first ('istioctl uninstall --purge'), or use another cluster\n"
		if !strings.Contains(out, want) {
			t.Errorf("output:\n%s\nwant it to contain:\n%s", out, want)
		}
	})
}

// grantAllButDeleteDeployments binds user to a ClusterRole allowing everything except deleting Deployments.
func grantAllButDeleteDeployments(t *testing.T, admin *kube.Clients, user string) {
	t.Helper()
	ctx := context.Background()
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: user},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"*"}, Verbs: []string{"*"}},
			{APIGroups: []string{"apiextensions.k8s.io", "rbac.authorization.k8s.io", "admissionregistration.k8s.io", "policy", "autoscaling", "networking.istio.io", "security.istio.io", "telemetry.istio.io"}, Resources: []string{"*"}, Verbs: []string{"*"}},
			{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"get", "list", "watch", "create", "patch", "update"}},
		},
	}
	if _, err := admin.Typed.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: user},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: user},
		Subjects:   []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: user}},
	}
	if _, err := admin.Typed.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestVersionTooOld serves only /version, from an old Kubernetes.
func TestVersionTooOld(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"major":"1","minor":"29","gitVersion":"v1.29.4"}`))
	}))
	defer srv.Close()
	r := checkVersion(clients(t, &rest.Config{Host: srv.URL}))
	if r.OK || r.Message != "v1.29.4 is older than the minimum 1.30" || !strings.Contains(r.Hint, "upgrade") {
		t.Fatalf("%+v", r)
	}
}
