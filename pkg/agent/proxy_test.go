package agent

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	"google.golang.org/protobuf/encoding/protojson"

	"skiff.dev/skiff/internal/testenv"
	"skiff.dev/skiff/pkg/ca"
	"skiff.dev/skiff/pkg/errs"
)

// The test binary doubles as a fake Envoy: started with SKIFF_FAKE_ENVOY set, it reads the bootstrap
// given with -c, serves /ready and /drain_listeners on the bootstrap's admin port, logs what happens to
// SKIFF_FAKE_ENVOY_LOG and exits 0 on SIGTERM (or 3 on its own with SKIFF_FAKE_ENVOY=crash).
func TestMain(m *testing.M) {
	if mode := os.Getenv("SKIFF_FAKE_ENVOY"); mode != "" {
		os.Exit(fakeEnvoy(mode, os.Args[1:]))
	}
	os.Exit(m.Run())
}

func fakeEnvoy(mode string, args []string) int {
	logf, err := os.OpenFile(os.Getenv("SKIFF_FAKE_ENVOY_LOG"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	record := func(format string, a ...any) { fmt.Fprintf(logf, format+"\n", a...); _ = logf.Sync() }
	record("args %s", strings.Join(args, " "))
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	var bootstrap string
	for i, a := range args {
		if a == "-c" && i+1 < len(args) {
			bootstrap = args[i+1]
		}
	}
	raw, err := os.ReadFile(bootstrap)
	if err != nil {
		record("no bootstrap: %v", err)
		return 2
	}
	var b bootstrapv3.Bootstrap
	if err := protojson.Unmarshal(raw, &b); err != nil {
		record("bad bootstrap: %v", err)
		return 2
	}
	if mode == "crash" {
		time.Sleep(100 * time.Millisecond)
		return 3
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ready", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "LIVE\n") })
	mux.HandleFunc("POST /drain_listeners", func(w http.ResponseWriter, r *http.Request) { record("drain %s", r.URL.RawQuery) })
	lis, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", b.GetAdmin().GetAddress().GetSocketAddress().GetPortValue()))
	if err != nil {
		record("admin: %v", err)
		return 2
	}
	go func() { _ = http.Serve(lis, mux) }()
	<-sigs
	record("sigterm")
	return 0
}

func freePort(t *testing.T) int {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	return lis.Addr().(*net.TCPAddr).Port
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proxyFixture is a pod's file system and environment for RunProxy with the fake Envoy.
type proxyFixture struct {
	opts     ProxyOptions
	envoyLog string
	agentLog *syncBuffer
	env      map[string]string
}

func newProxyFixture(t *testing.T, mode, caAddr, rootPEM, token string) *proxyFixture {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	f := &proxyFixture{envoyLog: filepath.Join(dir, "envoy.log"), agentLog: &syncBuffer{}}
	t.Setenv("SKIFF_FAKE_ENVOY", mode)
	t.Setenv("SKIFF_FAKE_ENVOY_LOG", f.envoyLog)
	f.env = map[string]string{"POD_NAME": "ratings-0", "POD_NAMESPACE": "default", "INSTANCE_IP": "127.0.0.1", "CA_ADDR": caAddr}
	f.opts = ProxyOptions{
		Options: Options{
			ServerName: "istiod.istio-system.svc", RootCert: write("root.pem", rootPEM), TokenFile: write("token", token),
			OutputDir: filepath.Join(dir, "certs"), CertTTL: time.Hour,
			SDSSocket: filepath.Join(dir, "sds.sock"), EnvoyBootstrap: filepath.Join(dir, "envoy-rev.json"),
		},
		LabelsFile: write("labels", "app=\"ratings\"\nsecurity.istio.io/tlsMode=\"istio\"\n"),
		Type:       ProxyTypeSidecar, Domain: "default.svc.cluster.local", EnvoyBinary: os.Args[0],
		DrainDuration: 45 * time.Second, TerminationDrainDuration: 200 * time.Millisecond,
		StatusPort: freePort(t), AdminPort: freePort(t), ProxyLogLevel: "warning", Concurrency: 2,
		LogLevel: "default:debug", Getenv: func(k string) string { return f.env[k] },
		Out: io.Discard, Err: f.agentLog,
	}
	return f
}

func (f *proxyFixture) start(ctx context.Context) <-chan error {
	done := make(chan error, 1)
	go func() { done <- RunProxy(ctx, f.opts) }()
	return done
}

func (f *proxyFixture) envoyEvents() string {
	b, _ := os.ReadFile(f.envoyLog)
	return string(b)
}

func (f *proxyFixture) status(path string) (int, string) {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d%s", f.opts.StatusPort, path))
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	// Generous: CI runs every package's tests at once on 2 cores, and readiness needs a certificate
	// from the CA, which asks the API server's TokenReview.
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func selfSignedRoot(t *testing.T) string {
	a, err := ca.NewSelfSigned("cluster.local", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return a.RootPEM()
}

// TestProxyLifecycle runs `agent proxy sidecar` end to end against a real CA (backed by a real API
// server's TokenReview) with the fake Envoy: certificate and bootstrap, readiness on the status port, an
// app probe through it, then SIGTERM: drain, then Envoy stopped.
func TestProxyLifecycle(t *testing.T) {
	env := testenv.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	authority, addr, token := ratingsCA(ctx, t, env)
	f := newProxyFixture(t, "serve", addr, authority.RootPEM(), token)
	apps := startApps(t)
	f.env[AppProbersEnv] = fmt.Sprintf(`{"/app-health/ratings/readyz":{"httpGet":{"path":"/healthz","port":%d,"scheme":"HTTP"}}}`, apps.httpPort)

	runCtx, sigterm := context.WithCancel(ctx)
	defer sigterm()
	done := f.start(runCtx)
	waitFor(t, "readiness", func() bool { code, _ := f.status("/healthz/ready"); return code == 200 })

	if cert := waitForCert(t, f.opts.OutputDir, nil); cert.URIs[0].String() != "spiffe://cluster.local/ns/default/sa/ratings" {
		t.Fatalf("SAN %s", cert.URIs[0])
	}
	if _, err := os.Stat(f.opts.SDSSocket); err != nil {
		t.Fatalf("SDS socket: %v", err)
	}
	sdsSecrets(t, sdsStream(ctx, t, f.opts.SDSSocket), waitForCert(t, f.opts.OutputDir, nil))

	events := f.envoyEvents()
	for _, want := range []string{"-c " + f.opts.EnvoyBootstrap, "--drain-time-s 45", "--disable-hot-restart", "-l warning", "--concurrency 2"} {
		if !strings.Contains(events, want) {
			t.Errorf("envoy started without %q: %s", want, events)
		}
	}
	raw, _ := os.ReadFile(f.opts.EnvoyBootstrap)
	var b bootstrapv3.Bootstrap
	if err := protojson.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	if b.GetNode().GetId() != "sidecar~127.0.0.1~ratings-0.default~default.svc.cluster.local" || len(b.GetStaticResources().GetListeners()) != 2 {
		t.Fatalf("bootstrap node %q with %d static listeners, want the pod's sidecar ID and the 15021/15090 listeners", b.GetNode().GetId(), len(b.GetStaticResources().GetListeners()))
	}

	labels := b.GetNode().GetMetadata().GetFields()["LABELS"].GetStructValue().GetFields()
	if labels["app"].GetStringValue() != "ratings" || labels["security.istio.io/tlsMode"].GetStringValue() != "istio" {
		t.Fatalf("bootstrap node labels %v, want the pod's labels from the downward API file", labels)
	}

	if code, body := f.status("/app-health/ratings/readyz"); code != 200 {
		t.Fatalf("app probe through the status port: %d %q", code, body)
	}
	apps.healthy.Store(false)
	if code, _ := f.status("/app-health/ratings/readyz"); code != 500 {
		t.Fatalf("failing app probe through the status port: %d, want 500", code)
	}

	sigterm()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("agent after SIGTERM: %v\n%s", err, f.agentLog)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("agent did not stop after SIGTERM")
	}
	events = f.envoyEvents()
	drain, term := strings.Index(events, "drain inboundonly&graceful"), strings.Index(events, "sigterm")
	if drain < 0 || term < drain {
		t.Fatalf("want envoy drained, then SIGTERM; envoy saw:\n%s", events)
	}
}

func TestProxyExitsWhenEnvoyDies(t *testing.T) {
	f := newProxyFixture(t, "crash", "127.0.0.1:1", selfSignedRoot(t), "token")
	select {
	case err := <-f.start(context.Background()):
		if errs.KindOf(err) != errs.KindFailure || !strings.Contains(err.Error(), "envoy exited: exit status 3") {
			t.Fatalf("got %v, want a failure saying envoy exited with status 3", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("agent kept running after envoy died")
	}
}

func TestProxyQuitQuitQuit(t *testing.T) {
	f := newProxyFixture(t, "serve", "127.0.0.1:1", selfSignedRoot(t), "token")
	done := f.start(context.Background())
	waitFor(t, "envoy's admin port", func() bool { return strings.Contains(f.envoyEvents(), "args") })
	// No certificate (the CA is unreachable): not ready.
	waitFor(t, "the status port", func() bool { code, _ := f.status("/healthz/ready"); return code == 503 })
	var resp *http.Response
	waitFor(t, "quitquitquit", func() bool {
		var err error
		resp, err = http.Post(fmt.Sprintf("http://127.0.0.1:%d/quitquitquit", f.opts.StatusPort), "", nil)
		return err == nil
	})
	_ = resp.Body.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("agent after /quitquitquit: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("agent did not stop after /quitquitquit")
	}
	if !strings.Contains(f.envoyEvents(), "sigterm") {
		t.Fatalf("envoy was not stopped:\n%s", f.envoyEvents())
	}
}

func TestProxyBadInput(t *testing.T) {
	f := newProxyFixture(t, "serve", "127.0.0.1:1", selfSignedRoot(t), "token")
	o := f.opts
	o.Type = "waypoint"
	if err := RunProxy(context.Background(), o); errs.KindOf(err) != errs.KindUsage {
		t.Errorf("unknown type: got %v, want a usage error", err)
	}
	delete(f.env, "POD_NAMESPACE")
	if err := RunProxy(context.Background(), f.opts); errs.KindOf(err) != errs.KindUsage || !strings.Contains(err.Error(), "POD_NAMESPACE") {
		t.Errorf("no namespace: got %v, want a usage error naming POD_NAMESPACE", err)
	}
	f.env["POD_NAMESPACE"] = "default"
	f.env[AppProbersEnv] = "{"
	if err := RunProxy(context.Background(), f.opts); errs.KindOf(err) != errs.KindBadInput {
		t.Errorf("bad probers: got %v, want bad input", err)
	}
	delete(f.env, AppProbersEnv)
	// Without the mesh root the CA cannot be trusted: the agent exits with the reason, Envoy never starts.
	noRoot := f.opts
	noRoot.RootCert = filepath.Join(t.TempDir(), "root-cert.pem")
	if err := RunProxy(context.Background(), noRoot); errs.KindOf(err) != errs.KindBadInput || !strings.Contains(err.Error(), "root certificate") {
		t.Errorf("no root certificate: got %v, want bad input naming it", err)
	}
	if events := f.envoyEvents(); events != "" {
		t.Errorf("envoy was started:\n%s", events)
	}
	f.opts.EnvoyBinary = filepath.Join(t.TempDir(), "no-envoy")
	if err := RunProxy(context.Background(), f.opts); err == nil || !strings.Contains(err.Error(), "starting envoy") {
		t.Errorf("missing envoy: got %v", err)
	}
}

func TestPodLabels(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "labels")
	if err := os.WriteFile(file, []byte("app=\"reviews\"\nnote=\"a \\\"quoted\\\" value\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := podLabels(file, `{"istio":"ingressgateway","app":"gw"}`)
	if err != nil {
		t.Fatal(err)
	}
	if got["app"] != "gw" || got["note"] != `a "quoted" value` || got["istio"] != "ingressgateway" {
		t.Fatalf("labels %v", got)
	}
	if got, err := podLabels(filepath.Join(dir, "absent"), ""); err != nil || len(got) != 0 {
		t.Fatalf("absent file: %v %v", got, err)
	}
	if err := os.WriteFile(file, []byte("app=reviews\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := podLabels(file, ""); errs.KindOf(err) != errs.KindBadInput || !strings.Contains(err.Error(), file+":1") {
		t.Fatalf("malformed file: got %v, want bad input naming %s:1", err, file)
	}
	if _, err := podLabels("", "{"); errs.KindOf(err) != errs.KindBadInput || !strings.Contains(err.Error(), LabelsJSONEnv) {
		t.Fatalf("malformed env: got %v", err)
	}
}
