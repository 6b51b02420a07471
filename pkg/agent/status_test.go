package agent

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"sigs.k8s.io/yaml"
)

// fakeAdmin is Envoy's admin port: /ready answers 200 once ready is set; drains are recorded.
type fakeAdmin struct {
	ready  atomic.Bool
	mu     sync.Mutex
	drains []string
	port   int
}

func startFakeAdmin(t *testing.T) *fakeAdmin {
	a := &fakeAdmin{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ready", func(w http.ResponseWriter, _ *http.Request) {
		if !a.ready.Load() {
			http.Error(w, "PRE_INITIALIZING", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "LIVE\n")
	})
	mux.HandleFunc("GET /stats/prometheus", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "envoy_server_live 1\n")
	})
	mux.HandleFunc("POST /drain_listeners", func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.drains = append(a.drains, r.URL.RawQuery)
		a.mu.Unlock()
		_, _ = io.WriteString(w, "OK\n")
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	a.port, _ = strconv.Atoi(u.Port())
	return a
}

func get(t *testing.T, method, url string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestStatusReadiness(t *testing.T) {
	admin := startFakeAdmin(t)
	certDir := t.TempDir()
	s := &StatusServer{AdminPort: admin.port, CertDir: certDir}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()

	admin.ready.Store(true)
	if code, body := get(t, "GET", srv.URL+"/healthz/ready"); code != 503 || !strings.Contains(body, "certificate") {
		t.Fatalf("without a certificate: %d %q, want 503 naming the certificate", code, body)
	}
	if err := os.WriteFile(filepath.Join(certDir, CertChainFile), []byte("chain"), 0o644); err != nil {
		t.Fatal(err)
	}
	admin.ready.Store(false)
	if code, body := get(t, "GET", srv.URL+"/healthz/ready"); code != 503 || !strings.Contains(body, "PRE_INITIALIZING") {
		t.Fatalf("envoy not ready: %d %q, want 503 with envoy's state", code, body)
	}
	admin.ready.Store(true)
	if code, _ := get(t, "GET", srv.URL+"/healthz/ready"); code != 200 {
		t.Fatalf("ready: %d, want 200", code)
	}

	if code, body := get(t, "GET", srv.URL+"/stats/prometheus"); code != 200 || body != "envoy_server_live 1\n" {
		t.Fatalf("metrics: %d %q, want envoy's", code, body)
	}

	// The preStop drain: Envoy drains inbound listeners gracefully, readiness fails from then on.
	if code, _ := get(t, "GET", srv.URL+"/drain"); code != http.StatusMethodNotAllowed {
		t.Fatalf("GET /drain: %d, want 405", code)
	}
	if code, _ := get(t, "POST", srv.URL+"/drain"); code != 200 {
		t.Fatalf("POST /drain: %d", code)
	}
	admin.mu.Lock()
	drains := append([]string(nil), admin.drains...)
	admin.mu.Unlock()
	if len(drains) != 1 || drains[0] != "inboundonly&graceful" {
		t.Fatalf("envoy drains %q, want one inboundonly&graceful", drains)
	}
	if code, body := get(t, "GET", srv.URL+"/healthz/ready"); code != 503 || !strings.Contains(body, "draining") {
		t.Fatalf("after drain: %d %q, want 503 draining", code, body)
	}
}

func TestStatusReadinessWithoutEnvoy(t *testing.T) {
	lis, _ := net.Listen("tcp", "127.0.0.1:0")
	port := lis.Addr().(*net.TCPAddr).Port
	_ = lis.Close() // nothing listens there now
	s := &StatusServer{AdminPort: port}
	if err := s.Ready(context.Background()); err == nil || !strings.Contains(err.Error(), "envoy admin") {
		t.Fatalf("got %v, want an envoy admin error", err)
	}
}

func TestStatusQuit(t *testing.T) {
	var quits atomic.Int32
	s := &StatusServer{Quit: func() { quits.Add(1) }}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	if code, _ := get(t, "GET", srv.URL+"/quitquitquit"); code != http.StatusMethodNotAllowed || quits.Load() != 0 {
		t.Fatalf("GET /quitquitquit: %d, quits %d; want 405 and no quit", code, quits.Load())
	}
	if code, _ := get(t, "POST", srv.URL+"/quitquitquit"); code != 200 || quits.Load() != 1 {
		t.Fatalf("POST /quitquitquit: %d, quits %d", code, quits.Load())
	}
}

// appServers are real app endpoints on loopback: an HTTP server whose /healthz follows healthy, an
// HTTPS one, a TCP listener and a gRPC health server.
type appServers struct {
	healthy             atomic.Bool
	gotHeader           atomic.Value
	httpPort, httpsPort int
	tcpPort, closedPort int
	grpcPort            int
	grpcHealth          *health.Server
}

func startApps(t *testing.T) *appServers {
	a := &appServers{}
	a.healthy.Store(true)
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		a.gotHeader.Store(r.Header.Get("X-Probe") + "|" + r.Host)
		if !a.healthy.Load() {
			http.Error(w, "sick", http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://elsewhere.invalid/", http.StatusFound)
	})
	port := func(u string) int { p, _ := url.Parse(u); n, _ := strconv.Atoi(p.Port()); return n }
	h := httptest.NewServer(mux)
	t.Cleanup(h.Close)
	a.httpPort = port(h.URL)
	hs := httptest.NewTLSServer(mux)
	t.Cleanup(hs.Close)
	a.httpsPort = port(hs.URL)

	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tcp.Close() })
	go func() {
		for {
			c, err := tcp.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	a.tcpPort = tcp.Addr().(*net.TCPAddr).Port
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	a.closedPort = closed.Addr().(*net.TCPAddr).Port
	_ = closed.Close()

	g := grpc.NewServer()
	a.grpcHealth = health.NewServer()
	healthpb.RegisterHealthServer(g, a.grpcHealth)
	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.Serve(gl) }()
	t.Cleanup(g.Stop)
	a.grpcPort = gl.Addr().(*net.TCPAddr).Port
	return a
}

// TestAppHealthRunsOriginalProbes feeds ISTIO_KUBE_APP_PROBERS as the injector writes it and checks
// that each /app-health path runs the original probe against the real app.
func TestAppHealthRunsOriginalProbes(t *testing.T) {
	apps := startApps(t)
	probersJSON := fmt.Sprintf(`{
	  "/app-health/web/readyz":   {"httpGet": {"path": "/healthz", "port": %d, "scheme": "HTTP", "httpHeaders": [{"name": "X-Probe", "value": "yes"}, {"name": "Host", "value": "web.local"}]}, "timeoutSeconds": 1},
	  "/app-health/web/livez":    {"httpGet": {"path": "healthz", "port": %d, "scheme": "HTTPS"}},
	  "/app-health/web/startupz": {"httpGet": {"path": "/moved", "port": %d}},
	  "/app-health/db/readyz":    {"tcpSocket": {"port": %d}},
	  "/app-health/db/livez":     {"tcpSocket": {"port": %d}},
	  "/app-health/rpc/readyz":   {"grpc": {"port": %d}}
	}`, apps.httpPort, apps.httpsPort, apps.httpPort, apps.tcpPort, apps.closedPort, apps.grpcPort)
	probers, err := ParseAppProbers(probersJSON)
	if err != nil {
		t.Fatal(err)
	}
	s := &StatusServer{Probers: probers, ProbeHost: "127.0.0.1"}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()

	expect := func(path string, want int) {
		t.Helper()
		if code, body := get(t, "GET", srv.URL+path); code != want {
			t.Errorf("%s: %d %q, want %d", path, code, body, want)
		}
	}
	expect("/app-health/web/readyz", 200)
	if got := apps.gotHeader.Load(); got != "yes|web.local" {
		t.Errorf("probe headers reached the app as %q, want X-Probe and Host", got)
	}
	expect("/app-health/web/livez", 200)    // HTTPS, self-signed: not verified, as the kubelet
	expect("/app-health/web/startupz", 302) // a redirect is success and is not followed
	expect("/app-health/db/readyz", 200)
	expect("/app-health/db/livez", 500)
	expect("/app-health/rpc/readyz", 200)
	expect("/app-health/nope/readyz", 404)

	apps.healthy.Store(false)
	expect("/app-health/web/readyz", 500)
	apps.grpcHealth.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	expect("/app-health/rpc/readyz", 500)
}

func TestParseAppProbersRejectsBadInput(t *testing.T) {
	for _, js := range []string{
		`{"/app-health/a/readyz": `,
		`{"/healthz": {"tcpSocket": {"port": 80}}}`,
		`{"/app-health/a/readyz": {}}`,
		`{"/app-health/a/readyz": {"httpGet": {"port": "http"}}}`,
	} {
		if _, err := ParseAppProbers(js); err == nil || !strings.Contains(err.Error(), AppProbersEnv) {
			t.Errorf("%s: got %v, want an error naming %s", js, err, AppProbersEnv)
		}
	}
	if p, err := ParseAppProbers(""); err != nil || len(p) != 0 {
		t.Fatalf("empty env: %v %v", p, err)
	}
}

// TestParsesInjectorOutput reads ISTIO_KUBE_APP_PROBERS from the injector's golden outputs, so the
// agent and the injector agree on the format.
func TestParsesInjectorOutput(t *testing.T) {
	found := 0
	for _, f := range []string{"pod.yaml", "deployment.yaml"} {
		b, err := os.ReadFile(filepath.Join("..", "inject", "testdata", "out", f))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(b), "\n")
		for i, l := range lines {
			if !strings.Contains(l, "name: "+AppProbersEnv) || i+1 >= len(lines) {
				continue
			}
			var v struct{ Value string }
			if err := yaml.Unmarshal([]byte(strings.TrimSpace(lines[i+1])), &v); err != nil {
				t.Fatalf("%s:%d: %v", f, i+2, err)
			}
			probers, err := ParseAppProbers(v.Value)
			if err != nil || len(probers) == 0 {
				t.Fatalf("%s:%d: %v (%d probers)", f, i+2, err, len(probers))
			}
			found++
		}
	}
	if found == 0 {
		t.Fatal("no ISTIO_KUBE_APP_PROBERS in the injector's golden outputs")
	}
}
