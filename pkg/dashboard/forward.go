package dashboard

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
	streamhttp "k8s.io/streaming/pkg/httpstream"

	"skiff.dev/skiff/pkg/errs"
)

// Forward is an open port-forward from a local address to a pod's port, through the API server.
type Forward struct {
	LocalPort int
	stop      chan struct{}
	done      chan error
}

// StartForward opens the forward and returns once the local listener is ready.
// localPort 0 picks a free port. Diagnostics from the forwarder go to logs (io.Discard unless verbose).
func StartForward(cfg *rest.Config, namespace, pod, address string, localPort, remotePort int, logs io.Writer) (*Forward, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	u := cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(namespace).Name(pod).SubResource("portforward").URL()
	dialer, err := newDialer(cfg, u)
	if err != nil {
		return nil, err
	}
	f := &Forward{stop: make(chan struct{}), done: make(chan error, 1)}
	ready := make(chan struct{})
	ports := []string{fmt.Sprintf("%d:%d", localPort, remotePort)}
	fw, err := portforward.NewOnAddressesForStreaming(dialer, []string{address}, ports, f.stop, ready, logs, logs)
	if err != nil {
		return nil, errs.Usage("port-forward: %v", err)
	}
	go func() { f.done <- fw.ForwardPorts() }()
	select {
	case <-ready:
	case err := <-f.done:
		return nil, forwardError(err, address, localPort, namespace, pod)
	}
	got, err := fw.GetPorts()
	if err != nil || len(got) != 1 {
		f.Close()
		return nil, errs.Failure("port-forward to %s/%s: no local port bound", namespace, pod)
	}
	f.LocalPort = int(got[0].Local)
	return f, nil
}

// Wait blocks until the forward ends: Close was called or the connection to the API server broke.
func (f *Forward) Wait() error { return <-f.done }

// Close stops forwarding.
func (f *Forward) Close() {
	select {
	case <-f.stop:
	default:
		close(f.stop)
	}
}

// newDialer tries WebSockets first and falls back to SPDY, exactly as kubectl port-forward does.
func newDialer(cfg *rest.Config, u *url.URL) (streamhttp.Dialer, error) {
	transport, upgrader, err := spdy.RoundTripperFor(cfg)
	if err != nil {
		return nil, err
	}
	spdyDialer := spdy.NewDialerForStreaming(upgrader, &http.Client{Transport: transport}, http.MethodPost, u)
	ws, err := portforward.NewSPDYOverWebsocketDialerForStreaming(u, cfg)
	if err != nil {
		return nil, err
	}
	return portforward.NewFallbackDialerForStreaming(ws, spdyDialer, func(err error) bool {
		return streamhttp.IsUpgradeFailure(err) || streamhttp.IsHTTPSProxyError(err)
	}), nil
}

func forwardError(err error, address string, localPort int, namespace, pod string) error {
	if err == nil {
		return errs.Failure("port-forward to %s/%s ended before it was ready", namespace, pod)
	}
	if strings.Contains(err.Error(), "unable to listen on any of the requested ports") {
		return errs.Failure("local port %d on %s is in use; choose another with --port", localPort, address)
	}
	return errs.Failure("port-forward to %s/%s: %s", namespace, pod, firstLine(err.Error()))
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
