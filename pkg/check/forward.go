package check

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"skiff.dev/skiff/pkg/dashboard"
)

// Controller ports the checks reach through a port-forward to the istiod pod.
const (
	webhookPort  = 15017 // the injection and validation webhooks (TLS)
	probeTimeout = 5 * time.Second
)

// notReachable says the controller pod could not be reached at all (no running pod, or the port-forward
// failed): the check that wanted it reports what it can without it.
type notReachable struct{ reason string }

func (e *notReachable) Error() string { return e.reason }

// controllerPod finds a running, ready istiod pod in the mesh namespace.
func (in *inspector) controllerPod(ctx context.Context) (string, error) {
	pods, err := in.c.Typed.CoreV1().Pods(in.ns).List(ctx, metav1.ListOptions{LabelSelector: "app=istiod"})
	if err != nil {
		return "", &notReachable{"listing istiod pods: " + firstLine(err)}
	}
	for _, p := range pods.Items {
		if p.Status.Phase == corev1.PodRunning && podReady(&p) && p.DeletionTimestamp == nil {
			return p.Name, nil
		}
	}
	return "", &notReachable{fmt.Sprintf("no running, ready istiod pod in namespace %s", in.ns)}
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// forward opens a port-forward to port of the istiod pod and returns the local address.
func (in *inspector) forward(ctx context.Context, port int) (string, func(), error) {
	pod, err := in.controllerPod(ctx)
	if err != nil {
		return "", nil, err
	}
	f, err := dashboard.StartForward(in.c.Config, in.ns, pod, "127.0.0.1", 0, port, io.Discard)
	if err != nil {
		return "", nil, &notReachable{firstLine(err)}
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(f.LocalPort)), f.Close, nil
}

// servedWebhookChain reads the certificate chain the webhook serves, without verifying it (verifyChain does,
// against the caBundle). It makes a whole HTTPS request rather than just a handshake, so the exchange is
// finished before the port-forward closes and neither side logs a broken stream.
func (in *inspector) servedWebhookChain(ctx context.Context) ([]*x509.Certificate, error) {
	addr, done, err := in.forward(ctx, webhookPort)
	if err != nil {
		return nil, err
	}
	defer done()
	transport := &http.Transport{TLSClientConfig: &tls.Config{
		ServerName: serviceDNSName(in.ns),
		// Verified by verifyChain against the caBundle, the only trust that matters to the API server.
		InsecureSkipVerify: true, //nolint:gosec
	}}
	defer transport.CloseIdleConnections()
	resp, err := fetch(ctx, &http.Client{Transport: transport}, "https://"+addr+"/ready")
	if err != nil {
		return nil, fmt.Errorf("HTTPS to pod port %d: %v", webhookPort, err)
	}
	return resp.TLS.PeerCertificates, nil
}

// fetch GETs url, reading the whole body.
func fetch(ctx context.Context, client *http.Client, url string) (*http.Response, error) {
	rctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, err
}
