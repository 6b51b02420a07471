package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"skiff.dev/skiff/pkg/errs"
)

// StatusServer is the agent's port 15020: the proxy's readiness, the app probes the injector moved here,
// the shutdown and drain controls lifecycle hooks call, and Envoy's Prometheus metrics.
type StatusServer struct {
	// AdminPort is Envoy's admin port on localhost (15000).
	AdminPort int
	// CertDir is where the workload certificate is written; the proxy is not ready without it.
	CertDir string
	// Probers are the original app probes from ISTIO_KUBE_APP_PROBERS; ProbeHost is where they are sent
	// when they name no host (the pod IP, as the kubelet would use).
	Probers   map[string]AppProber
	ProbeHost string
	// Quit is called once on POST /quitquitquit: the agent drains and stops Envoy, then exits.
	Quit func()
	Log  *slog.Logger

	draining atomic.Bool
}

// SetDraining makes /healthz/ready fail, so the endpoint leaves load balancing while the proxy drains.
func (s *StatusServer) SetDraining() { s.draining.Store(true) }

// Handler serves the status endpoints.
func (s *StatusServer) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz/ready", s.ready)
	mux.HandleFunc("/app-health/", s.appHealth)
	mux.HandleFunc("POST /quitquitquit", s.quit)
	mux.HandleFunc("POST /drain", s.drain)
	mux.HandleFunc("GET /stats/prometheus", s.metrics)
	return mux
}

// Serve listens on addr; the returned function stops the server.
func (s *StatusServer) Serve(addr string) (func(), error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, errs.Failure("status server on %s: %v", addr, err)
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(lis) }()
	return func() { _ = srv.Close() }, nil
}

// Ready reports why the proxy is not ready yet: Envoy's admin /ready answers 200 once it has its
// initial configuration (listeners and clusters from xDS), and the workload certificate must exist.
func (s *StatusServer) Ready(ctx context.Context) error {
	if s.draining.Load() {
		return errors.New("the proxy is draining")
	}
	if s.CertDir != "" {
		if _, err := os.Stat(filepath.Join(s.CertDir, CertChainFile)); err != nil {
			return errors.New("no workload certificate yet")
		}
	}
	code, body, err := s.admin(ctx, http.MethodGet, "/ready")
	if err != nil {
		return fmt.Errorf("envoy admin: %v", err)
	}
	if code != http.StatusOK {
		return fmt.Errorf("envoy is not ready: %d %s", code, body)
	}
	return nil
}

func (s *StatusServer) ready(w http.ResponseWriter, r *http.Request) {
	if err := s.Ready(r.Context()); err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	_, _ = io.WriteString(w, "ready\n")
}

func (s *StatusServer) appHealth(w http.ResponseWriter, r *http.Request) {
	p, ok := s.Probers[r.URL.Path]
	if !ok {
		http.Error(w, "no app probe registered for "+r.URL.Path, http.StatusNotFound)
		return
	}
	code, err := p.Probe(r.Context(), firstNonEmpty(s.ProbeHost, "127.0.0.1"))
	if err != nil {
		s.log().Debug("app probe failed", "path", r.URL.Path, "error", err)
		http.Error(w, err.Error(), code)
		return
	}
	w.WriteHeader(code)
}

func (s *StatusServer) quit(w http.ResponseWriter, _ *http.Request) {
	if s.Quit != nil {
		s.Quit()
	}
	_, _ = io.WriteString(w, "OK\n")
}

// drain is the native sidecar's preStop: inbound listeners stop accepting new connections and close
// existing ones gracefully, while outbound keeps working for the app's own shutdown.
func (s *StatusServer) drain(w http.ResponseWriter, r *http.Request) {
	s.SetDraining()
	code, body, err := s.admin(r.Context(), http.MethodPost, "/drain_listeners?inboundonly&graceful")
	if err != nil {
		http.Error(w, "envoy admin: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// metrics serves Envoy's Prometheus metrics where the injector's prometheus.io/port annotation points
// (the status port) when metrics merging is on. The app's own metrics are not merged in.
func (s *StatusServer) metrics(w http.ResponseWriter, r *http.Request) {
	code, body, err := s.admin(r.Context(), http.MethodGet, "/stats/prometheus")
	if err != nil {
		http.Error(w, "envoy admin: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

func (s *StatusServer) admin(ctx context.Context, method, path string) (int, []byte, error) {
	return localRequest(ctx, method, "http://"+net.JoinHostPort("127.0.0.1", strconv.Itoa(s.AdminPort))+path, 2*time.Second)
}

func (s *StatusServer) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

// localRequest sends one request without a body and returns the status and body.
func localRequest(ctx context.Context, method, url string, timeout time.Duration) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, body, err
}
