package controller

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/xds"
	"google.golang.org/protobuf/types/known/wrapperspb"
	networkingapi "istio.io/api/networking/v1alpha3"
	securityapi "istio.io/api/security/v1alpha1"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	istioclient "istio.io/client-go/pkg/clientset/versioned"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"skiff.dev/skiff/internal/testenv"
	"skiff.dev/skiff/pkg/version"
)

// TestControllerEndToEnd runs the controller against a real API server with Istio's CRDs: Kubernetes
// objects and a VirtualService created through the API reach a real gRPC xDS client and change where its
// RPCs go; the CA signs over TLS for a ServiceAccount token; /ready, /version, /metrics and the root
// ConfigMap work; a restart keeps the same root.
func TestControllerEndToEnd(t *testing.T) {
	env := testenv.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	kube := kubernetes.NewForConfigOrDie(env.Config)
	istio := istioclient.NewForConfigOrDie(env.Config)
	env.InstallIstioCRDs(t)
	mustCreate(t, func() error {
		_, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "istio-system"}}, metav1.CreateOptions{})
		return err
	})

	// A webhook configuration as the installer leaves it: no caBundle yet. Its rule matches nothing the
	// test creates, so the unreachable service does not matter.
	ignore := admissionv1.Ignore
	none := admissionv1.SideEffectClassNone
	mustCreate(t, func() error {
		_, err := kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, &admissionv1.MutatingWebhookConfiguration{
			ObjectMeta: metav1.ObjectMeta{Name: "istio-sidecar-injector"},
			Webhooks: []admissionv1.MutatingWebhook{{
				Name:                    "sidecar-injector.istio.io",
				ClientConfig:            admissionv1.WebhookClientConfig{Service: &admissionv1.ServiceReference{Name: "istiod", Namespace: "istio-system", Path: ptr.To("/inject")}},
				Rules:                   []admissionv1.RuleWithOperations{{Operations: []admissionv1.OperationType{admissionv1.Create}, Rule: admissionv1.Rule{APIGroups: []string{"apps"}, APIVersions: []string{"v1"}, Resources: []string{"deployments"}}}},
				FailurePolicy:           &ignore,
				SideEffects:             &none,
				AdmissionReviewVersions: []string{"v1"},
			}},
		}, metav1.CreateOptions{})
		return err
	})

	opts := Defaults()
	opts.Kube, opts.Namespace, opts.Debounce = env.Config, "istio-system", 20*time.Millisecond
	opts.XDSAddr, opts.SecureAddr, opts.ReadyAddr, opts.MonitoringAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	opts.WebhookAddr, opts.MutatingWebhookConfigurations = "127.0.0.1:0", []string{"istio-sidecar-injector", "absent-is-fine"}
	opts.Webhooks = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("webhook " + r.URL.Path)) })
	c, err := New(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	eventually(t, "/ready returns 200", func() bool { return httpStatus("http://"+c.ReadyAddr()+"/ready") == http.StatusOK })
	var v version.Info
	if err := json.Unmarshal([]byte(httpBody(t, "http://"+c.MonitoringAddr()+"/version")), &v); err != nil || v.Version == "" {
		t.Fatalf("/version: %v %+v", err, v)
	}

	// The mesh: reviews with v1 and v2 backends, all routed to v1.
	// EndpointSlices may not hold loopback addresses, so the backends listen on this host's own address.
	ip := hostIP(t)
	v1, v2 := startBackend(t, ip, "reviews-v1"), startBackend(t, ip, "reviews-v2")
	mustCreate(t, func() error {
		_, err := kube.CoreV1().Services("default").Create(ctx, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "reviews"},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "grpc", Port: 9080}}},
		}, metav1.CreateOptions{})
		return err
	})
	for name, port := range map[string]int{"v1": v1, "v2": v2} {
		mustCreate(t, func() error {
			_, err := kube.CoreV1().Pods("default").Create(ctx, &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "reviews-" + name, Labels: map[string]string{"app": "reviews", "version": name}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "reviews"}}},
			}, metav1.CreateOptions{})
			return err
		})
		mustCreate(t, func() error {
			_, err := kube.DiscoveryV1().EndpointSlices("default").Create(ctx, &discoveryv1.EndpointSlice{
				ObjectMeta:  metav1.ObjectMeta{Name: "reviews-" + name, Labels: map[string]string{discoveryv1.LabelServiceName: "reviews"}},
				AddressType: discoveryv1.AddressTypeIPv4,
				Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("grpc"), Port: ptr.To(int32(port))}},
				Endpoints: []discoveryv1.Endpoint{{Addresses: []string{ip},
					TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: "reviews-" + name, Namespace: "default"}}},
			}, metav1.CreateOptions{})
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
	vs := &networkingv1.VirtualService{
		ObjectMeta: metav1.ObjectMeta{Name: "reviews"},
		Spec: networkingapi.VirtualService{Hosts: []string{"reviews"}, Http: []*networkingapi.HTTPRoute{{
			Route: []*networkingapi.HTTPRouteDestination{{Destination: &networkingapi.Destination{Host: "reviews", Subset: "v1"}}},
		}}},
	}
	mustCreate(t, func() error {
		var err error
		vs, err = istio.NetworkingV1().VirtualServices("default").Create(ctx, vs, metav1.CreateOptions{})
		return err
	})

	conn := xdsClient(t, c.XDSAddr())
	eventually(t, "all RPCs reach v1", func() bool { return allFrom(conn, "reviews-v1") })
	vs.Spec.Http[0].Route[0].Destination.Subset = "v2"
	if _, err := istio.NetworkingV1().VirtualServices("default").Update(ctx, vs, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "after the VirtualService update all RPCs reach v2", func() bool { return allFrom(conn, "reviews-v2") })

	metrics := httpBody(t, "http://"+c.MonitoringAddr()+"/metrics")
	for _, want := range []string{"skiff_xds_pushes_total", "skiff_xds_connected_proxies 1", "skiff_mesh_services 2"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	// The debug endpoints show the connected gRPC client and the configuration it was sent.
	const clientID = "sidecar~127.0.0.1~client.default~default.svc.cluster.local"
	if p := httpBody(t, "http://"+c.MonitoringAddr()+"/debug/proxies"); !strings.Contains(p, clientID) {
		t.Errorf("/debug/proxies: %s", p)
	}
	dump := httpBody(t, "http://"+c.MonitoringAddr()+"/debug/config_dump?proxy="+url.QueryEscape(clientID))
	var parsed map[string][]any
	if err := yaml.Unmarshal([]byte(dump), &parsed); err != nil || len(parsed["listeners"]) != 1 || !strings.Contains(dump, "outbound|9080|v2|reviews.default.svc.cluster.local") {
		t.Errorf("/debug/config_dump (err %v):\n%s", err, dump)
	}
	if httpStatus("http://"+c.MonitoringAddr()+"/debug/config_dump?proxy=nobody") != http.StatusNotFound {
		t.Error("/debug/config_dump for an unknown proxy should be 404")
	}

	eventually(t, "root certificate ConfigMap published to default", func() bool {
		cm, err := kube.CoreV1().ConfigMaps("default").Get(ctx, RootCertConfigMap, metav1.GetOptions{})
		return err == nil && cm.Data[rootCertKey] == c.RootPEM()
	})

	// The CA over TLS, verified against the published root, for a real ServiceAccount token.
	mustCreate(t, func() error {
		_, err := kube.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "reviews"}}, metav1.CreateOptions{})
		return err
	})
	tr, err := kube.CoreV1().ServiceAccounts("default").CreateToken(ctx, "reviews", &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{Audiences: []string{"istio-ca"}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	chain := requestCertificate(ctx, t, c, tr.Status.Token)
	leaf, _ := pem.Decode([]byte(chain[0]))
	cert, err := x509.ParseCertificate(leaf.Bytes)
	if err != nil || len(cert.URIs) != 1 || cert.URIs[0].String() != "spiffe://cluster.local/ns/default/sa/reviews" {
		t.Fatalf("issued certificate: %v %v", err, cert.URIs)
	}
	if m := httpBody(t, "http://"+c.MonitoringAddr()+"/metrics"); !strings.Contains(m, `skiff_ca_certificate_requests_total{result="issued"} 1`) {
		t.Error("/metrics does not count the issued certificate")
	}

	// The webhook port serves the plugged-in handler with a certificate the patched caBundle verifies.
	eventually(t, "webhook configuration carries the mesh root", func() bool {
		cfg, err := kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, "istio-sidecar-injector", metav1.GetOptions{})
		return err == nil && string(cfg.Webhooks[0].ClientConfig.CABundle) == c.RootPEM()
	})
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM([]byte(c.RootPEM()))
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "istiod.istio-system.svc"}}}
	resp, err := hc.Get("https://" + c.WebhookAddr() + "/inject")
	if err != nil {
		t.Fatalf("webhook port: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if string(body) != "webhook /inject" {
		t.Fatalf("webhook answered %q", body)
	}

	// A second controller (a restart) finds the stored root instead of making a new one.
	again, _, err := loadAuthority(ctx, kube, "istio-system", "cluster.local")
	if err != nil || again.RootPEM() != c.RootPEM() {
		t.Fatalf("restart changed the root (err %v)", err)
	}
}

func mustCreate(t *testing.T, create func() error) {
	t.Helper()
	if err := create(); err != nil {
		t.Fatal(err)
	}
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func httpStatus(url string) int {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

func httpBody(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// hostIP is a non-loopback IPv4 address of this machine.
func hostIP(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			return n.IP.String()
		}
	}
	t.Skip("no non-loopback IPv4 address to put in an EndpointSlice")
	return ""
}

// startBackend serves skiff.test.Version/Get, answering with name, on a free port of ip.
func startBackend(t *testing.T, ip, name string) int {
	t.Helper()
	lis, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	srv.RegisterService(&grpc.ServiceDesc{
		ServiceName: "skiff.test.Version",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{MethodName: "Get", Handler: func(_ any, _ context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			if err := dec(&wrapperspb.StringValue{}); err != nil {
				return nil, err
			}
			return wrapperspb.String(name), nil
		}}},
	}, struct{}{})
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().(*net.TCPAddr).Port
}

func xdsClient(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	bootstrap := fmt.Sprintf(`{"xds_servers": [{"server_uri": %q, "channel_creds": [{"type": "insecure"}], "server_features": ["xds_v3"]}],
	  "node": {"id": "sidecar~127.0.0.1~client.default~default.svc.cluster.local", "metadata": {"GENERATOR": "grpc", "NAMESPACE": "default"}}}`, addr)
	resolver, err := xds.NewXDSResolverWithConfigForTesting([]byte(bootstrap))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient("xds:///reviews.default.svc.cluster.local:9080", grpc.WithResolvers(resolver), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// allFrom says whether 20 RPCs in a row were answered by backend.
func allFrom(conn *grpc.ClientConn, backend string) bool {
	for range 20 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		out := &wrapperspb.StringValue{}
		err := conn.Invoke(ctx, "/skiff.test.Version/Get", wrapperspb.String(""), out)
		cancel()
		if err != nil || out.GetValue() != backend {
			return false
		}
	}
	return true
}

func requestCertificate(ctx context.Context, t *testing.T, c *Controller, token string) []string {
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
	csr := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
	resp, err := securityapi.NewIstioCertificateServiceClient(conn).CreateCertificate(
		metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token),
		&securityapi.IstioCertificateRequest{Csr: string(csr), ValidityDuration: 3600})
	if err != nil {
		t.Fatalf("CreateCertificate over TLS: %v", err)
	}
	return resp.GetCertChain()
}
