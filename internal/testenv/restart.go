package testenv

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// apiServerStopTimeout bounds a graceful stop: with clients' watches open, kube-apiserver can take longer
// than a test wants to drain after SIGTERM, and is then killed, as a crashed API server would be.
const apiServerStopTimeout = 3 * time.Second

// StartRestartable is Start for tests of API server outages: StopAPIServer and StartAPIServer stop the
// kube-apiserver and start it again. The certificate directory is the test's, not envtest's throwaway one,
// so the restarted server has the same serving certificate, service-account signing key and client CA,
// and listens on the same port against the same etcd: Config, kubeconfigs, users and tokens stay valid.
func StartRestartable(tb testing.TB) *Environment {
	tb.Helper()
	return startTB(tb, &envtest.APIServer{CertDir: tb.TempDir(), StopTimeout: apiServerStopTimeout})
}

// StopAPIServer stops the kube-apiserver (SIGTERM, SIGKILL when it has not exited after a few seconds)
// and returns once its port is free; etcd keeps running.
func (e *Environment) StopAPIServer() error {
	api := e.env.ControlPlane.GetAPIServer()
	// envtest reports the SIGKILL fallback as an error; the server is down either way.
	if err := api.Stop(); err != nil && !strings.Contains(err.Error(), "timeout waiting for process") {
		return fmt.Errorf("stopping kube-apiserver: %w", err)
	}
	addr := net.JoinHostPort(api.SecureServing.Address, api.SecureServing.Port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		l, err := net.Listen("tcp", addr)
		if err == nil {
			return l.Close()
		}
		if time.Now().After(deadline) {
			return errors.Join(fmt.Errorf("kube-apiserver's port %s still taken after stopping it", addr), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// StartAPIServer starts a stopped kube-apiserver again on the same address and waits until it is healthy.
// Only environments from StartRestartable keep their credentials across the restart.
func (e *Environment) StartAPIServer() error {
	if err := e.env.ControlPlane.GetAPIServer().Start(); err != nil {
		return fmt.Errorf("restarting kube-apiserver: %w", err)
	}
	return nil
}
