package testenv

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/cri-streaming/pkg/streaming/portforward"
)

// Kubelet stands in for a node's kubelet, which envtest does not run. It serves the kubelet's real
// port-forward endpoint (the k8s.io/cri-streaming server the kubelet itself uses), so the API server's
// pods/portforward works end to end; each forwarded pod port is connected to a local TCP address.
type Kubelet struct {
	NodeName string
	mu       sync.Mutex
	targets  map[string]string // "ns/pod/port" -> local address
}

// StartKubelet registers a Node whose kubelet endpoint is an in-process TLS server on loopback.
func (e *Environment) StartKubelet(tb testing.TB, nodeName string) *Kubelet {
	tb.Helper()
	k := &Kubelet{NodeName: nodeName, targets: map[string]string{}}
	srv := httptest.NewTLSServer(http.HandlerFunc(k.serve))
	tb.Cleanup(srv.Close)
	_, portStr, _ := net.SplitHostPort(srv.Listener.Addr().String())
	port, _ := strconv.Atoi(portStr)

	cs := kubernetes.NewForConfigOrDie(e.Config)
	ctx := context.Background()
	node, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: nodeName}}, metav1.CreateOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}}
	node.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(port)
	node.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: metav1.Now()}}
	if _, err := cs.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		tb.Fatal(err)
	}
	return k
}

// Expose connects port on pod namespace/name to a local TCP address.
func (k *Kubelet) Expose(namespace, pod string, port int32, addr string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.targets[fmt.Sprintf("%s/%s/%d", namespace, pod, port)] = addr
}

// serve handles /portForward/{namespace}/{pod}[/{uid}], the kubelet's path.
func (k *Kubelet) serve(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) < 3 || parts[0] != "portForward" {
		http.NotFound(w, r)
		return
	}
	opts, err := portforward.NewV4Options(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	fwd := podForwarder{k: k, namespace: parts[1]}
	portforward.ServePortForward(w, r, fwd, parts[2], "", opts, time.Minute, 30*time.Second, portforward.SupportedProtocols)
}

type podForwarder struct {
	k         *Kubelet
	namespace string
}

func (f podForwarder) PortForward(ctx context.Context, pod, _ string, port int32, stream io.ReadWriteCloser) error {
	defer stream.Close()
	f.k.mu.Lock()
	addr, ok := f.k.targets[fmt.Sprintf("%s/%s/%d", f.namespace, pod, port)]
	f.k.mu.Unlock()
	if !ok {
		return fmt.Errorf("pod %s/%s has nothing listening on port %d", f.namespace, pod, port)
	}
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(conn, stream); done <- struct{}{} }()
	go func() { _, _ = io.Copy(stream, conn); done <- struct{}{} }()
	<-done
	return nil
}
