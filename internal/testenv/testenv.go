// Package testenv starts a real kube-apiserver and etcd (built from Go modules by hack/testenv.sh)
// through controller-runtime's envtest, for integration tests.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// assets memoises the binaries' directory for the test process; building them is slow the first time.
var assets = sync.OnceValues(func() (string, error) {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir, nil
	}
	out, err := exec.Command("bash", filepath.Join(repoRoot(), "hack", "testenv.sh")).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return "", &buildError{err: err, stderr: string(ee.Stderr)}
		}
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
})

type buildError struct {
	err    error
	stderr string
}

func (e *buildError) Error() string { return "hack/testenv.sh: " + e.err.Error() + "\n" + e.stderr }

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Environment is a running API server.
type Environment struct {
	Config *rest.Config
	env    *envtest.Environment
}

// Start runs a fresh kube-apiserver + etcd for this test (or TestMain) and stops it on cleanup.
// Integration tests are skipped under `go test -short`, never in CI.
func Start(tb testing.TB) *Environment {
	tb.Helper()
	return startTB(tb, nil)
}

// startTB is Start with api as the API server's settings when set (see startEnv).
func startTB(tb testing.TB, api *envtest.APIServer) *Environment {
	tb.Helper()
	if testing.Short() && os.Getenv("CI") == "" {
		tb.Skip("integration test: needs kube-apiserver; run without -short")
	}
	env, err := startEnv(api)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = env.Stop() })
	return env
}

// StartEnv is Start for TestMain, where there is no testing.TB.
func StartEnv() (*Environment, error) { return startEnv(nil) }

// startEnv starts the control plane, with api as the API server's settings when set.
func startEnv(api *envtest.APIServer) (*Environment, error) {
	dir, err := assets()
	if err != nil {
		return nil, err
	}
	te := &envtest.Environment{BinaryAssetsDirectory: dir}
	te.ControlPlane.APIServer = api
	cfg, err := te.Start()
	if err != nil {
		return nil, err
	}
	return &Environment{Config: cfg, env: te}, nil
}

// Stop shuts the API server and etcd down.
func (e *Environment) Stop() error { return e.env.Stop() }
