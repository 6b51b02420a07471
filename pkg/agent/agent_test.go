package agent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	secretv3 "github.com/envoyproxy/go-control-plane/envoy/service/secret/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/xds"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"skiff.dev/skiff/internal/testenv"
	"skiff.dev/skiff/pkg/ca"
	"skiff.dev/skiff/pkg/errs"
)

func TestGRPCBootstrapIsAcceptedByGRPC(t *testing.T) {
	b, err := GRPCBootstrapJSON(BootstrapOptions{
		XDSAddr: "istiod.istio-system.svc:15010", PodName: "reviews-v1-abc", PodNamespace: "default", PodIP: "10.1.2.3",
		Labels: map[string]string{"app": "reviews"},
	}, "/var/run/skiff/certs")
	if err != nil {
		t.Fatal(err)
	}
	// grpc-go's own parser is the judge: it rejects unknown credential types, bad providers, etc.
	if _, err := xds.NewXDSResolverWithConfigForTesting(b); err != nil {
		t.Fatalf("grpc-go rejects the bootstrap: %v\n%s", err, b)
	}
	// Servers too: an xDS-enabled server needs the listener name template and the certificate provider.
	srv, err := xds.NewGRPCServer(xds.BootstrapContentsForTesting(b))
	if err != nil {
		t.Fatalf("grpc-go's xDS server rejects the bootstrap: %v", err)
	}
	srv.Stop()
	var doc struct {
		Node struct {
			ID       string         `json:"id"`
			Metadata map[string]any `json:"metadata"`
		} `json:"node"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Node.ID != "sidecar~10.1.2.3~reviews-v1-abc.default~default.svc.cluster.local" || doc.Node.Metadata["GENERATOR"] != "grpc" {
		t.Fatalf("node %+v", doc.Node)
	}
	if _, err := GRPCBootstrapJSON(BootstrapOptions{}, "/x"); errs.KindOf(err) != errs.KindUsage {
		t.Fatalf("missing address: got %v, want a usage error", err)
	}
}

// TestAgentFetchesAndRenews runs the agent against the real CA service (TLS, TokenReview on a real API
// server): it writes a key and a SPIFFE certificate for its service account, then replaces them at half
// their (short) lifetime.
func TestAgentFetchesAndRenews(t *testing.T) {
	env := testenv.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	authority, addr, token := ratingsCA(ctx, t, env)

	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	opts := Options{
		CAAddr: addr, ServerName: "istiod.istio-system.svc",
		RootCert: write("mesh-root.pem", authority.RootPEM()), TokenFile: write("token", token),
		OutputDir: filepath.Join(dir, "certs"), CertTTL: 3 * time.Second,
		GRPCBootstrap:  filepath.Join(dir, "bootstrap.json"),
		SDSSocket:      filepath.Join(dir, "sds.sock"),
		EnvoyBootstrap: filepath.Join(dir, "envoy.json"),
		Bootstrap:      BootstrapOptions{XDSAddr: "istiod.istio-system.svc:15010", PodName: "ratings-0", PodNamespace: "default", PodIP: "10.0.0.1"},
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- Run(runCtx, opts) }()

	first := waitForCert(t, opts.OutputDir, nil)
	if got := first.URIs[0].String(); got != "spiffe://cluster.local/ns/default/sa/ratings" {
		t.Fatalf("SAN %q", got)
	}
	keyPEM, _ := os.ReadFile(filepath.Join(opts.OutputDir, KeyFile))
	chainPEM, _ := os.ReadFile(filepath.Join(opts.OutputDir, CertChainFile))
	if _, err := tls.X509KeyPair(chainPEM, keyPEM); err != nil {
		t.Fatalf("key and certificate on disk do not pair: %v", err)
	}
	for _, f := range []string{opts.GRPCBootstrap, opts.EnvoyBootstrap} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("bootstrap not written: %v", err)
		}
	}
	// Envoy's view: the same certificate over SDS, and the renewal pushed on the open stream.
	sds := sdsStream(ctx, t, opts.SDSSocket)
	resp := sdsSecrets(t, sds, first)

	renewed := waitForCert(t, opts.OutputDir, first)
	if renewed.NotAfter.Before(first.NotAfter) {
		t.Fatal("renewal produced an older certificate")
	}
	if err := sds.Send(&discoveryv3.DiscoveryRequest{TypeUrl: resource.SecretType, ResourceNames: []string{SecretWorkload, SecretRoot},
		VersionInfo: resp.GetVersionInfo(), ResponseNonce: resp.GetNonce()}); err != nil {
		t.Fatal(err)
	}
	sdsSecrets(t, sds, renewed)
	stop()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}

	// A token the API server does not accept gets no certificate.
	opts.TokenFile = write("bad-token", "not-a-token")
	if _, err := Fetch(ctx, opts); err == nil || !strings.Contains(err.Error(), "Unauthenticated") {
		t.Fatalf("bad token: got %v, want Unauthenticated", err)
	}
}

func sdsStream(ctx context.Context, t *testing.T, socket string) secretv3.SecretDiscoveryService_StreamSecretsClient {
	t.Helper()
	conn, err := grpc.NewClient("unix://"+socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	stream, err := secretv3.NewSecretDiscoveryServiceClient(conn).StreamSecrets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&discoveryv3.DiscoveryRequest{Node: &corev3.Node{Id: "sidecar~10.0.0.1~ratings-0.default~default.svc.cluster.local"},
		TypeUrl: resource.SecretType, ResourceNames: []string{SecretWorkload, SecretRoot}}); err != nil {
		t.Fatal(err)
	}
	return stream
}

// sdsSecrets reads SDS responses until the workload secret carries want; the root must be there too.
func sdsSecrets(t *testing.T, stream secretv3.SecretDiscoveryService_StreamSecretsClient, want *x509.Certificate) *discoveryv3.DiscoveryResponse {
	t.Helper()
	for {
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		var leaf *x509.Certificate
		root := false
		for _, a := range resp.GetResources() {
			secret := &tlsv3.Secret{}
			if err := a.UnmarshalTo(secret); err != nil {
				t.Fatal(err)
			}
			switch secret.GetName() {
			case SecretWorkload:
				block, _ := pem.Decode(secret.GetTlsCertificate().GetCertificateChain().GetInlineBytes())
				if block != nil {
					leaf, _ = x509.ParseCertificate(block.Bytes)
				}
				if len(secret.GetTlsCertificate().GetPrivateKey().GetInlineBytes()) == 0 {
					t.Fatal("SDS workload secret has no private key")
				}
			case SecretRoot:
				root = len(secret.GetValidationContext().GetTrustedCa().GetInlineBytes()) > 0
			}
		}
		if !root {
			t.Fatalf("SDS response lacks %s", SecretRoot)
		}
		if leaf != nil && leaf.SerialNumber.Cmp(want.SerialNumber) == 0 {
			return resp
		}
		// An older certificate: acknowledge and wait for the next push.
		if err := stream.Send(&discoveryv3.DiscoveryRequest{TypeUrl: resource.SecretType, ResourceNames: []string{SecretWorkload, SecretRoot},
			VersionInfo: resp.GetVersionInfo(), ResponseNonce: resp.GetNonce()}); err != nil {
			t.Fatal(err)
		}
	}
}

func serveCA(t *testing.T, a *ca.Authority, kube kubernetes.Interface) string {
	t.Helper()
	serving := ca.NewServingCertificates(a, []string{"istiod.istio-system.svc"}, time.Hour)
	g := grpc.NewServer(grpc.Creds(credentials.NewTLS(&tls.Config{GetCertificate: serving.GetCertificate})))
	(&ca.Service{Authority: a, Authenticator: ca.TokenReviewer{Client: kube}, MaxTTL: time.Hour}).Register(g)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)
	return lis.Addr().String()
}

// waitForCert waits for a leaf certificate in dir that differs from previous.
func waitForCert(t *testing.T, dir string, previous *x509.Certificate) *x509.Certificate {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(filepath.Join(dir, CertChainFile)); err == nil {
			if block, _ := pem.Decode(b); block != nil {
				if c, err := x509.ParseCertificate(block.Bytes); err == nil && (previous == nil || c.SerialNumber.Cmp(previous.SerialNumber) != 0) {
					return c
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("no (new) certificate written in time")
	return nil
}

func TestEnvoyBootstrap(t *testing.T) {
	o := EnvoyBootstrapOptions{
		BootstrapOptions: BootstrapOptions{PodName: "reviews-v1-abc", PodNamespace: "default", PodIP: "10.1.2.3", Labels: map[string]string{"app": "reviews"}},
		SecureXDSAddr:    "istiod.istio-system.svc:15012", RootCert: "/var/run/secrets/istio/root-cert.pem", SDSSocket: "/var/run/secrets/workload-spiffe-uds/socket",
	}
	b, err := EnvoyBootstrap(o)
	if err != nil {
		t.Fatal(err) // EnvoyBootstrap runs the proto's own validation
	}
	if b.GetNode().GetId() != "sidecar~10.1.2.3~reviews-v1-abc.default~default.svc.cluster.local" {
		t.Fatalf("node id %q", b.GetNode().GetId())
	}
	names := map[string]bool{}
	for _, c := range b.GetStaticResources().GetClusters() {
		names[c.GetName()] = true
	}
	if !names[xdsClusterName] || !names[sdsClusterName] {
		t.Fatalf("static clusters %v, want xds-grpc and sds-grpc", names)
	}
	if js, err := EnvoyBootstrapJSON(o); err != nil || !strings.Contains(string(js), "workload-spiffe-uds") {
		t.Fatalf("JSON: %v", err)
	}
	o.SecureXDSAddr = "no-port"
	if _, err := EnvoyBootstrap(o); errs.KindOf(err) != errs.KindUsage {
		t.Fatalf("bad address: got %v, want a usage error", err)
	}
}

// ratingsCA serves a fresh self-signed CA that authenticates callers by TokenReview on env's API server,
// and returns it, its address and a projected token of ServiceAccount default/ratings for audience istio-ca.
func ratingsCA(ctx context.Context, t *testing.T, env *testenv.Environment) (authority *ca.Authority, addr, token string) {
	t.Helper()
	kube := kubernetes.NewForConfigOrDie(env.Config)
	if _, err := kube.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "ratings"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tr, err := kube.CoreV1().ServiceAccounts("default").CreateToken(ctx, "ratings", &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{Audiences: []string{ca.DefaultAudience}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	authority, err = ca.NewSelfSigned("cluster.local", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return authority, serveCA(t, authority, kube), tr.Status.Token
}
