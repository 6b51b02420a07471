package install

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"skiff.dev/skiff/internal/testenv"
	"skiff.dev/skiff/pkg/config"
	"skiff.dev/skiff/pkg/errs"
	"skiff.dev/skiff/pkg/kube"
)

// unreachableKubeconfig points at a port nothing listens on.
func unreachableKubeconfig(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	const kc = `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`
	if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRunReportsBadInputBeforeTheCluster(t *testing.T) {
	g := config.Global{Kubeconfig: unreachableKubeconfig(t), MeshNamespace: config.DefaultMeshNamespace}
	var out bytes.Buffer
	err := Run(context.Background(), g, Options{Profile: ProfileOptions{Profile: "no-such-profile"}, Yes: true, Streams: streams(&out)})
	if errs.Code(err) != errs.ExitBadInput {
		t.Fatalf("unknown profile: got %v (exit %d), want exit %d", err, errs.Code(err), errs.ExitBadInput)
	}
	err = RunVerify(context.Background(), g, VerifyOptions{Profile: ProfileOptions{Profile: "minimal", Sets: []string{"no equals sign"}}, Streams: streams(&out)})
	if errs.Code(err) != errs.ExitBadInput {
		t.Fatalf("bad --set: got %v (exit %d), want exit %d", err, errs.Code(err), errs.ExitBadInput)
	}
}

func TestRunUnreachableClusterIsOneLine(t *testing.T) {
	g := config.Global{Kubeconfig: unreachableKubeconfig(t), MeshNamespace: config.DefaultMeshNamespace}
	var out bytes.Buffer
	for name, run := range map[string]func() error{
		"install": func() error {
			return Run(context.Background(), g, Options{Profile: ProfileOptions{Profile: "minimal"}, Yes: true, Streams: streams(&out)})
		},
		"uninstall": func() error {
			return RunUninstall(context.Background(), g, UninstallOptions{Yes: true, Streams: streams(&out)})
		},
		"verify-install": func() error { return RunVerify(context.Background(), g, VerifyOptions{Streams: streams(&out)}) },
	} {
		err := run()
		if errs.Code(err) != errs.ExitFailure || !strings.Contains(err.Error(), "cannot reach the Kubernetes API server at https://127.0.0.1:1") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: want one line naming the server, got %q", name, err)
		}
	}
	if out.Len() != 0 {
		t.Errorf("nothing should be printed before the cluster answers:\n%s", out.String())
	}
}

// TestInstallWithoutPermissions: RBAC denials are one line naming the verb and resource, and say that
// nothing was applied.
func TestInstallWithoutPermissions(t *testing.T) {
	env := testenv.Start(t)
	install := func(c *kube.Clients) (string, error) {
		var out bytes.Buffer
		err := Install(t.Context(), c, Options{Profile: ProfileOptions{Profile: "minimal"}, Yes: true, Wait: true, Streams: streams(&out)})
		if err == nil {
			t.Fatalf("install without permissions succeeded:\n%s", out.String())
		}
		if strings.Contains(err.Error(), "\n") || errs.Code(err) != errs.ExitFailure {
			t.Errorf("want one line and exit 1, got exit %d: %q", errs.Code(err), err)
		}
		return out.String(), err
	}

	t.Run("no permissions at all", func(t *testing.T) {
		c := clientsFor(t, env.ConfigFor(t, "alice"))
		_, err := install(c)
		for _, want := range []string{"permission denied:", `User "alice" cannot list resource`, "(nothing was changed)"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %q: %s", want, err)
			}
		}
		err = Uninstall(t.Context(), c, UninstallOptions{Yes: true, Streams: streams(&bytes.Buffer{})})
		if err == nil || !strings.Contains(err.Error(), `permission denied:`) || !strings.Contains(err.Error(), `cannot list resource`) {
			t.Errorf("uninstall without permissions: %v", err)
		}
	})

	t.Run("read-only", func(t *testing.T) {
		grantReadOnly(t, clientsFor(t, env.Config), "viewer")
		out, err := install(clientsFor(t, env.ConfigFor(t, "viewer")))
		for _, want := range []string{"Skiff core: Namespace istio-system: permission denied:", `User "viewer" cannot patch resource "namespaces"`, "(fully applied: nothing; not applied: Skiff core, Controller)"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %q: %s", want, err)
			}
		}
		if out != "✘ Skiff core failed\n" {
			t.Errorf("output:\n%s", out)
		}
	})
}

func grantReadOnly(t *testing.T, admin *kube.Clients, user string) {
	t.Helper()
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: user},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"get", "list", "watch"}}},
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: user},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: user},
		Subjects:   []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: user}},
	}
	if _, err := admin.Typed.RbacV1().ClusterRoles().Create(t.Context(), role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Typed.RbacV1().ClusterRoleBindings().Create(t.Context(), binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}
