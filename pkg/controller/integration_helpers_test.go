package controller

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	networkingapi "istio.io/api/networking/v1alpha3"
	securityapi "istio.io/api/security/v1alpha1"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	istioclient "istio.io/client-go/pkg/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"skiff.dev/skiff/internal/testenv"
)

// The setup the controller's integration tests share: a real API server with Istio's CRDs, a running
// controller, the reviews mesh with two real gRPC backends, and a proxy's certificate request.

// istioAPIServer installs Istio's CRDs in env and returns clients for it and a context that ends after
// timeout or with the test.
func istioAPIServer(t *testing.T, env *testenv.Environment, timeout time.Duration) (context.Context, kubernetes.Interface, istioclient.Interface) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	env.InstallIstioCRDs(t)
	return ctx, kubernetes.NewForConfigOrDie(env.Config), istioclient.NewForConfigOrDie(env.Config)
}

// startController runs a controller with free ports until the test ends; Run must return nil.
func startController(ctx context.Context, t *testing.T, cfg *rest.Config, kube kubernetes.Interface, tune func(*Options)) *Controller {
	t.Helper()
	testenv.EnsureNamespace(t, kube, "istio-system", nil)
	opts := Defaults()
	opts.Kube, opts.Namespace, opts.Debounce = cfg, "istio-system", 20*time.Millisecond
	opts.XDSAddr, opts.SecureAddr, opts.ReadyAddr, opts.MonitoringAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	if tune != nil {
		tune(&opts)
	}
	c, err := New(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	eventually(t, "/ready returns 200", func() bool { return httpStatus("http://"+c.ReadyAddr()+"/ready") == http.StatusOK })
	return c
}

// reviewsMesh creates the reviews Service with a v1 and a v2 backend (pods, EndpointSlices) and the
// DestinationRule naming both subsets; it returns the backends' names by subset. EndpointSlices may not
// hold loopback addresses, so the backends listen on this host's own address.
func reviewsMesh(ctx context.Context, t *testing.T, kube kubernetes.Interface, istio istioclient.Interface) map[string]string {
	t.Helper()
	ip := hostIP(t)
	mustCreate(t, func() error {
		_, err := kube.CoreV1().Services("default").Create(ctx, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "reviews"},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "grpc", Port: 9080}}},
		}, metav1.CreateOptions{})
		return err
	})
	out := map[string]string{}
	for _, version := range []string{"v1", "v2"} {
		name := "reviews-" + version
		out[version] = name
		port := startBackend(t, ip, name)
		mustCreate(t, func() error {
			_, err := kube.CoreV1().Pods("default").Create(ctx, &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "reviews", "version": version}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "reviews"}}},
			}, metav1.CreateOptions{})
			return err
		})
		mustCreate(t, func() error {
			_, err := kube.DiscoveryV1().EndpointSlices("default").Create(ctx, endpointSlice(name, ip, port), metav1.CreateOptions{})
			return err
		})
	}
	mustCreate(t, func() error {
		_, err := istio.NetworkingV1().DestinationRules("default").Create(ctx, &networkingv1.DestinationRule{
			ObjectMeta: metav1.ObjectMeta{Name: "reviews"},
			Spec: networkingapi.DestinationRule{Host: "reviews", Subsets: []*networkingapi.Subset{
				{Name: "v1", Labels: map[string]string{"version": "v1"}}, {Name: "v2", Labels: map[string]string{"version": "v2"}},
			}},
		}, metav1.CreateOptions{})
		return err
	})
	return out
}

func endpointSlice(pod, ip string, port int) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: pod, Labels: map[string]string{discoveryv1.LabelServiceName: "reviews"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("grpc"), Port: ptr.To(int32(port))}},
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{ip},
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: pod, Namespace: "default"}}},
	}
}

// routeAll is the VirtualService "reviews" sending everything to one subset.
func routeAll(name, subset string) *networkingv1.VirtualService {
	return &networkingv1.VirtualService{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: networkingapi.VirtualService{Hosts: []string{"reviews"}, Http: []*networkingapi.HTTPRoute{{
			Route: []*networkingapi.HTTPRouteDestination{{Destination: &networkingapi.Destination{Host: "reviews", Subset: subset}}},
		}}},
	}
}

// tryCertificate asks the controller's CA over TLS, as a proxy does, and returns its answer.
func tryCertificate(ctx context.Context, t *testing.T, c *Controller, token string) ([]string, error) {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM([]byte(c.RootPEM()))
	conn, err := grpc.NewClient(c.SecureAddr(), grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: roots, ServerName: "istiod.istio-system.svc"})))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}
	resp, err := securityapi.NewIstioCertificateServiceClient(conn).CreateCertificate(ctx,
		&securityapi.IstioCertificateRequest{Csr: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})), ValidityDuration: 3600})
	return resp.GetCertChain(), err
}

func waitFor(t *testing.T, timeout time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting until %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
