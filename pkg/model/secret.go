package model

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"slices"
	"strings"

	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	corev1 "k8s.io/api/core/v1"
)

// Istio's Secret formats for gateway credentials (pilot/pkg/credentials/kube): generic Secrets carry
// cert/key/cacert/crl, kubernetes.io/tls Secrets tls.crt/tls.key/ca.crt/ca.crl. The client CA of a MUTUAL
// server is the Secret <credentialName>-cacert, or else the CA keys of the credential's own Secret.
const (
	SecretKeyCert      = "cert"
	SecretKeyKey       = "key"
	SecretKeyCACert    = "cacert"
	SecretKeyCRL       = "crl"
	SecretKeyTLSCert   = corev1.TLSCertKey
	SecretKeyTLSKey    = corev1.TLSPrivateKeyKey
	SecretKeyTLSCACert = "ca.crt"
	SecretKeyTLSCRL    = "ca.crl"
	CACertSuffix       = "-cacert"
	// KubernetesSecretPrefix names an SDS resource served from a Kubernetes Secret.
	KubernetesSecretPrefix = "kubernetes://"
)

// CredentialKeys are the only Secret data keys the mesh reads; the controller drops all others.
func CredentialKeys() []string {
	return []string{SecretKeyCert, SecretKeyKey, SecretKeyCACert, SecretKeyCRL, SecretKeyTLSCert, SecretKeyTLSKey, SecretKeyTLSCACert, SecretKeyTLSCRL}
}

// CredentialData is the part of a Secret's data under CredentialKeys (nil when there is none): the
// controller's cache and the analyzer's cluster listing hold no other secret data.
func CredentialData(data map[string][]byte) map[string][]byte {
	var out map[string][]byte
	for _, k := range CredentialKeys() {
		if v, ok := data[k]; ok {
			if out == nil {
				out = map[string][]byte{}
			}
			out[k] = v
		}
	}
	return out
}

// SecretFieldSelector skips the two kinds of Secret that are large, numerous and never gateway
// credentials, as istiod does: service-account tokens and Helm releases.
const SecretFieldSelector = "type!=" + string(corev1.SecretTypeServiceAccountToken) + ",type!=helm.sh/release.v1"

// ServerCredential is a certificate chain and its private key, PEM.
type ServerCredential struct {
	CertChain  []byte
	PrivateKey []byte
}

// CACredential is a trust bundle and an optional revocation list, PEM.
type CACredential struct {
	CACert []byte
	CRL    []byte
}

// CredentialSecretName turns a Gateway credentialName into the Secret name it refers to. Only Secrets in
// the gateway workload's own namespace are served (Istio's rule), so a "<namespace>/<name>" reference or
// another SDS scheme (builtin://, sds://) is not one Skiff can serve.
func CredentialSecretName(credentialName string) (string, bool) {
	name := strings.TrimPrefix(credentialName, KubernetesSecretPrefix)
	if name == "" || strings.Contains(name, "/") || strings.Contains(name, "://") {
		return "", false
	}
	return name, true
}

// ParseServerCredential reads cert/key, else tls.crt/tls.key, as Istio does, and checks that they parse
// and belong together: Envoy would reject the whole listener update over a bad pair.
func ParseServerCredential(s *corev1.Secret) (ServerCredential, error) {
	data := secretData(s)
	var c ServerCredential
	switch {
	case len(data[SecretKeyCert]) > 0 && len(data[SecretKeyKey]) > 0:
		c = ServerCredential{CertChain: data[SecretKeyCert], PrivateKey: data[SecretKeyKey]}
	case len(data[SecretKeyTLSCert]) > 0 && len(data[SecretKeyTLSKey]) > 0:
		c = ServerCredential{CertChain: data[SecretKeyTLSCert], PrivateKey: data[SecretKeyTLSKey]}
	default:
		return ServerCredential{}, fmt.Errorf("secret %s/%s has keys %v, want %s and %s, or %s and %s",
			s.Namespace, s.Name, dataKeys(data), SecretKeyCert, SecretKeyKey, SecretKeyTLSCert, SecretKeyTLSKey)
	}
	if _, err := tls.X509KeyPair(c.CertChain, c.PrivateKey); err != nil {
		return ServerCredential{}, fmt.Errorf("secret %s/%s: %w", s.Namespace, s.Name, err)
	}
	return c, nil
}

// ParseCACredential reads cacert, else ca.crt (with crl or ca.crl), and checks it holds certificates.
func ParseCACredential(s *corev1.Secret) (CACredential, error) {
	data := secretData(s)
	var c CACredential
	switch {
	case len(data[SecretKeyCACert]) > 0:
		c = CACredential{CACert: data[SecretKeyCACert], CRL: data[SecretKeyCRL]}
	case len(data[SecretKeyTLSCACert]) > 0:
		c = CACredential{CACert: data[SecretKeyTLSCACert], CRL: data[SecretKeyTLSCRL]}
	default:
		return CACredential{}, fmt.Errorf("secret %s/%s has keys %v, want %s or %s", s.Namespace, s.Name, dataKeys(data), SecretKeyCACert, SecretKeyTLSCACert)
	}
	if err := checkCertificates(c.CACert); err != nil {
		return CACredential{}, fmt.Errorf("secret %s/%s: CA: %w", s.Namespace, s.Name, err)
	}
	return c, nil
}

func checkCertificates(pemBytes []byte) error {
	n := 0
	for rest := pemBytes; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return err
		}
		n++
	}
	if n == 0 {
		return fmt.Errorf("no PEM certificate found")
	}
	return nil
}

// secretData is Data with StringData over it, as the API server would store it: files given to offline
// commands may use stringData.
func secretData(s *corev1.Secret) map[string][]byte {
	if len(s.StringData) == 0 {
		return s.Data
	}
	out := make(map[string][]byte, len(s.Data)+len(s.StringData))
	for k, v := range s.Data {
		out[k] = v
	}
	for k, v := range s.StringData {
		out[k] = []byte(v)
	}
	return out
}

func dataKeys(data map[string][]byte) []string {
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// credentials holds the Secrets Gateways may name, parsed once per Mesh: a gateway push must not re-parse
// keys, and a Mesh is shared by every proxy's generation.
type credentials struct {
	server map[string]credentialResult[ServerCredential]
	ca     map[string]credentialResult[CACredential]
}

type credentialResult[T any] struct {
	value T
	err   error
}

// buildCredentials parses the Secrets whose names a Gateway's credentialName(s) refer to, in every
// namespace (the gateway workloads' namespaces are only known per proxy). Other Secrets are ignored.
func buildCredentials(secrets []*corev1.Secret, gateways []*networkingv1.Gateway) credentials {
	wanted := map[string]bool{}
	for _, gw := range gateways {
		for _, s := range gw.Spec.GetServers() {
			for _, cn := range append([]string{s.GetTls().GetCredentialName()}, s.GetTls().GetCredentialNames()...) {
				if name, ok := CredentialSecretName(cn); ok {
					wanted[name], wanted[name+CACertSuffix] = true, true
				}
			}
		}
	}
	c := credentials{server: map[string]credentialResult[ServerCredential]{}, ca: map[string]credentialResult[CACredential]{}}
	for _, s := range secrets {
		if !wanted[s.Name] {
			continue
		}
		key := s.Namespace + "/" + s.Name
		if _, dup := c.server[key]; dup {
			continue
		}
		sc, err := ParseServerCredential(s)
		c.server[key] = credentialResult[ServerCredential]{sc, err}
		ca, err := ParseCACredential(s)
		c.ca[key] = credentialResult[CACredential]{ca, err}
	}
	return c
}

// ServerCredential is the certificate and key of the Secret a credentialName names, in namespace.
func (m *Mesh) ServerCredential(namespace, credentialName string) (ServerCredential, error) {
	name, ok := CredentialSecretName(credentialName)
	if !ok {
		return ServerCredential{}, fmt.Errorf("credentialName %q: only Secrets in the gateway's namespace %s can be served", credentialName, namespace)
	}
	r, found := m.credentials.server[namespace+"/"+name]
	if !found {
		return ServerCredential{}, fmt.Errorf("secret %s/%s not found", namespace, name)
	}
	return r.value, r.err
}

// CACredential is the client CA for a MUTUAL server: the Secret <credentialName>-cacert if it exists,
// else the CA keys of the credential's own Secret (Istio's order).
func (m *Mesh) CACredential(namespace, credentialName string) (CACredential, error) {
	name, ok := CredentialSecretName(credentialName)
	if !ok {
		return CACredential{}, fmt.Errorf("credentialName %q: only Secrets in the gateway's namespace %s can be served", credentialName, namespace)
	}
	if r, found := m.credentials.ca[namespace+"/"+name+CACertSuffix]; found {
		return r.value, r.err
	}
	if r, found := m.credentials.ca[namespace+"/"+name]; found {
		return r.value, r.err
	}
	return CACredential{}, fmt.Errorf("secret %s/%s%s (or %s/%s with a CA) not found", namespace, name, CACertSuffix, namespace, name)
}
