// Package ca is Skiff's certificate authority: a root (self-signed, or the user's from an Istio-style
// cacerts Secret) that issues short-lived workload certificates whose URI SAN is the SPIFFE identity
// spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>, over Istio's IstioCertificateService.
package ca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"time"

	corev1 "k8s.io/api/core/v1"

	"skiff.dev/skiff/pkg/errs"
)

// Keys of the cacerts Secret, as Istio names them.
const (
	SecretCACert    = "ca-cert.pem"
	SecretCAKey     = "ca-key.pem"
	SecretRootCert  = "root-cert.pem"
	SecretCertChain = "cert-chain.pem"
)

// Defaults for issued certificates.
const (
	DefaultWorkloadTTL = 24 * time.Hour
	MaxWorkloadTTL     = 90 * 24 * time.Hour
	// clockSkew back-dates certificates so a peer whose clock is a little behind still accepts them.
	clockSkew = time.Minute
)

// Authority signs workload certificates. It is immutable and safe for concurrent use.
type Authority struct {
	trustDomain string
	cert        *x509.Certificate
	key         crypto.Signer
	// chain is the signing certificate followed by any intermediates, root last (PEM blocks).
	chain []string
	root  string
}

// NewSelfSigned creates a fresh ECDSA P-256 root for trustDomain, valid for ttl.
func NewSelfSigned(trustDomain string, ttl time.Duration) (*Authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{trustDomain}, CommonName: "Skiff root CA"},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(ttl),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	root := encodeCert(der)
	return &Authority{trustDomain: trustDomain, cert: cert, key: key, chain: []string{root}, root: root}, nil
}

// FromSecret loads the user's CA from an Istio cacerts Secret (ca-cert.pem, ca-key.pem, root-cert.pem,
// and optionally cert-chain.pem).
func FromSecret(trustDomain string, s *corev1.Secret) (*Authority, error) {
	a, err := FromPEM(trustDomain, s.Data[SecretCACert], s.Data[SecretCAKey], s.Data[SecretRootCert], s.Data[SecretCertChain])
	if err != nil {
		return nil, errs.BadInput("secret %s/%s: %v", s.Namespace, s.Name, err)
	}
	return a, nil
}

// FromPEM builds an authority from a signing certificate and key, the root, and an optional chain from
// the signing certificate up to (and possibly including) the root.
func FromPEM(trustDomain string, certPEM, keyPEM, rootPEM, chainPEM []byte) (*Authority, error) {
	cert, err := parseCert(certPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", SecretCACert, err)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("%s: certificate is not a CA", SecretCACert)
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", SecretCAKey, err)
	}
	if !publicKeysEqual(cert.PublicKey, key.Public()) {
		return nil, fmt.Errorf("%s does not match %s", SecretCAKey, SecretCACert)
	}
	root, err := parseCert(rootPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", SecretRootCert, err)
	}
	// The signing certificate must chain to the root, or every issued certificate is useless.
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(root)
	var chain []string
	if len(chainPEM) > 0 {
		certs, err := parseCerts(chainPEM)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", SecretCertChain, err)
		}
		for _, c := range certs {
			inter.AddCert(c)
			chain = append(chain, encodeCert(c.Raw))
		}
	} else {
		chain = []string{encodeCert(cert.Raw)}
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return nil, fmt.Errorf("%s does not chain to %s: %w", SecretCACert, SecretRootCert, err)
	}
	rootEnc := encodeCert(root.Raw)
	if chain[len(chain)-1] != rootEnc {
		chain = append(chain, rootEnc)
	}
	return &Authority{trustDomain: trustDomain, cert: cert, key: key, chain: chain, root: rootEnc}, nil
}

// TrustDomain is the SPIFFE trust domain of issued identities.
func (a *Authority) TrustDomain() string { return a.trustDomain }

// RootPEM is the trust anchor workloads verify peers with.
func (a *Authority) RootPEM() string { return a.root }

// Identity is a workload's Kubernetes identity.
type Identity struct {
	Namespace      string
	ServiceAccount string
}

// SPIFFEID is spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>.
func (a *Authority) SPIFFEID(id Identity) *url.URL {
	return &url.URL{Scheme: "spiffe", Host: a.trustDomain, Path: "/ns/" + id.Namespace + "/sa/" + id.ServiceAccount}
}

// Sign issues a certificate for the CSR's key with id's SPIFFE ID as its only SAN; whatever names the CSR
// asks for are ignored, since the caller's identity comes from authentication, not from the request. The
// result is the certificate chain in PEM, leaf first and root last, as IstioCertificateService returns it.
func (a *Authority) Sign(csrPEM []byte, id Identity, ttl time.Duration) ([]string, error) {
	if id.Namespace == "" || id.ServiceAccount == "" {
		return nil, errors.New("identity needs a namespace and a service account")
	}
	block, _ := pem.Decode(csrPEM)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return nil, errors.New("csr is not a PEM CERTIFICATE REQUEST")
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("csr: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("csr signature: %w", err)
	}
	if ttl <= 0 {
		ttl = DefaultWorkloadTTL
	}
	ttl = min(ttl, MaxWorkloadTTL)
	now := time.Now()
	notAfter := now.Add(ttl)
	if notAfter.After(a.cert.NotAfter) {
		notAfter = a.cert.NotAfter // a certificate must not outlive its issuer
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{a.trustDomain}},
		URIs:                  []*url.URL{a.SPIFFEID(id)},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, csr.PublicKey, a.key)
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	return append([]string{encodeCert(der)}, a.chain...), nil
}

func newSerial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
}

func encodeCert(der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}
