package proxyconfig

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	adminv3 "github.com/envoyproxy/go-control-plane/envoy/admin/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/anypb"
)

func testCert(t *testing.T, serial int64, notBefore, notAfter time.Time) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), NotBefore: notBefore, NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func inline(b []byte) *corev3.DataSource {
	return &corev3.DataSource{Specifier: &corev3.DataSource_InlineBytes{InlineBytes: b}}
}

func anyOf(t *testing.T, s *tlsv3.Secret) *anypb.Any {
	a, err := anypb.New(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestSecretView reads certificates as Envoy dumps them (PEM in inline_bytes, base64 in JSON, the private
// key redacted) and judges validity against the given time.
func TestSecretView(t *testing.T) {
	day := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	workload := testCert(t, 0xabc123, day, day.Add(24*time.Hour))
	root := testCert(t, 0x1, day.Add(-365*24*time.Hour), day.Add(-time.Hour)) // expired
	secrets := &adminv3.SecretsConfigDump{
		DynamicActiveSecrets: []*adminv3.SecretsConfigDump_DynamicSecret{
			{Name: "default", Secret: anyOf(t, &tlsv3.Secret{Name: "default", Type: &tlsv3.Secret_TlsCertificate{TlsCertificate: &tlsv3.TlsCertificate{
				CertificateChain: inline(workload), PrivateKey: &corev3.DataSource{Specifier: &corev3.DataSource_InlineString{InlineString: "[redacted]"}},
			}}})},
			{Name: "ROOTCA", Secret: anyOf(t, &tlsv3.Secret{Name: "ROOTCA", Type: &tlsv3.Secret_ValidationContext{ValidationContext: &tlsv3.CertificateValidationContext{
				TrustedCa: inline(root),
			}}})},
		},
		DynamicWarmingSecrets: []*adminv3.SecretsConfigDump_DynamicSecret{{Name: "file-cert:/etc/certs/cert.pem~/etc/certs/key.pem"}},
	}
	a, err := anypb.New(secrets)
	if err != nil {
		t.Fatal(err)
	}
	js, err := protojson.Marshal(&adminv3.ConfigDump{Configs: []*anypb.Any{a}})
	if err != nil {
		t.Fatal(err)
	}
	dump, err := Decode(js)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Render(&out, dump, RenderOptions{View: Secret, Now: day.Add(12 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"RESOURCE NAME                                      TYPE         STATUS    VALID CERT   SERIAL NUMBER   NOT AFTER              NOT BEFORE",
		"default                                            Cert Chain   ACTIVE    true         abc123          2026-11-02T00:00:00Z   2026-11-01T00:00:00Z",
		"ROOTCA                                             CA           ACTIVE    false        1               2026-10-31T23:00:00Z   2025-11-01T00:00:00Z",
		"file-cert:/etc/certs/cert.pem~/etc/certs/key.pem   -            WARMING   false        -               -                      -",
	}
	if got := strings.TrimSpace(out.String()); got != strings.Join(want, "\n") {
		t.Errorf("secret view:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}
