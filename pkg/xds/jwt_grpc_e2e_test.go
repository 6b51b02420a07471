package xds_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"testing"
	"time"

	securityapi "istio.io/api/security/v1beta1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"google.golang.org/grpc/codes"

	"skiff.dev/skiff/pkg/model"
)

// TestGRPCJWTPoliciesFailClosed: a proxyless gRPC server cannot verify JWTs, so with a RequestAuthentication
// on it and AuthorizationPolicies on request principals, a real grpc-go server (which accepts the listener:
// no jwt_authn filter is sent to it) must never let a JWT rule allow, and must let a JWT DENY rule deny,
// however good the token the client presents.
func TestGRPCJWTPoliciesFailClosed(t *testing.T) {
	w := newMeshWorkloads(t)
	key, jwks := testJWKS(t)
	token := signJWT(t, key, map[string]any{"iss": "https://issuer.example.com", "sub": "alice", "exp": time.Now().Add(time.Hour).Unix()})
	in := authzInput(w.port,
		// Delete needs a token: on gRPC nobody has one, so Delete is denied to everyone.
		authz("require-jwt-for-delete", securityapi.AuthorizationPolicy_DENY, &securityapi.Rule{
			From: []*securityapi.Rule_From{{Source: &securityapi.Source{NotRequestPrincipals: []string{"*"}}}},
			To:   []*securityapi.Rule_To{{Operation: &securityapi.Operation{Paths: []string{deleteRPC}}}},
		}),
		// alice by her token, or ratings unless its token says mallory (neither ever, on gRPC: were the
		// claim's negation evaluated against metadata gRPC does not have, ratings would get in), or
		// productpage by its certificate.
		authz("allow", securityapi.AuthorizationPolicy_ALLOW,
			&securityapi.Rule{From: []*securityapi.Rule_From{{Source: &securityapi.Source{RequestPrincipals: []string{"https://issuer.example.com/alice"}}}}},
			&securityapi.Rule{
				From: []*securityapi.Rule_From{{Source: &securityapi.Source{Principals: []string{"cluster.local/ns/default/sa/ratings"}}}},
				When: []*securityapi.Condition{{Key: "request.auth.claims[sub]", NotValues: []string{"mallory"}}},
			},
			&securityapi.Rule{From: []*securityapi.Rule_From{{Source: &securityapi.Source{Principals: []string{"cluster.local/ns/default/sa/productpage"}}}}},
		),
	)
	in.RequestAuthentications = []*securityv1.RequestAuthentication{{
		ObjectMeta: metav1.ObjectMeta{Name: "jwt", Namespace: "default"},
		Spec:       securityapi.RequestAuthentication{JwtRules: []*securityapi.JWTRule{{Issuer: "https://issuer.example.com", Jwks: jwks}}},
	}}
	_, cpAddr := startControlPlane(t, model.Build(in))
	startTwoMethodServer(t, w.lis, grpcBootstrap(cpAddr, w.reviews, "reviews"))
	productpage := methodClient(t, cpAddr, w.productpage, "productpage")
	ratings := methodClient(t, cpAddr, w.ratings, "ratings")

	eventuallyOK(t, "productpage calls Get, allowed by its certificate", func() (string, error) { return "", productpage(getRPC) })
	bearer := "Bearer " + token
	wantCode(t, "ratings Get with alice's valid token", ratings(getRPC, "authorization", bearer), codes.PermissionDenied)
	wantCode(t, "ratings Get without a token", ratings(getRPC), codes.PermissionDenied)
	wantCode(t, "productpage Delete with a valid token", productpage(deleteRPC, "authorization", bearer), codes.PermissionDenied)
	wantCode(t, "productpage Delete without a token", productpage(deleteRPC), codes.PermissionDenied)
}

// testJWKS is a fresh RSA key and the JWKS publishing its public half.
func testJWKS(t *testing.T) (*rsa.PrivateKey, string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	jwks := fmt.Sprintf(`{"keys":[{"kty":"RSA","alg":"RS256","use":"sig","kid":"test","n":%q,"e":%q}]}`,
		b64(key.N.Bytes()), b64(big.NewInt(int64(key.E)).Bytes()))
	return key, jwks
}

// signJWT makes an RS256 token with the given claims.
func signJWT(t *testing.T, key *rsa.PrivateKey, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	signed := enc(map[string]string{"alg": "RS256", "typ": "JWT", "kid": "test"}) + "." + enc(claims)
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
}
