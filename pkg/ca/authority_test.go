package ca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/url"
	"strings"
	"testing"
	"time"
)

func newCSR(t testing.TB, uris ...string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.CertificateRequest{Subject: pkix.Name{CommonName: "workload"}}
	for _, u := range uris {
		parsed, _ := url.Parse(u)
		tmpl.URIs = append(tmpl.URIs, parsed)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

// verifyChain checks that chain[0] verifies up to the authority's root and returns the leaf.
func verifyChain(t testing.TB, chain []string, rootPEM string) *x509.Certificate {
	t.Helper()
	if len(chain) < 2 {
		t.Fatalf("chain has %d certificates, want leaf + root at least", len(chain))
	}
	leaf, err := parseCert([]byte(chain[0]))
	if err != nil {
		t.Fatal(err)
	}
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	if !roots.AppendCertsFromPEM([]byte(rootPEM)) {
		t.Fatal("root does not parse")
	}
	for _, c := range chain[1:] {
		inter.AppendCertsFromPEM([]byte(c))
	}
	if chain[len(chain)-1] != rootPEM {
		t.Fatal("chain does not end with the root")
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth}}); err != nil {
		t.Fatalf("leaf does not verify: %v", err)
	}
	return leaf
}

func TestSignIssuesSPIFFEIdentityOnly(t *testing.T) {
	a, err := NewSelfSigned("cluster.local", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// The CSR asks for someone else's identity; the authority must ignore it.
	chain, err := a.Sign(newCSR(t, "spiffe://cluster.local/ns/kube-system/sa/admin"), Identity{Namespace: "default", ServiceAccount: "reviews"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	leaf := verifyChain(t, chain, a.RootPEM())
	if len(leaf.URIs) != 1 || leaf.URIs[0].String() != "spiffe://cluster.local/ns/default/sa/reviews" {
		t.Fatalf("URI SANs = %v", leaf.URIs)
	}
	if leaf.IsCA || len(leaf.DNSNames) != 0 {
		t.Fatalf("leaf must be a plain workload certificate: IsCA=%v DNS=%v", leaf.IsCA, leaf.DNSNames)
	}
	if life := leaf.NotAfter.Sub(time.Now()); life > time.Hour || life < 59*time.Minute {
		t.Fatalf("lifetime %v, want 1h", life)
	}
}

func TestSignCapsLifetimeAtIssuer(t *testing.T) {
	a, err := NewSelfSigned("example.org", 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	chain, err := a.Sign(newCSR(t), Identity{Namespace: "ns", ServiceAccount: "sa"}, 1000*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	leaf := verifyChain(t, chain, a.RootPEM())
	if leaf.NotAfter.After(a.cert.NotAfter) {
		t.Fatalf("leaf expires %v after its issuer %v", leaf.NotAfter, a.cert.NotAfter)
	}
	if leaf.URIs[0].Host != "example.org" {
		t.Fatalf("trust domain %q", leaf.URIs[0].Host)
	}
}

func TestSignRejectsBadCSR(t *testing.T) {
	a, _ := NewSelfSigned("cluster.local", time.Hour)
	id := Identity{Namespace: "a", ServiceAccount: "b"}
	for name, csr := range map[string][]byte{
		"empty":     nil,
		"not pem":   []byte("hello"),
		"wrong pem": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}}),
		"garbage":   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: []byte{1, 2, 3}}),
	} {
		if _, err := a.Sign(csr, id, time.Hour); err == nil {
			t.Errorf("%s: signed", name)
		}
	}
	if _, err := a.Sign(newCSR(t), Identity{}, time.Hour); err == nil {
		t.Error("signed for an empty identity")
	}
}

// intermediate builds root -> intermediate and returns the PEMs a cacerts Secret would hold.
func intermediate(t *testing.T) (certPEM, keyPEM, rootPEM, chainPEM []byte) {
	t.Helper()
	root, err := NewSelfSigned("cluster.local", 48*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(42), Subject: pkix.Name{CommonName: "intermediate"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, root.cert, key.Public(), root.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	certPEM = []byte(encodeCert(der))
	return certPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), []byte(root.RootPEM()), append(append([]byte{}, certPEM...), root.RootPEM()...)
}

func TestFromPEMWithIntermediate(t *testing.T) {
	cert, key, root, chain := intermediate(t)
	a, err := FromPEM("cluster.local", cert, key, root, chain)
	if err != nil {
		t.Fatal(err)
	}
	issued, err := a.Sign(newCSR(t), Identity{Namespace: "default", ServiceAccount: "web"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(issued) != 3 {
		t.Fatalf("want leaf, intermediate, root; got %d certificates", len(issued))
	}
	verifyChain(t, issued, string(root))

	// Without cert-chain.pem the chain is built from ca-cert.pem and the root.
	a, err = FromPEM("cluster.local", cert, key, root, nil)
	if err != nil {
		t.Fatal(err)
	}
	issued, _ = a.Sign(newCSR(t), Identity{Namespace: "default", ServiceAccount: "web"}, time.Hour)
	verifyChain(t, issued, string(root))
}

func TestFromPEMRejectsInconsistentSecrets(t *testing.T) {
	cert, key, root, _ := intermediate(t)
	_, otherKey, otherRoot, _ := intermediate(t)
	cases := map[string]struct {
		cert, key, root []byte
		want            string
	}{
		"key mismatch":     {cert, otherKey, root, "does not match"},
		"wrong root":       {cert, key, otherRoot, "does not chain"},
		"missing cert":     {nil, key, root, SecretCACert},
		"missing key":      {cert, nil, root, SecretCAKey},
		"leaf is not a CA": {[]byte(mustLeaf(t)), key, root, "not a CA"},
	}
	for name, c := range cases {
		_, err := FromPEM("cluster.local", c.cert, c.key, c.root, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error mentioning %q", name, err, c.want)
		}
	}
}

func mustLeaf(t *testing.T) string {
	a, _ := NewSelfSigned("cluster.local", time.Hour)
	chain, err := a.Sign(newCSR(t), Identity{Namespace: "a", ServiceAccount: "b"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return chain[0]
}

func TestIdentityFromUsername(t *testing.T) {
	id, err := identityFromUsername("system:serviceaccount:shop:cart")
	if err != nil || id != (Identity{Namespace: "shop", ServiceAccount: "cart"}) {
		t.Fatalf("got %v, %v", id, err)
	}
	for _, bad := range []string{"", "admin", "system:serviceaccount:shop", "system:node:n1:x", "system:serviceaccount::x"} {
		if _, err := identityFromUsername(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// BenchmarkSign measures one core's signing rate: CSR parsing and signature check plus ECDSA P-256
// issuance, as CreateCertificate does per request.
func BenchmarkSign(b *testing.B) {
	a, err := NewSelfSigned("cluster.local", 24*time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	csr := newCSR(b)
	id := Identity{Namespace: "default", ServiceAccount: "bench"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Sign(csr, id, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "signings/s")
}

func TestServingCertificateAndSecretRoundTrip(t *testing.T) {
	a, err := NewSelfSigned("cluster.local", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	data, err := a.SecretData()
	if err != nil {
		t.Fatal(err)
	}
	// A restarted controller loads the same root from the stored Secret.
	b, err := FromPEM("cluster.local", data[SecretCACert], data[SecretCAKey], data[SecretRootCert], nil)
	if err != nil {
		t.Fatal(err)
	}
	if b.RootPEM() != a.RootPEM() {
		t.Fatal("root changed across the round trip")
	}
	sc := NewServingCertificates(b, []string{"istiod.istio-system.svc"}, time.Hour)
	cert, err := sc.GetCertificate(nil)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM([]byte(a.RootPEM()))
	if _, err := cert.Leaf.Verify(x509.VerifyOptions{DNSName: "istiod.istio-system.svc", Roots: roots}); err != nil {
		t.Fatalf("serving certificate does not verify: %v", err)
	}
	again, _ := sc.GetCertificate(nil)
	if again != cert {
		t.Fatal("certificate reissued before half its life")
	}
}
