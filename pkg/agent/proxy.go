package agent

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"skiff.dev/skiff/pkg/controller"
	"skiff.dev/skiff/pkg/errs"
)

// Proxy types: a sidecar next to an application, or a router (an ingress or egress gateway).
const (
	ProxyTypeSidecar = "sidecar"
	ProxyTypeRouter  = "router"
)

// ProxyOptions are `skiff agent proxy sidecar|router`: the agent's certificate and SDS duties plus
// Envoy's lifecycle and the status port, as Istio's `pilot-agent proxy` runs them.
type ProxyOptions struct {
	Options
	Type string
	// Domain is the proxy's DNS domain, <namespace>.svc.<cluster domain>.
	Domain string
	// EnvoyBinary is started with the bootstrap Options.EnvoyBootstrap.
	EnvoyBinary string
	// DrainDuration is Envoy's --drain-time-s; TerminationDrainDuration how long the agent lets the
	// listeners drain after SIGTERM before it stops Envoy.
	DrainDuration            time.Duration
	TerminationDrainDuration time.Duration
	// LabelsFile is the downward API file with the pod's labels (/etc/istio/pod/labels); they go into the
	// bootstrap's node metadata, where the controller matches workload selectors.
	LabelsFile string
	// StatusPort is the agent's status server (15020); AdminPort Envoy's admin port (15000).
	StatusPort int
	AdminPort  int
	// ProxyLogLevel and ProxyComponentLogLevel are Envoy's -l and --component-log-level.
	ProxyLogLevel          string
	ProxyComponentLogLevel string
	Concurrency            int
	LogLevel               string
	LogAsJSON              bool
	// Getenv reads what the injector sets: CA_ADDR, POD_NAME, POD_NAMESPACE, INSTANCE_IP,
	// ISTIO_KUBE_APP_PROBERS and ISTIO_METAJSON_LABELS.
	Getenv func(string) string
	// Out and Err receive Envoy's output; Err also the agent's log.
	Out, Err io.Writer
}

// RunProxy writes the Envoy bootstrap, keeps the workload certificate fresh and served over SDS, serves
// the status port and supervises Envoy. When ctx ends (SIGTERM) or /quitquitquit is called it drains
// Envoy's inbound listeners for TerminationDrainDuration, then stops Envoy with SIGTERM and returns nil.
// If Envoy exits on its own the agent returns an error, so the kubelet restarts the container, as
// pilot-agent does.
func RunProxy(ctx context.Context, o ProxyOptions) error {
	if o.Type != ProxyTypeSidecar && o.Type != ProxyTypeRouter {
		return errs.Usage("proxy type %q: want %s or %s", o.Type, ProxyTypeSidecar, ProxyTypeRouter)
	}
	log, err := controller.NewLogger(o.Err, o.LogLevel, o.LogAsJSON)
	if err != nil {
		return err
	}
	o.Log = log
	probers, err := o.fillFromEnv()
	if err != nil {
		return err
	}
	if err := writeEnvoyBootstrap(o); err != nil {
		return err
	}

	// Certificates outlive the drain: Envoy keeps serving mTLS until it stops.
	certCtx, stopCerts := context.WithCancel(context.WithoutCancel(ctx))
	defer stopCerts()
	certs := o.Options
	certs.EnvoyBootstrap = "" // written above, with the proxy's type and ports
	certDone := make(chan error, 1)
	go func() { certDone <- Run(certCtx, certs) }()

	quit := make(chan struct{})
	quitOnce := sync.OnceFunc(func() { close(quit) })
	status := &StatusServer{AdminPort: o.AdminPort, CertDir: o.OutputDir, Probers: probers, ProbeHost: o.Bootstrap.PodIP, Quit: quitOnce, Log: log}
	stopStatus, err := status.Serve(net.JoinHostPort("", strconv.Itoa(o.StatusPort)))
	if err != nil {
		return err
	}
	defer stopStatus()

	envoy, exited, err := startEnvoy(o)
	if err != nil {
		return err
	}
	log.Info("envoy started", "pid", envoy.Process.Pid, "bootstrap", o.EnvoyBootstrap)
	select {
	case err := <-exited:
		return errs.Failure("envoy exited: %v", exitReason(err))
	case err := <-certDone:
		stopEnvoy(envoy, exited, log)
		if err == nil {
			err = errs.Failure("certificate agent stopped")
		}
		return err
	case <-ctx.Done():
		log.Info("received SIGTERM, draining")
	case <-quit:
		log.Info("received /quitquitquit, draining")
	}
	status.SetDraining()
	if _, _, err := status.admin(context.Background(), "POST", "/drain_listeners?inboundonly&graceful"); err != nil {
		log.Warn("draining envoy's listeners", "error", err)
	}
	select {
	case err := <-exited:
		log.Info("envoy exited while draining", "status", exitReason(err))
		return nil
	case <-time.After(o.TerminationDrainDuration):
	}
	stopEnvoy(envoy, exited, log)
	return nil
}

// fillFromEnv completes the options from what the injector and the gateway Deployment set.
func (o *ProxyOptions) fillFromEnv() (map[string]AppProber, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	o.CAAddr = firstNonEmpty(o.CAAddr, firstNonEmpty(getenv("CA_ADDR"), "istiod.istio-system.svc:15012"))
	b := &o.Bootstrap
	b.PodName = firstNonEmpty(b.PodName, getenv("POD_NAME"))
	b.PodNamespace = firstNonEmpty(b.PodNamespace, getenv("POD_NAMESPACE"))
	b.PodIP = firstNonEmpty(b.PodIP, getenv("INSTANCE_IP"))
	labels, err := podLabels(o.LabelsFile, getenv(LabelsJSONEnv))
	if err != nil {
		return nil, err
	}
	if len(b.Labels) == 0 {
		b.Labels = labels
	}
	if b.PodNamespace == "" {
		return nil, errs.Usage("the pod namespace is unknown: set POD_NAMESPACE")
	}
	// --domain is <namespace>.svc.<cluster domain>; the bootstrap wants the cluster domain.
	if _, suffix, ok := strings.Cut(o.Domain, ".svc."); ok && b.DomainSuffix == "" {
		b.DomainSuffix = suffix
	}
	if o.EnvoyBinary == "" || o.EnvoyBootstrap == "" || o.SDSSocket == "" {
		return nil, errs.Usage("the proxy needs --envoy-binary, --envoy-bootstrap and --sds-socket")
	}
	// Fail before starting Envoy when the pod lacks what the certificate needs.
	if _, err := os.Stat(o.RootCert); err != nil {
		return nil, errs.BadInput("root certificate: %v", err)
	}
	if _, err := os.Stat(o.TokenFile); err != nil {
		return nil, errs.BadInput("service account token: %v", err)
	}
	if o.TerminationDrainDuration < 0 || o.DrainDuration < 0 {
		return nil, errs.Usage("drain durations must not be negative")
	}
	return ParseAppProbers(getenv(AppProbersEnv))
}

func writeEnvoyBootstrap(o ProxyOptions) error {
	b, err := EnvoyBootstrapJSON(EnvoyBootstrapOptions{
		BootstrapOptions: o.Bootstrap, ProxyType: o.Type, SecureXDSAddr: o.CAAddr, RootCert: o.RootCert,
		SDSSocket: o.SDSSocket, AdminPort: o.AdminPort, StatusPort: o.StatusPort,
	})
	if err != nil {
		return err
	}
	if err := writeAtomic(o.EnvoyBootstrap, b, 0o644); err != nil {
		return errs.Failure("writing the Envoy bootstrap: %v", err)
	}
	return nil
}

// EnvoyArgs are the flags Envoy is started with (pilot-agent's, without hot restart).
func EnvoyArgs(o ProxyOptions) []string {
	args := []string{
		"-c", o.EnvoyBootstrap,
		"--drain-time-s", strconv.Itoa(int(o.DrainDuration / time.Second)),
		"--drain-strategy", "immediate",
		"--local-address-ip-version", "v4",
		"--file-flush-interval-msec", "1000",
		"--disable-hot-restart",
		"--allow-unknown-static-fields",
		"--service-cluster", o.Bootstrap.PodName,
	}
	if o.ProxyLogLevel != "" {
		args = append(args, "-l", o.ProxyLogLevel)
	}
	if o.ProxyComponentLogLevel != "" {
		args = append(args, "--component-log-level", o.ProxyComponentLogLevel)
	}
	if o.Concurrency > 0 {
		args = append(args, "--concurrency", strconv.Itoa(o.Concurrency))
	}
	return args
}

func startEnvoy(o ProxyOptions) (*exec.Cmd, <-chan error, error) {
	cmd := exec.Command(o.EnvoyBinary, EnvoyArgs(o)...)
	cmd.Stdout, cmd.Stderr = o.Out, o.Err
	if err := cmd.Start(); err != nil {
		return nil, nil, errs.Failure("starting envoy %s: %v", o.EnvoyBinary, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	return cmd, exited, nil
}

// envoyStopGrace is how long Envoy gets to exit after SIGTERM before it is killed.
const envoyStopGrace = 10 * time.Second

func stopEnvoy(cmd *exec.Cmd, exited <-chan error, log *slog.Logger) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		log.Info("envoy stopped", "status", exitReason(err))
	case <-time.After(envoyStopGrace):
		_ = cmd.Process.Kill()
		<-exited
		log.Warn("envoy did not stop after SIGTERM; killed")
	}
}

func exitReason(err error) string {
	var exit *exec.ExitError
	switch {
	case err == nil:
		return "exit status 0"
	case errors.As(err, &exit):
		return exit.String()
	default:
		return err.Error()
	}
}
