package model

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	networking "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// selfSigned makes a throwaway certificate and key, PEM.
func selfSigned(t *testing.T, cn string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, DNSNames: []string{cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
}

func secret(ns, name string, data map[string][]byte) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: data}
}

// wantError fails the test unless err contains want, or is nil when want is ""; it says whether an error
// was wanted, so the case has nothing more to check.
func wantError(t *testing.T, err error, want string) bool {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatal(err)
		}
		return false
	}
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want one containing %q", err, want)
	}
	return true
}

func TestParseServerCredential(t *testing.T) {
	cert, key := selfSigned(t, "a.example.com")
	cert2, key2 := selfSigned(t, "b.example.com")
	for _, tc := range []struct {
		name     string
		data     map[string][]byte
		wantCert []byte
		wantErr  string
	}{
		{"kubernetes.io/tls keys", map[string][]byte{"tls.crt": cert, "tls.key": key}, cert, ""},
		{"generic keys", map[string][]byte{"cert": cert, "key": key}, cert, ""},
		// Istio reads cert/key before tls.crt/tls.key when both are present.
		{"generic keys win", map[string][]byte{"cert": cert2, "key": key2, "tls.crt": cert, "tls.key": key}, cert2, ""},
		{"no key", map[string][]byte{"tls.crt": cert, "ca.crt": cert}, nil, "has keys [ca.crt tls.crt], want cert and key, or tls.crt and tls.key"},
		{"mixed formats do not pair", map[string][]byte{"cert": cert, "tls.key": key}, nil, "want cert and key"},
		{"key of another certificate", map[string][]byte{"tls.crt": cert, "tls.key": key2}, nil, "private key does not match public key"},
		{"not PEM", map[string][]byte{"tls.crt": []byte("hello"), "tls.key": key}, nil, "secret istio-system/c: tls: failed to find any PEM data in certificate input"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseServerCredential(secret("istio-system", "c", tc.data))
			if wantError(t, err, tc.wantErr) {
				return
			}
			if string(got.CertChain) != string(tc.wantCert) || len(got.PrivateKey) == 0 {
				t.Errorf("got cert %q", got.CertChain)
			}
		})
	}
}

func TestParseServerCredentialStringData(t *testing.T) {
	cert, key := selfSigned(t, "a.example.com")
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c"},
		Data: map[string][]byte{"tls.crt": []byte("stale")}, StringData: map[string]string{"tls.crt": string(cert), "tls.key": string(key)}}
	if _, err := ParseServerCredential(s); err != nil {
		t.Fatalf("stringData should override data as the API server would: %v", err)
	}
}

func TestParseCACredential(t *testing.T) {
	ca, _ := selfSigned(t, "ca")
	other, _ := selfSigned(t, "other")
	for _, tc := range []struct {
		name    string
		data    map[string][]byte
		want    []byte
		wantCRL string
		wantErr string
	}{
		{"cacert", map[string][]byte{"cacert": ca, "crl": []byte("crl")}, ca, "crl", ""},
		{"ca.crt", map[string][]byte{"ca.crt": ca, "ca.crl": []byte("crl2")}, ca, "crl2", ""},
		{"cacert wins", map[string][]byte{"cacert": ca, "ca.crt": other}, ca, "", ""},
		{"none", map[string][]byte{"tls.crt": ca}, nil, "", "has keys [tls.crt], want cacert or ca.crt"},
		{"not a certificate", map[string][]byte{"ca.crt": []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")}, nil, "", "CA:"},
		{"no PEM", map[string][]byte{"ca.crt": []byte("junk")}, nil, "", "no PEM certificate found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseCACredential(secret("ns", "c", tc.data))
			if wantError(t, err, tc.wantErr) {
				return
			}
			if string(got.CACert) != string(tc.want) || string(got.CRL) != tc.wantCRL {
				t.Errorf("got %q crl %q", got.CACert, got.CRL)
			}
		})
	}
}

func TestCredentialSecretName(t *testing.T) {
	for in, want := range map[string]string{"cert": "cert", "kubernetes://cert": "cert", "other/cert": "", "kubernetes://other/cert": "", "builtin://": "", "sds://x": "", "": ""} {
		got, ok := CredentialSecretName(in)
		if got != want || ok != (want != "") {
			t.Errorf("CredentialSecretName(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

// TestMeshCredentials checks Istio's lookup through a built Mesh: Secrets only in the asked namespace,
// the client CA from <name>-cacert first and the credential's own ca.crt otherwise, and Secrets no
// Gateway names are not kept.
func TestMeshCredentials(t *testing.T) {
	cert, key := selfSigned(t, "a.example.com")
	ca, _ := selfSigned(t, "ca")
	ca2, _ := selfSigned(t, "ca2")
	gw := &networkingv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "gw"}}
	gw.Spec.Servers = []*networking.Server{
		{Tls: &networking.ServerTLSSettings{CredentialName: "with-cacert"}},
		{Tls: &networking.ServerTLSSettings{CredentialNames: []string{"kubernetes://own-ca"}}},
	}
	m := Build(Input{Gateways: []*networkingv1.Gateway{gw}, Secrets: []*corev1.Secret{
		secret("istio-system", "with-cacert", map[string][]byte{"tls.crt": cert, "tls.key": key, "ca.crt": ca2}),
		secret("istio-system", "with-cacert-cacert", map[string][]byte{"cacert": ca}),
		secret("istio-system", "own-ca", map[string][]byte{"tls.crt": cert, "tls.key": key, "ca.crt": ca2}),
		secret("istio-system", "unreferenced", map[string][]byte{"tls.crt": cert, "tls.key": key}),
	}})
	if c, err := m.ServerCredential("istio-system", "with-cacert"); err != nil || string(c.CertChain) != string(cert) {
		t.Errorf("ServerCredential: %v", err)
	}
	if _, err := m.ServerCredential("default", "with-cacert"); err == nil || err.Error() != "secret default/with-cacert not found" {
		t.Errorf("a Secret of another namespace must not be found: %v", err)
	}
	if c, err := m.CACredential("istio-system", "with-cacert"); err != nil || string(c.CACert) != string(ca) {
		t.Errorf("CACredential should prefer with-cacert-cacert: %v %q", err, c.CACert)
	}
	if c, err := m.CACredential("istio-system", "kubernetes://own-ca"); err != nil || string(c.CACert) != string(ca2) {
		t.Errorf("CACredential should fall back to own-ca's ca.crt: %v", err)
	}
	if _, err := m.ServerCredential("istio-system", "unreferenced"); err == nil {
		t.Error("a Secret no Gateway names should not be parsed or served")
	}
	if _, err := m.ServerCredential("istio-system", "ns/with-cacert"); err == nil || !strings.Contains(err.Error(), "only Secrets in the gateway's namespace") {
		t.Errorf("cross-namespace reference: %v", err)
	}
}
