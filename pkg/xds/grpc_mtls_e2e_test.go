package xds_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	networkingapi "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	xdscreds "google.golang.org/grpc/credentials/xds"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/xds"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"skiff.dev/skiff/pkg/ca"
	"skiff.dev/skiff/pkg/model"
	skiffxds "skiff.dev/skiff/pkg/xds"
)

// TestGRPCIstioMutualTLS: a DestinationRule with tls.mode ISTIO_MUTUAL makes a proxyless gRPC client
// (xDS credentials, certificates from its bootstrap's file_watcher provider, issued by pkg/ca) open mTLS
// to the backend and check the backend's SPIFFE identity; when the expected identity changes, the same
// backend is refused.
func TestGRPCIstioMutualTLS(t *testing.T) {
	authority, err := ca.NewSelfSigned("cluster.local", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	port := startMTLSBackend(t, authority, ca.Identity{Namespace: "default", ServiceAccount: "reviews"})
	certDir := writeWorkloadCerts(t, authority, ca.Identity{Namespace: "default", ServiceAccount: "productpage"})

	// A client whose control plane expects the backend to run as reviews succeeds, and the backend sees
	// the client's own SPIFFE identity.
	call := mtlsClient(t, certDir, mtlsMesh(port, "reviews"))
	var got string
	deadline := time.Now().Add(10 * time.Second)
	for got, err = call(); err != nil; got, err = call() {
		if time.Now().After(deadline) {
			t.Fatalf("mTLS call never succeeded: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got != "spiffe://cluster.local/ns/default/sa/productpage" {
		t.Fatalf("backend saw client identity %q, want productpage's SPIFFE ID", got)
	}

	// A client told that the endpoints run as ratings refuses the same backend (its certificate says reviews).
	call = mtlsClient(t, certDir, mtlsMesh(port, "ratings"))
	_, err = call()
	if err == nil || !strings.Contains(err.Error(), "received SANs") {
		t.Fatalf("want the handshake refused for its SANs, got %v", err)
	}
}

// mtlsClient runs a control plane serving mesh and returns a call function of a proxyless gRPC client
// using xDS credentials, whose bootstrap's file_watcher provider reads certDir.
func mtlsClient(t *testing.T, certDir string, mesh *model.Mesh) func() (string, error) {
	t.Helper()
	_, addr := startControlPlane(t, mesh)
	return xdsCredsClient(t, addr, certDir, "productpage")
}

func startControlPlane(t *testing.T, mesh *model.Mesh) (*skiffxds.Server, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	srv := skiffxds.NewServer(ctx, mesh, quietLogger{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer(skiffxds.GRPCServerOptions()...)
	srv.Register(g)
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)
	return srv, lis.Addr().String()
}

// grpcBootstrap is what the agent writes: the xDS server, an Istio node, and the file_watcher provider.
func grpcBootstrap(xdsAddr, certDir, workload string) []byte {
	file := func(name string) string { return filepath.Join(certDir, name) }
	return []byte(fmt.Sprintf(`{
	  "xds_servers": [{"server_uri": %q, "channel_creds": [{"type": "insecure"}], "server_features": ["xds_v3"]}],
	  "node": {"id": "sidecar~127.0.0.1~%s.default~default.svc.cluster.local", "metadata": {"GENERATOR": "grpc", "NAMESPACE": "default", "LABELS": {"app": %q}}},
	  "certificate_providers": {"default": {"plugin_name": "file_watcher", "config": {
	    "certificate_file": %q, "private_key_file": %q, "ca_certificate_file": %q, "refresh_interval": "1s"}}},
	  "server_listener_resource_name_template": "xds.istio.io/grpc/lds/inbound/%%s"
	}`, xdsAddr, workload, workload, file("cert-chain.pem"), file("key.pem"), file("root-cert.pem")))
}

func xdsCredsClient(t *testing.T, xdsAddr, certDir, workload string) func() (string, error) {
	t.Helper()
	resolver, err := xds.NewXDSResolverWithConfigForTesting(grpcBootstrap(xdsAddr, certDir, workload))
	if err != nil {
		t.Fatal(err)
	}
	creds, err := xdscreds.NewClientCredentials(xdscreds.ClientOptions{FallbackCreds: insecure.NewCredentials()})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(target, grpc.WithResolvers(resolver), grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return func() (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		out := &wrapperspb.StringValue{}
		err := conn.Invoke(ctx, versionRPC, wrapperspb.String(""), out)
		return out.GetValue(), err
	}
}

func mtlsMesh(port int, serviceAccount string) *model.Mesh {
	return model.Build(mtlsInput(port, serviceAccount))
}

// mtlsInput is reviews on 127.0.0.1:port, its pod running as serviceAccount, with ISTIO_MUTUAL.
func mtlsInput(port int, serviceAccount string) model.Input {
	return model.Input{
		Services: []*corev1.Service{{
			ObjectMeta: metav1.ObjectMeta{Name: "reviews", Namespace: "default"},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "grpc", Port: 9080}}},
		}},
		Pods: []*corev1.Pod{{
			ObjectMeta: metav1.ObjectMeta{Name: "reviews-0", Namespace: "default", Labels: map[string]string{"app": "reviews"}},
			Spec:       corev1.PodSpec{ServiceAccountName: serviceAccount},
		}},
		EndpointSlices: []*discoveryv1.EndpointSlice{{
			ObjectMeta:  metav1.ObjectMeta{Name: "reviews", Namespace: "default", Labels: map[string]string{discoveryv1.LabelServiceName: "reviews"}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("grpc"), Port: ptr.To(int32(port))}},
			Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"127.0.0.1"},
				TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: "reviews-0"}}},
		}},
		DestinationRules: []*networkingv1.DestinationRule{{
			ObjectMeta: metav1.ObjectMeta{Name: "reviews", Namespace: "default"},
			Spec: networkingapi.DestinationRule{Host: "reviews", TrafficPolicy: &networkingapi.TrafficPolicy{
				Tls: &networkingapi.ClientTLSSettings{Mode: networkingapi.ClientTLSSettings_ISTIO_MUTUAL},
			}},
		}},
	}
}

// issue returns a key and its certificate chain (leaf first, root last) for id.
func issue(t *testing.T, a *ca.Authority, id ca.Identity) (*ecdsa.PrivateKey, []string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		t.Fatal(err)
	}
	chain, err := a.Sign(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), id, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return key, chain
}

func keyPEM(t *testing.T, key *ecdsa.PrivateKey) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// writeWorkloadCerts lays out the files the agent writes (key.pem, cert-chain.pem, root-cert.pem).
func writeWorkloadCerts(t *testing.T, a *ca.Authority, id ca.Identity) string {
	t.Helper()
	key, chain := issue(t, a, id)
	dir := t.TempDir()
	for name, data := range map[string][]byte{
		"key.pem": keyPEM(t, key), "cert-chain.pem": []byte(chain[0]), "root-cert.pem": []byte(a.RootPEM()),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// startMTLSBackend serves Version/Get over mTLS with a certificate for id, requiring a client certificate
// from the same root, and answers with the client's SPIFFE ID.
func startMTLSBackend(t *testing.T, a *ca.Authority, id ca.Identity) int {
	t.Helper()
	key, chain := issue(t, a, id)
	cert, err := tls.X509KeyPair([]byte(strings.Join(chain[:len(chain)-1], "")), keyPEM(t, key))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM([]byte(a.RootPEM()))
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(&tls.Config{
		Certificates: []tls.Certificate{cert}, ClientCAs: roots, ClientAuth: tls.RequireAndVerifyClientCert,
	})))
	srv.RegisterService(&grpc.ServiceDesc{
		ServiceName: "skiff.test.Version",
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{MethodName: "Get", Handler: func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			if err := dec(&wrapperspb.StringValue{}); err != nil {
				return nil, err
			}
			p, _ := peer.FromContext(ctx)
			info, _ := p.AuthInfo.(credentials.TLSInfo)
			if len(info.State.PeerCertificates) == 0 || len(info.State.PeerCertificates[0].URIs) == 0 {
				return wrapperspb.String("no client identity"), nil
			}
			return wrapperspb.String(info.State.PeerCertificates[0].URIs[0].String()), nil
		}}},
	}, struct{}{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().(*net.TCPAddr).Port
}
