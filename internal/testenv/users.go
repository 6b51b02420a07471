package testenv

import (
	"os"
	"path/filepath"
	"testing"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// Kubeconfig writes a kubeconfig for a cluster-admin user to a temporary file and returns its path,
// so tests can drive commands exactly as a user would (--kubeconfig).
func (e *Environment) Kubeconfig(tb testing.TB) string {
	tb.Helper()
	return e.KubeconfigFor(tb, "skiff-admin", "system:masters")
}

// KubeconfigFor writes a kubeconfig for a user with the given groups (no groups: no permissions at all).
func (e *Environment) KubeconfigFor(tb testing.TB, name string, groups ...string) string {
	tb.Helper()
	u, err := e.env.AddUser(envtest.User{Name: name, Groups: groups}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := u.KubeConfig()
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(tb.TempDir(), name+".kubeconfig")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// ConfigFor returns a rest.Config authenticated as a user with the given groups.
func (e *Environment) ConfigFor(tb testing.TB, name string, groups ...string) *rest.Config {
	tb.Helper()
	u, err := e.env.AddUser(envtest.User{Name: name, Groups: groups}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return u.Config()
}
