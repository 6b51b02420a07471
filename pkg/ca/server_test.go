package ca

import (
	"context"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	securityapi "istio.io/api/security/v1alpha1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"skiff.dev/skiff/internal/testenv"
)

// TestCreateCertificateWithTokenReview runs the CA's gRPC service against a real API server: a projected
// ServiceAccount token for audience istio-ca gets a certificate for exactly that service account; a
// forged token, a token for another audience and no token get nothing.
func TestCreateCertificateWithTokenReview(t *testing.T) {
	env := testenv.Start(t)
	kube, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := kube.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "reviews"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	token := func(audience string) string {
		tr, err := kube.CoreV1().ServiceAccounts("default").CreateToken(ctx, "reviews", &authenticationv1.TokenRequest{
			Spec: authenticationv1.TokenRequestSpec{Audiences: []string{audience}, ExpirationSeconds: ptr.To(int64(600))},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return tr.Status.Token
	}

	authority, err := NewSelfSigned("cluster.local", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	svc := &Service{Authority: authority, Authenticator: TokenReviewer{Client: kube}, MaxTTL: 2 * time.Hour, DefaultTTL: time.Hour}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer()
	svc.Register(g)
	go func() { _ = g.Serve(lis) }()
	defer g.Stop()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := securityapi.NewIstioCertificateServiceClient(conn)
	request := func(bearer string, validity int64) (*securityapi.IstioCertificateResponse, error) {
		callCtx := ctx
		if bearer != "" {
			callCtx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+bearer)
		}
		return client.CreateCertificate(callCtx, &securityapi.IstioCertificateRequest{Csr: string(newCSR(t)), ValidityDuration: validity})
	}

	resp, err := request(token(DefaultAudience), 24*3600) // asks for a day, gets MaxTTL
	if err != nil {
		t.Fatalf("valid token: %v", err)
	}
	leaf := verifyChain(t, resp.GetCertChain(), authority.RootPEM())
	if got := leaf.URIs[0].String(); got != "spiffe://cluster.local/ns/default/sa/reviews" {
		t.Fatalf("SAN %q", got)
	}
	if life := time.Until(leaf.NotAfter); life > 2*time.Hour || life < 119*time.Minute {
		t.Fatalf("lifetime %v, want capped at 2h", life)
	}

	denied := map[string]string{
		"forged token":     "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZGVmYXVsdDpyZXZpZXdzIn0.c2ln",
		"another audience": token("https://kubernetes.default.svc"),
		"no token":         "",
	}
	for name, bearer := range denied {
		resp, err := request(bearer, 0)
		if status.Code(err) != codes.Unauthenticated || len(resp.GetCertChain()) != 0 {
			t.Errorf("%s: got %d certificates, err %v; want Unauthenticated", name, len(resp.GetCertChain()), err)
		}
	}
}
