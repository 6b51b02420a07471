package controller

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	istioclient "istio.io/client-go/pkg/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	kubescheme "k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"skiff.dev/skiff/pkg/ca"
	"skiff.dev/skiff/pkg/errs"
	"skiff.dev/skiff/pkg/model"
	"skiff.dev/skiff/pkg/version"
	"skiff.dev/skiff/pkg/xds"
)

// Controller is a running control plane. New opens its ports; Run serves until the context ends.
type Controller struct {
	opts      Options
	log       *slog.Logger
	kube      kubernetes.Interface
	sources   *sources
	xds       *xds.Server
	authority *ca.Authority
	metrics   *metrics
	publisher *rootCertPublisher
	patcher   *caBundlePatcher
	leader    *leadership
	checker   *configChecker
	status    *configStatus
	// newTerm is set when this replica becomes the leader; the push loop then redoes the leader's duties.
	newTerm atomic.Bool

	changes chan struct{}
	ready   atomic.Bool
	lastErr atomic.Pointer[string]

	xdsListener, secureListener, readyListener, monitoringListener, webhookListener net.Listener
	plainGRPC, secureGRPC                                                           *grpc.Server
}

// Run is `skiff controller`: New, then Run until ctx ends.
func Run(ctx context.Context, opts Options) error {
	c, err := New(ctx, opts)
	if err != nil {
		return err
	}
	return c.Run(ctx)
}

// New connects to the API server, loads or creates the CA, registers informers and opens every port.
func New(ctx context.Context, opts Options) (*Controller, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Namespace == "" {
		return nil, errs.Usage("the controller needs its namespace (--istio-namespace or SKIFF_MESH_NAMESPACE)")
	}
	kube, err := kubernetes.NewForConfig(opts.Kube)
	if err != nil {
		return nil, errs.Failure("kubernetes client: %v", err)
	}
	istio, err := istioclient.NewForConfig(opts.Kube)
	if err != nil {
		return nil, errs.Failure("istio client: %v", err)
	}
	dyn, err := dynamic.NewForConfig(opts.Kube)
	if err != nil {
		return nil, errs.Failure("dynamic client: %v", err)
	}
	c := &Controller{opts: opts, log: opts.Log, kube: kube, changes: make(chan struct{}, 1)}
	if c.leader, err = startLeadership(kube, opts.Namespace, opts.LeaderElection, c.log, c.startedLeading); err != nil {
		return nil, errs.Usage("%v", err)
	}
	started := false
	defer func() {
		if !started {
			c.leader.stop()
		}
	}()

	authority, source, err := awaitAuthority(ctx, kube, opts.Namespace, opts.TrustDomain, c.leader, c.log)
	if err != nil {
		return nil, errs.Failure("certificate authority: %v", err)
	}
	c.authority = authority
	c.log.Info("certificate authority ready", "root", source, "trustDomain", opts.TrustDomain)

	c.sources, err = newSources(kube, istio, kube.Discovery(), c.log, c.changed)
	if err != nil {
		return nil, errs.Failure("informers: %v", err)
	}
	if err := c.sources.watchMeshConfig(opts.Namespace, opts.MeshConfigMap, c.log, c.changed); err != nil {
		return nil, errs.Failure("mesh config informer: %v", err)
	}
	c.publisher = &rootCertPublisher{kube: kube, namespaces: c.sources.namespaces, rootPEM: authority.RootPEM(), published: map[string]bool{}}
	c.patcher = &caBundlePatcher{kube: kube, rootPEM: []byte(authority.RootPEM()),
		mutating: opts.MutatingWebhookConfigurations, validating: opts.ValidatingWebhookConfigurations}
	c.xds = xds.NewServer(ctx, model.Build(model.Input{DomainSuffix: opts.DomainSuffix, TrustDomain: opts.TrustDomain}), slogAdapter{c.log})
	c.metrics = newMetrics(func() float64 { return float64(c.xds.ConnectedProxies()) })
	if err := c.xds.Instrument(c.metrics.registry); err != nil {
		return nil, errs.Failure("metrics: %v", err)
	}
	c.checker = newConfigChecker(func(o configObject, fs []finding) {
		c.metrics.configRejections.WithLabelValues(o.kind).Inc()
		c.log.Warn("invalid configuration left out of the mesh", "object", o.key(), "generation", o.meta.GetGeneration(), "problems", findingTexts(fs))
	})
	c.status = newConfigStatus(dyn)

	if err := c.listen(); err != nil {
		c.closeListeners()
		return nil, err
	}
	started = true
	return c, nil
}

func (c *Controller) listen() error {
	for _, l := range []struct {
		addr string
		dst  *net.Listener
	}{{c.opts.XDSAddr, &c.xdsListener}, {c.opts.SecureAddr, &c.secureListener}, {c.opts.ReadyAddr, &c.readyListener}, {c.opts.MonitoringAddr, &c.monitoringListener}} {
		lis, err := net.Listen("tcp", l.addr)
		if err != nil {
			return errs.Failure("listening on %s: %v", l.addr, err)
		}
		*l.dst = lis
	}
	if c.opts.Webhooks != nil {
		lis, err := net.Listen("tcp", c.opts.WebhookAddr)
		if err != nil {
			return errs.Failure("listening on %s: %v", c.opts.WebhookAddr, err)
		}
		c.webhookListener = lis
	}
	return nil
}

func (c *Controller) closeListeners() {
	for _, l := range []net.Listener{c.xdsListener, c.secureListener, c.readyListener, c.monitoringListener, c.webhookListener} {
		if l != nil {
			_ = l.Close()
		}
	}
}

// Addresses of the open ports, for tests and logs.
func (c *Controller) XDSAddr() string        { return c.xdsListener.Addr().String() }
func (c *Controller) SecureAddr() string     { return c.secureListener.Addr().String() }
func (c *Controller) ReadyAddr() string      { return c.readyListener.Addr().String() }
func (c *Controller) MonitoringAddr() string { return c.monitoringListener.Addr().String() }

// WebhookAddr is the webhook port's address; empty when no webhooks are served.
func (c *Controller) WebhookAddr() string {
	if c.webhookListener == nil {
		return ""
	}
	return c.webhookListener.Addr().String()
}

// RootPEM is the root certificate workloads and clients of the secure port trust.
func (c *Controller) RootPEM() string { return c.authority.RootPEM() }

// Run serves until ctx ends, then stops every server.
func (c *Controller) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer c.leader.stop() // hands the lease over at once

	c.plainGRPC = grpc.NewServer(xds.GRPCServerOptions()...)
	c.xds.Register(c.plainGRPC)
	caService := &ca.Service{
		Authority:     c.authority,
		Authenticator: ca.TokenReviewer{Client: c.kube},
		DefaultTTL:    c.opts.WorkloadCertTTL,
		MaxTTL:        c.opts.MaxWorkloadCertTTL,
		Observe:       c.metrics.observeCertificate,
	}
	// One renewing serving certificate, for istiod.<ns>.svc and friends, on the TLS xDS and webhook ports.
	serving := ca.NewServingCertificates(c.authority, c.dnsNames(), 30*24*time.Hour)
	tlsConfig := &tls.Config{GetCertificate: serving.GetCertificate, MinVersion: tls.VersionTLS12}
	c.secureGRPC = grpc.NewServer(append(xds.GRPCServerOptions(), grpc.Creds(credentials.NewTLS(tlsConfig)))...)
	c.xds.Register(c.secureGRPC)
	caService.Register(c.secureGRPC)

	readyMux := http.NewServeMux()
	readyMux.HandleFunc("/ready", c.serveReady)
	readyMux.HandleFunc("/version", serveVersion)
	monitoringMux := http.NewServeMux()
	monitoringMux.Handle("/metrics", promhttp.HandlerFor(c.metrics.registry, promhttp.HandlerOpts{}))
	monitoringMux.HandleFunc("/version", serveVersion)
	monitoringMux.HandleFunc("/debug/proxies", c.serveProxies)
	monitoringMux.HandleFunc("/debug/config_dump", c.serveConfigDump)
	monitoringMux.Handle(xds.SynczPath, c.xds.SynczHandler(podName()))
	readyHTTP := &http.Server{Handler: readyMux, ReadHeaderTimeout: 10 * time.Second}
	monitoringHTTP := &http.Server{Handler: monitoringMux, ReadHeaderTimeout: 10 * time.Second}

	var webhookHTTP *http.Server
	serveErr := make(chan error, 5)
	if c.webhookListener != nil {
		webhookHTTP = &http.Server{Handler: c.opts.Webhooks, ReadHeaderTimeout: 10 * time.Second, TLSConfig: tlsConfig}
		go func() { serveErr <- ignoreClosed(webhookHTTP.ServeTLS(c.webhookListener, "", "")) }()
	}
	go func() { serveErr <- c.plainGRPC.Serve(c.xdsListener) }()
	go func() { serveErr <- c.secureGRPC.Serve(c.secureListener) }()
	go func() { serveErr <- ignoreClosed(readyHTTP.Serve(c.readyListener)) }()
	go func() { serveErr <- ignoreClosed(monitoringHTTP.Serve(c.monitoringListener)) }()
	c.log.Info("serving", "xds", c.XDSAddr(), "secure", c.SecureAddr(), "ready", c.ReadyAddr(), "monitoring", c.MonitoringAddr())

	events := record.NewBroadcaster(record.WithContext(ctx))
	events.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.kube.CoreV1().Events("")})
	defer events.Shutdown()
	c.status.recorder = events.NewRecorder(kubescheme.Scheme, corev1.EventSource{Component: "skiff-controller", Host: podName()})
	statusDone := make(chan struct{})
	go func() {
		defer close(statusDone)
		c.status.run(ctx, c.leader.isLeader, func(err error) {
			c.log.Warn("writing configuration status failed; retrying", "error", err)
			time.AfterFunc(5*time.Second, c.changed)
		})
	}()
	defer func() { <-statusDone }() // after cancel: the writer follows ctx
	c.sources.start(ctx.Done())
	defer c.watchWebhookConfigurations(ctx)()
	loopDone := make(chan error, 1)
	go func() { loopDone <- c.loop(ctx) }()

	var err error
	loopFinished := false
	select {
	case <-ctx.Done():
	case err = <-serveErr:
		err = errs.Failure("server stopped: %v", err)
	case err = <-loopDone:
		loopFinished = true
	}
	cancel()
	c.plainGRPC.Stop()
	c.secureGRPC.Stop()
	shutdown, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	_ = readyHTTP.Shutdown(shutdown)
	_ = monitoringHTTP.Shutdown(shutdown)
	if webhookHTTP != nil {
		_ = webhookHTTP.Shutdown(shutdown)
	}
	if !loopFinished {
		<-loopDone // returns promptly: the loop and its API calls follow ctx
	}
	c.sources.kube.Shutdown()
	c.sources.istio.Shutdown()
	return err
}

// loop waits for the caches, then rebuilds and pushes after each burst of changes.
func (c *Controller) loop(ctx context.Context) error {
	if !cache.WaitForCacheSync(ctx.Done(), c.sources.synced...) {
		if ctx.Err() != nil {
			return nil
		}
		return errs.Failure("informer caches did not sync")
	}
	c.changed() // the first push, even if nothing changed since the caches filled
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-c.changes:
		}
		// Collect the rest of the burst: one rebuild for a rollout, not one per pod.
		timer := time.NewTimer(c.opts.Debounce)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C:
		}
		select { // changes that arrived during the wait are covered by this rebuild
		case <-c.changes:
		default:
		}
		c.rebuild(ctx)
	}
}

func (c *Controller) rebuild(ctx context.Context) {
	start := time.Now()
	reports, err := c.push(ctx)
	c.metrics.pushDuration.Observe(time.Since(start).Seconds())
	if err != nil {
		c.metrics.pushErrors.Inc()
		msg := err.Error()
		c.lastErr.Store(&msg)
		c.log.Error("push failed", "error", err)
		// Retry soon: the informers will not necessarily send another event.
		time.AfterFunc(time.Second, c.changed)
		return
	}
	c.metrics.pushes.Inc()
	c.lastErr.Store(nil)
	c.ready.Store(true)
	// Status and events are written by their own goroutine: an API server that is slow or away must not
	// hold the next push back.
	c.status.submit(reports)
	// Publishing the root is retried, but does not hold readiness back: proxies already get config. The
	// timeout keeps a hung API server from stalling the push loop (client-go requests have none).
	duties, cancel := context.WithTimeout(ctx, leaderDutiesTimeout)
	defer cancel()
	if err := c.leaderDuties(duties); err != nil && ctx.Err() == nil {
		c.log.Warn("publishing the root certificate failed; retrying", "error", err)
		time.AfterFunc(5*time.Second, c.changed)
	}
}

// leaderDutiesTimeout bounds the leader's writes after one push.
const leaderDutiesTimeout = 30 * time.Second

// push builds the model from the valid configuration and pushes it; the reports say what was left out
// or overridden.
func (c *Controller) push(ctx context.Context) ([]configReport, error) {
	in, err := c.sources.input(c.opts.DomainSuffix)
	if err != nil {
		return nil, err
	}
	in.TrustDomain, in.RootNamespace = c.opts.TrustDomain, c.opts.Namespace
	in, reports := c.checker.check(in)
	c.metrics.observeConfig(reports)
	mesh := model.Build(in)
	c.metrics.services.Set(float64(len(mesh.Services())))
	if err := c.xds.Push(ctx, mesh); err != nil {
		return nil, fmt.Errorf("push: %w", err)
	}
	c.log.Debug("pushed", "services", len(mesh.Services()), "proxies", c.xds.ConnectedProxies())
	return reports, nil
}

// changed records that something changed; it never blocks.
func (c *Controller) changed() {
	select {
	case c.changes <- struct{}{}:
	default:
	}
}

func (c *Controller) dnsNames() []string {
	svc, ns := c.opts.ServiceName, c.opts.Namespace
	return []string{svc + "." + ns + ".svc", svc + "." + ns + ".svc." + c.opts.DomainSuffix, svc + "." + ns, svc}
}

func (c *Controller) serveReady(w http.ResponseWriter, _ *http.Request) {
	if !c.ready.Load() {
		msg := "caches not synced or first push not done"
		if e := c.lastErr.Load(); e != nil {
			msg = *e
		}
		http.Error(w, "not ready: "+msg, http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

func serveVersion(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(version.Get())
}

func ignoreClosed(err error) error {
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// slogAdapter gives the xDS server (go-control-plane's logger interface) a logger; info goes to debug.
type slogAdapter struct{ log *slog.Logger }

func (a slogAdapter) Debugf(f string, args ...any) { a.log.Debug(fmt.Sprintf(f, args...)) }
func (a slogAdapter) Infof(f string, args ...any)  { a.log.Debug(fmt.Sprintf(f, args...)) }
func (a slogAdapter) Warnf(f string, args ...any)  { a.log.Warn(fmt.Sprintf(f, args...)) }
func (a slogAdapter) Errorf(f string, args ...any) { a.log.Error(fmt.Sprintf(f, args...)) }
