package cmd

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"skiff.dev/skiff/internal/testenv"
	"skiff.dev/skiff/pkg/errs"
	"skiff.dev/skiff/pkg/ui"
	"skiff.dev/skiff/pkg/version"
)

// skiff runs the CLI as a user would, with stdin that is not a terminal, and returns its output and exit code.
func skiff(t *testing.T, args ...string) (string, int) {
	t.Helper()
	var out bytes.Buffer
	err := Execute(context.Background(), ui.Streams{In: strings.NewReader("y\n"), Out: &out, Err: &out}, args)
	if err != nil {
		ui.NewPrinter(&out).Error(err)
	}
	return out.String(), errs.Code(err)
}

// TestInstallCommands drives install, verify-install, version --remote, x precheck and uninstall through
// their flags against a real API server. Deployments never become ready there, so install runs with
// --wait=false; the readiness wait itself is tested in pkg/install.
func TestInstallCommands(t *testing.T) {
	env := testenv.Start(t)
	kc := env.Kubeconfig(t)
	run := func(wantCode int, args ...string) string {
		t.Helper()
		out, code := skiff(t, append(args, "--kubeconfig", kc)...)
		if code != wantCode {
			t.Fatalf("skiff %s: exit %d, want %d\n%s", strings.Join(args, " "), code, wantCode, out)
		}
		return out
	}
	expect := func(out string, wants ...string) {
		t.Helper()
		for _, w := range wants {
			if !strings.Contains(out, w) {
				t.Errorf("output lacks %q:\n%s", w, out)
			}
		}
	}

	expect(run(errs.ExitUsage, "install", "--profile", "minimal"), "stdin is not a terminal; pass -y")
	expect(run(errs.ExitBadInput, "install", "--profile", "no-such-profile", "-y"), "no-such-profile")
	expect(run(errs.ExitUsage, "install", "--timeout", "soon"), "invalid argument")
	expect(run(0, "x", "precheck", "--profile", "minimal"), "✔ Kubernetes version: v1.37.2", "✔ Permissions", "✔ Existing Istio")
	expect(run(0, "install", "--profile", "minimal", "--dry-run"), "nothing was changed")
	expect(run(errs.ExitFailure, "verify-install", "--profile", "minimal"), "missing", "are missing or drifted")

	expect(run(0, "install", "--profile", "minimal", "-y", "--wait=false"), "✔ Skiff core installed\n", "✔ Controller installed\n", "✔ Installation complete\n")
	expect(run(0, "verify-install", "--profile", "minimal"), "✔ All ")
	expect(run(1, "verify-install", "--profile", "minimal", "--set", "components.pilot.k8s.replicaCount=2"), "drifted", "spec.replicas: 1, want 2")
	expect(run(0, "version", "--remote"), "control plane version: "+version.Get().Version)
	expect(run(0, "x", "precheck"), "✔ Existing Istio") // Skiff's own installation is not in the way

	expect(run(errs.ExitUsage, "uninstall"), "pass -y")
	finalizeNamespaces(t, env)
	expect(run(0, "uninstall", "-y", "--purge", "--timeout", "30s"), "✔ Removed Controller", "CustomResourceDefinitions", "✔ Removed namespace istio-system\n✔ Uninstall complete")
	expect(run(0, "uninstall", "-y"), "Nothing to uninstall")
}

// finalizeNamespaces plays kube-controller-manager's namespace controller, which envtest lacks: it
// finishes deleting terminating namespaces (empty here) by removing their finalizer.
func finalizeNamespaces(t *testing.T, env *testenv.Environment) {
	cs := kubernetes.NewForConfigOrDie(env.Config)
	ctx := t.Context()
	go func() {
		for ctx.Err() == nil {
			if list, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{}); err == nil {
				for i := range list.Items {
					if ns := &list.Items[i]; ns.DeletionTimestamp != nil && len(ns.Spec.Finalizers) > 0 {
						ns.Spec.Finalizers = nil
						_, _ = cs.CoreV1().Namespaces().Finalize(ctx, ns, metav1.UpdateOptions{})
					}
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
}
