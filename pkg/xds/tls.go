package xds

import (
	"strings"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	networking "istio.io/api/networking/v1alpha3"

	"skiff.dev/skiff/pkg/model"
)

// Names shared with Istio's agent: the workload certificate and the mesh root, served to Envoy over SDS
// by the agent ("sds-grpc" in the bootstrap), and the certificate provider instance gRPC bootstraps carry.
const (
	sdsCluster            = "sds-grpc"
	sdsWorkloadCert       = "default"
	sdsRootCert           = "ROOTCA"
	grpcCertProvider      = "default"
	tlsTransportSocket    = "envoy.transport_sockets.tls"
	istioALPNPeerExchange = "istio-peer-exchange"
)

// applyTLS adds the upstream TLS a DestinationRule asks for. ISTIO_MUTUAL uses the workload's mesh
// certificate and verifies the server's SPIFFE identity; SIMPLE and MUTUAL use the files the rule names
// (Envoy only: gRPC clients can only take certificates from their bootstrap's providers).
func (g *generator) applyTLS(c *clusterv3.Cluster, svc *model.Service, port model.Port, subset string, t *networking.ClientTLSSettings) {
	if t == nil {
		return
	}
	var ctx *tlsv3.UpstreamTlsContext
	switch t.GetMode() {
	case networking.ClientTLSSettings_ISTIO_MUTUAL:
		ctx = g.istioMutual(svc, port, subset)
	case networking.ClientTLSSettings_SIMPLE, networking.ClientTLSSettings_MUTUAL:
		if g.proxy.Type == model.ProxylessGRPC {
			return
		}
		ctx = fileTLS(t, svc.Hostname)
	default:
		return
	}
	c.TransportSocket = &corev3.TransportSocket{Name: tlsTransportSocket, ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: toAny(ctx)}}
}

func (g *generator) istioMutual(svc *model.Service, port model.Port, subset string) *tlsv3.UpstreamTlsContext {
	var sans []*matcherv3.StringMatcher
	for _, id := range g.mesh.SPIFFEIdentities(svc) {
		sans = append(sans, &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: id}})
	}
	validation := &tlsv3.CertificateValidationContext{MatchSubjectAltNames: sans}
	if g.proxy.Type == model.ProxylessGRPC {
		validation.CaCertificateProviderInstance = &tlsv3.CertificateProviderPluginInstance{InstanceName: grpcCertProvider, CertificateName: sdsRootCert}
		return &tlsv3.UpstreamTlsContext{CommonTlsContext: &tlsv3.CommonTlsContext{
			TlsCertificateProviderInstance: &tlsv3.CertificateProviderPluginInstance{InstanceName: grpcCertProvider, CertificateName: sdsWorkloadCert},
			ValidationContextType:          &tlsv3.CommonTlsContext_ValidationContext{ValidationContext: validation},
		}}
	}
	return &tlsv3.UpstreamTlsContext{
		Sni: "outbound_." + portName(port.Number) + "_." + subset + "_." + svc.Hostname,
		CommonTlsContext: &tlsv3.CommonTlsContext{
			AlpnProtocols:                  []string{istioALPNPeerExchange, "istio"},
			TlsCertificateSdsSecretConfigs: []*tlsv3.SdsSecretConfig{agentSDS(sdsWorkloadCert)},
			ValidationContextType: &tlsv3.CommonTlsContext_CombinedValidationContext{CombinedValidationContext: &tlsv3.CommonTlsContext_CombinedCertificateValidationContext{
				DefaultValidationContext:         validation,
				ValidationContextSdsSecretConfig: agentSDS(sdsRootCert),
			}},
		},
	}
}

// agentSDS fetches a secret from the node agent's SDS server.
func agentSDS(name string) *tlsv3.SdsSecretConfig {
	return &tlsv3.SdsSecretConfig{Name: name, SdsConfig: &corev3.ConfigSource{
		ResourceApiVersion: corev3.ApiVersion_V3,
		ConfigSourceSpecifier: &corev3.ConfigSource_ApiConfigSource{ApiConfigSource: &corev3.ApiConfigSource{
			ApiType:                   corev3.ApiConfigSource_GRPC,
			TransportApiVersion:       corev3.ApiVersion_V3,
			SetNodeOnFirstMessageOnly: true,
			GrpcServices: []*corev3.GrpcService{{TargetSpecifier: &corev3.GrpcService_EnvoyGrpc_{
				EnvoyGrpc: &corev3.GrpcService_EnvoyGrpc{ClusterName: sdsCluster},
			}}},
		}},
	}}
}

func fileTLS(t *networking.ClientTLSSettings, host string) *tlsv3.UpstreamTlsContext {
	common := &tlsv3.CommonTlsContext{}
	if t.GetMode() == networking.ClientTLSSettings_MUTUAL && t.GetClientCertificate() != "" && t.GetPrivateKey() != "" {
		common.TlsCertificates = []*tlsv3.TlsCertificate{{
			CertificateChain: fileSource(t.GetClientCertificate()),
			PrivateKey:       fileSource(t.GetPrivateKey()),
		}}
	}
	if !t.GetInsecureSkipVerify().GetValue() {
		validation := &tlsv3.CertificateValidationContext{}
		if ca := t.GetCaCertificates(); ca != "" {
			validation.TrustedCa = fileSource(ca)
		} else {
			validation.SystemRootCerts = &tlsv3.CertificateValidationContext_SystemRootCerts{}
		}
		for _, san := range t.GetSubjectAltNames() {
			validation.MatchSubjectAltNames = append(validation.MatchSubjectAltNames, &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: san}})
		}
		common.ValidationContextType = &tlsv3.CommonTlsContext_ValidationContext{ValidationContext: validation}
	}
	sni := t.GetSni()
	if sni == "" && !strings.HasPrefix(host, "*") {
		sni = host
	}
	return &tlsv3.UpstreamTlsContext{Sni: sni, CommonTlsContext: common}
}

func fileSource(path string) *corev3.DataSource {
	return &corev3.DataSource{Specifier: &corev3.DataSource_Filename{Filename: path}}
}
