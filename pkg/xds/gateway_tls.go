package xds

import (
	"fmt"
	"slices"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	networking "istio.io/api/networking/v1alpha3"

	"skiff.dev/skiff/pkg/model"
)

// serverKind is how a router handles one Gateway server.
type serverKind int

const (
	// serverHTTP is plain HTTP, routed by the VirtualServices' http rules.
	serverHTTP serverKind = iota
	// serverHTTPS terminates TLS, then routes by the http rules.
	serverHTTPS
	// serverPassthrough forwards TLS untouched, picked by SNI, by the tls rules.
	serverPassthrough
	// serverTCP forwards TCP (after terminating TLS for TLS servers with a terminating mode) by the tcp rules.
	serverTCP
)

func (k serverKind) isHTTP() bool { return k == serverHTTP || k == serverHTTPS }

// portClass groups kinds that can share a port, as Istio's gateway merging does: plain HTTP servers
// together, TLS-based servers (terminated or passed through, told apart by SNI) together, and plain TCP
// alone since nothing tells its servers apart.
type portClass int

const (
	portPlainHTTP portClass = iota
	portTLS
	portPlainTCP
)

func (gs gatewayServer) portClass() portClass {
	switch {
	case gs.kind == serverHTTP:
		return portPlainHTTP
	case gs.kind == serverTCP && gs.tls == nil:
		return portPlainTCP
	}
	return portTLS
}

// classifyServer maps protocol and TLS mode to a kind. AUTO_PASSTHROUGH (SNI-routed multi-cluster
// traffic) is not supported and, like an unknown protocol, skips the server.
func classifyServer(s *networking.Server) (serverKind, bool) {
	proto := model.ParseProtocol(s.GetPort().GetProtocol())
	mode := s.GetTls().GetMode()
	switch {
	case proto == model.HTTP || proto == model.HTTP2 || proto == model.GRPC:
		return serverHTTP, true
	case proto != model.HTTPS && proto != model.TLS && proto != model.TCP:
		return 0, false
	case s.GetTls() == nil:
		// HTTPS and TLS servers need tls settings (the analyzer says so); plain TCP does not.
		return serverTCP, proto == model.TCP
	case mode == networking.ServerTLSSettings_AUTO_PASSTHROUGH:
		return 0, false
	case mode == networking.ServerTLSSettings_PASSTHROUGH:
		if proto == model.TCP {
			return serverTCP, true
		}
		return serverPassthrough, true
	case proto == model.HTTPS:
		return serverHTTPS, true
	}
	return serverTCP, true
}

// terminates says whether the router ends TLS for a server of kind k with these settings.
func terminates(k serverKind, t *networking.ServerTLSSettings) bool {
	return k == serverHTTPS || (k == serverTCP && t != nil && t.GetMode() != networking.ServerTLSSettings_PASSTHROUGH)
}

// serverTLS builds the downstream TLS of a terminating server and the SDS secrets it needs. Certificates
// named by credentialName(s) come from Secrets in the gateway workload's namespace, served over ADS as
// kubernetes://<name> (and kubernetes://<name>-cacert for the client CA); ISTIO_MUTUAL uses the mesh
// certificate from the agent's SDS, as sidecar inbound does. An error (missing or malformed Secret) means
// the server must be skipped: Envoy would otherwise hold the whole listener waiting for the secret.
func (g *generator) serverTLS(s *networking.Server, http bool) (*corev3.TransportSocket, []*tlsv3.Secret, error) {
	t := s.GetTls()
	common := &tlsv3.CommonTlsContext{TlsParams: tlsParams(t)}
	if http {
		common.AlpnProtocols = []string{"h2", "http/1.1"}
	}
	ctx := &tlsv3.DownstreamTlsContext{CommonTlsContext: common}
	var secrets []*tlsv3.Secret
	validation := &tlsv3.CertificateValidationContext{MatchSubjectAltNames: exactMatchers(t.GetSubjectAltNames()),
		VerifyCertificateSpki: t.GetVerifyCertificateSpki(), VerifyCertificateHash: t.GetVerifyCertificateHash()}
	switch mode := t.GetMode(); mode {
	case networking.ServerTLSSettings_ISTIO_MUTUAL:
		ctx.RequireClientCertificate = boolTrue()
		common.TlsCertificateSdsSecretConfigs = []*tlsv3.SdsSecretConfig{agentSDS(sdsWorkloadCert)}
		common.ValidationContextType = &tlsv3.CommonTlsContext_CombinedValidationContext{CombinedValidationContext: &tlsv3.CommonTlsContext_CombinedCertificateValidationContext{
			DefaultValidationContext:         validation,
			ValidationContextSdsSecretConfig: agentSDS(sdsRootCert),
		}}
	case networking.ServerTLSSettings_SIMPLE, networking.ServerTLSSettings_MUTUAL, networking.ServerTLSSettings_OPTIONAL_MUTUAL:
		mutual := mode != networking.ServerTLSSettings_SIMPLE
		if mode == networking.ServerTLSSettings_MUTUAL {
			ctx.RequireClientCertificate = boolTrue()
		}
		names := credentialNames(t)
		if len(names) == 0 {
			return fileServerTLS(ctx, t, validation, mutual)
		}
		for _, cn := range names {
			cred, err := g.mesh.ServerCredential(g.proxy.Namespace, cn)
			if err != nil {
				return nil, nil, err
			}
			name := credentialResource(cn)
			common.TlsCertificateSdsSecretConfigs = append(common.TlsCertificateSdsSecretConfigs, adsSDS(name))
			secrets = append(secrets, tlsCertificateSecret(name, cred))
		}
		if mutual {
			// Istio takes the client CA from the first credential only.
			ca, err := g.mesh.CACredential(g.proxy.Namespace, names[0])
			if err != nil {
				return nil, nil, err
			}
			name := credentialResource(names[0]) + model.CACertSuffix
			common.ValidationContextType = &tlsv3.CommonTlsContext_CombinedValidationContext{CombinedValidationContext: &tlsv3.CommonTlsContext_CombinedCertificateValidationContext{
				DefaultValidationContext:         validation,
				ValidationContextSdsSecretConfig: adsSDS(name),
			}}
			secrets = append(secrets, validationSecret(name, ca))
		}
	default:
		return nil, nil, fmt.Errorf("TLS mode %s does not terminate", mode)
	}
	return &corev3.TransportSocket{Name: tlsTransportSocket, ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: toAny(ctx)}}, secrets, nil
}

// fileServerTLS uses serverCertificate/privateKey/caCertificates: files mounted into the gateway pod,
// which Envoy reads itself.
func fileServerTLS(ctx *tlsv3.DownstreamTlsContext, t *networking.ServerTLSSettings, validation *tlsv3.CertificateValidationContext, mutual bool) (*corev3.TransportSocket, []*tlsv3.Secret, error) {
	if t.GetServerCertificate() == "" || t.GetPrivateKey() == "" {
		return nil, nil, fmt.Errorf("%s TLS needs credentialName, or serverCertificate and privateKey", t.GetMode())
	}
	ctx.CommonTlsContext.TlsCertificates = []*tlsv3.TlsCertificate{{CertificateChain: fileSource(t.GetServerCertificate()), PrivateKey: fileSource(t.GetPrivateKey())}}
	if mutual {
		if t.GetCaCertificates() == "" {
			return nil, nil, fmt.Errorf("%s TLS needs caCertificates", t.GetMode())
		}
		validation.TrustedCa = fileSource(t.GetCaCertificates())
		ctx.CommonTlsContext.ValidationContextType = &tlsv3.CommonTlsContext_ValidationContext{ValidationContext: validation}
	}
	return &corev3.TransportSocket{Name: tlsTransportSocket, ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: toAny(ctx)}}, nil, nil
}

// credentialNames are credentialName or credentialNames (an RSA and an ECDSA certificate for one server).
func credentialNames(t *networking.ServerTLSSettings) []string {
	if cn := t.GetCredentialName(); cn != "" {
		return []string{cn}
	}
	return t.GetCredentialNames()
}

// credentialResource is the SDS resource name of a credential: kubernetes://<secret name>.
func credentialResource(credentialName string) string {
	name, _ := model.CredentialSecretName(credentialName)
	return model.KubernetesSecretPrefix + name
}

// adsSDS fetches a secret from the control plane over the ADS stream, as Istio's gateways do for
// credentialName.
func adsSDS(name string) *tlsv3.SdsSecretConfig {
	return &tlsv3.SdsSecretConfig{Name: name, SdsConfig: adsSource()}
}

func tlsCertificateSecret(name string, c model.ServerCredential) *tlsv3.Secret {
	return &tlsv3.Secret{Name: name, Type: &tlsv3.Secret_TlsCertificate{TlsCertificate: &tlsv3.TlsCertificate{
		CertificateChain: inlineBytes(c.CertChain),
		PrivateKey:       inlineBytes(c.PrivateKey),
	}}}
}

func validationSecret(name string, c model.CACredential) *tlsv3.Secret {
	v := &tlsv3.CertificateValidationContext{TrustedCa: inlineBytes(c.CACert)}
	if len(c.CRL) > 0 {
		v.Crl = inlineBytes(c.CRL)
	}
	return &tlsv3.Secret{Name: name, Type: &tlsv3.Secret_ValidationContext{ValidationContext: v}}
}

func inlineBytes(b []byte) *corev3.DataSource {
	return &corev3.DataSource{Specifier: &corev3.DataSource_InlineBytes{InlineBytes: b}}
}

func exactMatchers(values []string) []*matcherv3.StringMatcher {
	var out []*matcherv3.StringMatcher
	for _, v := range values {
		out = append(out, &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: v}})
	}
	return out
}

// tlsParams carries the server's protocol versions and cipher suites; Envoy's defaults otherwise.
func tlsParams(t *networking.ServerTLSSettings) *tlsv3.TlsParameters {
	versions := map[networking.ServerTLSSettings_TLSProtocol]tlsv3.TlsParameters_TlsProtocol{
		networking.ServerTLSSettings_TLSV1_0: tlsv3.TlsParameters_TLSv1_0,
		networking.ServerTLSSettings_TLSV1_1: tlsv3.TlsParameters_TLSv1_1,
		networking.ServerTLSSettings_TLSV1_2: tlsv3.TlsParameters_TLSv1_2,
		networking.ServerTLSSettings_TLSV1_3: tlsv3.TlsParameters_TLSv1_3,
	}
	p := &tlsv3.TlsParameters{
		TlsMinimumProtocolVersion: versions[t.GetMinProtocolVersion()],
		TlsMaximumProtocolVersion: versions[t.GetMaxProtocolVersion()],
		CipherSuites:              slices.Clone(t.GetCipherSuites()),
	}
	if p.TlsMinimumProtocolVersion == tlsv3.TlsParameters_TLS_AUTO && p.TlsMaximumProtocolVersion == tlsv3.TlsParameters_TLS_AUTO && len(p.CipherSuites) == 0 {
		return nil
	}
	return p
}

// gatewaySecrets are the secrets of the servers whose chains made it into the listeners (a chain may
// lose its SNI names to an earlier server), each once, sorted by name.
func gatewaySecrets(servers []gatewayServer, listeners []*listenerv3.Listener) []*tlsv3.Secret {
	used := map[string]bool{}
	for _, l := range listeners {
		for _, c := range l.GetFilterChains() {
			ctx := &tlsv3.DownstreamTlsContext{}
			if c.GetTransportSocket().GetTypedConfig().UnmarshalTo(ctx) != nil {
				continue
			}
			common := ctx.GetCommonTlsContext()
			for _, sds := range common.GetTlsCertificateSdsSecretConfigs() {
				used[sds.GetName()] = true
			}
			used[common.GetCombinedValidationContext().GetValidationContextSdsSecretConfig().GetName()] = true
		}
	}
	byName := map[string]*tlsv3.Secret{}
	for _, s := range servers {
		for _, sec := range s.secrets {
			if used[sec.GetName()] && byName[sec.GetName()] == nil {
				byName[sec.GetName()] = sec
			}
		}
	}
	out := make([]*tlsv3.Secret, 0, len(byName))
	for _, name := range slices.Sorted(mapsKeys(byName)) {
		out = append(out, byName[name])
	}
	return out
}
