package ca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"sync"
	"time"
)

// ServingCertificates issues the control plane's own TLS certificate (for its DNS names) from the
// authority and renews it when half its life has passed, so the TLS port never serves an expired one.
type ServingCertificates struct {
	authority *Authority
	dnsNames  []string
	ttl       time.Duration

	mu      sync.Mutex
	current *tls.Certificate
	renewAt time.Time
}

// NewServingCertificates prepares certificates for dnsNames, each valid for ttl.
func NewServingCertificates(a *Authority, dnsNames []string, ttl time.Duration) *ServingCertificates {
	return &ServingCertificates{authority: a, dnsNames: dnsNames, ttl: ttl}
}

// GetCertificate fits tls.Config.GetCertificate.
func (s *ServingCertificates) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.current != nil && time.Now().Before(s.renewAt) {
		return s.current, nil
	}
	cert, err := s.authority.issueServing(s.dnsNames, s.ttl)
	if err != nil {
		return nil, err
	}
	s.current = cert
	s.renewAt = time.Now().Add(s.ttl / 2)
	return cert, nil
}

func (a *Authority) issueServing(dnsNames []string, ttl time.Duration) (*tls.Certificate, error) {
	if len(dnsNames) == 0 {
		return nil, errors.New("a serving certificate needs at least one DNS name")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	notAfter := now.Add(ttl)
	if notAfter.After(a.cert.NotAfter) {
		notAfter = a.cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{Organization: []string{a.trustDomain}, CommonName: dnsNames[0]},
		DNSNames:     dnsNames,
		NotBefore:    now.Add(-clockSkew),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, key.Public(), a.key)
	if err != nil {
		return nil, err
	}
	chain := [][]byte{der}
	for _, c := range a.chain {
		if c == a.root {
			continue // peers already hold the root
		}
		block, _ := pem.Decode([]byte(c))
		chain = append(chain, block.Bytes)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &tls.Certificate{Certificate: chain, PrivateKey: key, Leaf: leaf}, nil
}

// SecretData is the self-signed root as Secret data (ca-cert.pem, ca-key.pem, root-cert.pem), so a
// restarted control plane keeps the root every workload already trusts.
func (a *Authority) SecretData() (map[string][]byte, error) {
	keyDER, err := x509.MarshalPKCS8PrivateKey(a.key)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{
		SecretCACert:   []byte(encodeCert(a.cert.Raw)),
		SecretCAKey:    pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		SecretRootCert: []byte(a.root),
	}, nil
}
