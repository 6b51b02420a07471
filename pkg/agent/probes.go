package agent

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	corev1 "k8s.io/api/core/v1"

	"skiff.dev/skiff/pkg/errs"
)

// AppProbersEnv is where the injector leaves the app containers' original probes, keyed by the
// /app-health/<container>/<readyz|livez|startupz> path it pointed the kubelet at (Istio's format).
const AppProbersEnv = "ISTIO_KUBE_APP_PROBERS"

// AppProber is one original probe: exactly one of its handlers is set.
type AppProber struct {
	HTTPGet        *corev1.HTTPGetAction   `json:"httpGet,omitempty"`
	TCPSocket      *corev1.TCPSocketAction `json:"tcpSocket,omitempty"`
	GRPC           *corev1.GRPCAction      `json:"grpc,omitempty"`
	TimeoutSeconds int32                   `json:"timeoutSeconds,omitempty"`
}

// ParseAppProbers reads ISTIO_KUBE_APP_PROBERS; an empty value means no rewritten probes.
func ParseAppProbers(js string) (map[string]AppProber, error) {
	out := map[string]AppProber{}
	if strings.TrimSpace(js) == "" {
		return out, nil
	}
	if err := json.Unmarshal([]byte(js), &out); err != nil {
		return nil, errs.BadInput("env %s: %v", AppProbersEnv, err)
	}
	for path, p := range out {
		if !strings.HasPrefix(path, "/app-health/") {
			return nil, errs.BadInput("env %s: path %q is not under /app-health/", AppProbersEnv, path)
		}
		if p.HTTPGet == nil && p.TCPSocket == nil && p.GRPC == nil {
			return nil, errs.BadInput("env %s: %s has no httpGet, tcpSocket or grpc handler", AppProbersEnv, path)
		}
		if p.HTTPGet != nil && p.HTTPGet.Port.IntValue() == 0 || p.TCPSocket != nil && p.TCPSocket.Port.IntValue() == 0 {
			return nil, errs.BadInput("env %s: %s needs a numeric port", AppProbersEnv, path)
		}
	}
	return out, nil
}

// Probe runs the original probe against the app as the kubelet would: host defaults to defaultHost
// (the pod IP), HTTP succeeds on 2xx/3xx without following redirects, HTTPS does not verify the
// certificate. It returns the HTTP status the status server answers with and, on failure, why.
func (p AppProber) Probe(ctx context.Context, defaultHost string) (int, error) {
	timeout := time.Duration(max(p.TimeoutSeconds, 1)) * time.Second
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	switch {
	case p.HTTPGet != nil:
		return p.probeHTTP(ctx, defaultHost)
	case p.TCPSocket != nil:
		addr := net.JoinHostPort(firstNonEmpty(p.TCPSocket.Host, defaultHost), strconv.Itoa(p.TCPSocket.Port.IntValue()))
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err != nil {
			return http.StatusInternalServerError, err
		}
		_ = conn.Close()
		return http.StatusOK, nil
	default:
		return p.probeGRPC(ctx, defaultHost)
	}
}

func (p AppProber) probeHTTP(ctx context.Context, defaultHost string) (int, error) {
	g := p.HTTPGet
	scheme := "http"
	if g.Scheme == corev1.URISchemeHTTPS {
		scheme = "https"
	}
	path := g.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	url := scheme + "://" + net.JoinHostPort(firstNonEmpty(g.Host, defaultHost), strconv.Itoa(g.Port.IntValue())) + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return http.StatusInternalServerError, err
	}
	req.Header.Set("User-Agent", "kube-probe/skiff-agent")
	for _, h := range g.HTTPHeaders {
		if strings.EqualFold(h.Name, "Host") {
			req.Host = h.Value
		} else {
			req.Header.Add(h.Name, h.Value)
		}
	}
	client := &http.Client{
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // the kubelet does not verify probe certificates either
			DisableKeepAlives: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		return http.StatusInternalServerError, err
	}
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return resp.StatusCode, fmt.Errorf("%s answered %s", url, resp.Status)
	}
	return resp.StatusCode, nil
}

func (p AppProber) probeGRPC(ctx context.Context, defaultHost string) (int, error) {
	addr := net.JoinHostPort(defaultHost, strconv.Itoa(int(p.GRPC.Port)))
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return http.StatusInternalServerError, err
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: derefString(p.GRPC.Service)})
	if err != nil {
		return http.StatusInternalServerError, err
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return http.StatusInternalServerError, fmt.Errorf("gRPC health of %s: %s", addr, resp.GetStatus())
	}
	return http.StatusOK, nil
}

func derefString(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
