package controller

import (
	"context"
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
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/xds"
	"google.golang.org/protobuf/types/known/wrapperspb"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	ctx, kube, istio := istioAPIServer(t, env, 60*time.Second)

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

	c := startController(ctx, t, env.Config, kube, func(opts *Options) {
		opts.WebhookAddr, opts.MutatingWebhookConfigurations = "127.0.0.1:0", []string{"istio-sidecar-injector", "absent-is-fine"}
		opts.Webhooks = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("webhook " + r.URL.Path)) })
	})
	var v version.Info
	if err := json.Unmarshal([]byte(httpBody(t, "http://"+c.MonitoringAddr()+"/version")), &v); err != nil || v.Version == "" {
		t.Fatalf("/version: %v %+v", err, v)
	}

	// The mesh: reviews with v1 and v2 backends, all routed to v1.
	reviewsMesh(ctx, t, kube, istio)
	vs := routeAll("reviews", "v1")
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
	waitFor(t, 15*time.Second, what, ok)
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
	chain, err := tryCertificate(ctx, t, c, token)
	if err != nil {
		t.Fatalf("CreateCertificate over TLS: %v", err)
	}
	return chain
}
