package xds

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
)

// serverConfigFor reads a router's generated config the way Envoy does for a connection with this SNI:
// the filter chain matching it, its DownstreamTlsContext, and the SDS secrets it names, resolved from
// Resources.Secrets (for ADS sources; anything else fails the test). The result is a Go TLS server
// configuration holding exactly what the proxy would be given.
func serverConfigFor(t *testing.T, res *Resources, port uint32, sni string) *tls.Config {
	t.Helper()
	var chain *listenerv3.FilterChain
	for _, l := range res.Listeners {
		if l.GetAddress().GetSocketAddress().GetPortValue() != port {
			continue
		}
		for _, c := range l.GetFilterChains() {
			if slices.Contains(c.GetFilterChainMatch().GetServerNames(), sni) {
				chain = c
			}
		}
	}
	if chain == nil {
		t.Fatalf("no filter chain on port %d for SNI %s", port, sni)
	}
	ctx := &tlsv3.DownstreamTlsContext{}
	if err := chain.GetTransportSocket().GetTypedConfig().UnmarshalTo(ctx); err != nil {
		t.Fatalf("filter chain for %s has no downstream TLS: %v", sni, err)
	}
	secrets := map[string]*tlsv3.Secret{}
	for _, s := range res.Secrets {
		secrets[s.GetName()] = s
	}
	fetch := func(c *tlsv3.SdsSecretConfig) *tlsv3.Secret {
		if c.GetSdsConfig().GetAds() == nil {
			t.Fatalf("secret %s is not fetched over ADS", c.GetName())
		}
		s := secrets[c.GetName()]
		if s == nil {
			t.Fatalf("secret %s is referenced but not served", c.GetName())
		}
		return s
	}
	common := ctx.GetCommonTlsContext()
	cfg := &tls.Config{NextProtos: common.GetAlpnProtocols(), MinVersion: tls.VersionTLS12}
	if common.GetTlsParams().GetTlsMinimumProtocolVersion() == tlsv3.TlsParameters_TLSv1_3 {
		cfg.MinVersion = tls.VersionTLS13
	}
	for _, c := range common.GetTlsCertificateSdsSecretConfigs() {
		tc := fetch(c).GetTlsCertificate()
		pair, err := tls.X509KeyPair(tc.GetCertificateChain().GetInlineBytes(), tc.GetPrivateKey().GetInlineBytes())
		if err != nil {
			t.Fatalf("secret %s: %v", c.GetName(), err)
		}
		cfg.Certificates = append(cfg.Certificates, pair)
	}
	if v := common.GetCombinedValidationContext(); v != nil {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(fetch(v.GetValidationContextSdsSecretConfig()).GetValidationContext().GetTrustedCa().GetInlineBytes()) {
			t.Fatalf("secret %s holds no CA certificate", v.GetValidationContextSdsSecretConfig().GetName())
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.VerifyClientCertIfGiven
		if ctx.GetRequireClientCertificate().GetValue() {
			cfg.ClientAuth = tls.RequireAndVerifyClientCert
		}
		var sans []string
		for _, m := range v.GetDefaultValidationContext().GetMatchSubjectAltNames() {
			sans = append(sans, m.GetExact())
		}
		cfg.VerifyPeerCertificate = func(_ [][]byte, chains [][]*x509.Certificate) error {
			if len(sans) == 0 || len(chains) == 0 {
				return nil
			}
			for _, n := range chains[0][0].DNSNames {
				if slices.Contains(sans, n) {
					return nil
				}
			}
			return fmt.Errorf("client SANs %v match none of %v", chains[0][0].DNSNames, sans)
		}
	}
	return cfg
}

// handshake runs a real TLS handshake over loopback between server and a client asking for sni, trusting
// the test CA and presenting clientCert if set. It returns the server's error and the negotiated ALPN.
func handshake(t *testing.T, server *tls.Config, sni string, clientCert *tls.Certificate) (string, error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	serverErr := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			serverErr <- err
			return
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		serverErr <- tls.Server(conn, server).Handshake()
	}()
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(testPEM(t, "ca.pem"))
	client := &tls.Config{ServerName: sni, RootCAs: roots, NextProtos: []string{"h2", "http/1.1"}}
	if clientCert != nil {
		client.Certificates = []tls.Certificate{*clientCert}
	}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", ln.Addr().String(), client)
	alpn := ""
	if err == nil {
		alpn = conn.ConnectionState().NegotiatedProtocol
		_ = conn.Close()
	}
	return alpn, errors.Join(<-serverErr, err)
}

// TestGatewayTLSHandshake proves the generated gateway TLS is usable end to end without Envoy: the key
// and certificate served over SDS pair up and chain to the CA for the SNI the filter chain matches,
// MUTUAL servers accept a client certificate the served CA (from <name>-cacert, or the credential's own
// ca.crt) signed and refuse a client without one, the SAN check applies, and ALPN is offered for HTTPS
// only. It does not prove Envoy accepts the config; Validate and the golden files cover its shape.
func TestGatewayTLSHandshake(t *testing.T) {
	client, err := tls.X509KeyPair(testPEM(t, "client.pem"), testPEM(t, "client-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, file string
		port       uint32
		sni        string
		clientCert *tls.Certificate
		wantALPN   string
		wantErr    bool
	}{
		{"SIMPLE", "gateway-https", 443, "bookinfo.example.com", nil, "h2", false},
		{"MUTUAL with -cacert", "gateway-mutual", 443, "bookinfo.example.com", &client, "h2", false},
		{"MUTUAL without a client certificate", "gateway-mutual", 443, "bookinfo.example.com", nil, "", true},
		{"MUTUAL with the credential's ca.crt", "gateway-mutual", 443, "api.example.com", &client, "h2", false},
		{"MUTUAL with the credential's ca.crt, no client certificate", "gateway-mutual", 443, "api.example.com", nil, "", true},
		{"TLS server for tcp routes", "gateway-tcp", 31443, "echo.example.com", nil, "", false},
		{"HTTPS kept next to a missing Secret", "gateway-missing-secret", 443, "bookinfo.example.com", nil, "h2", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := Generate(loadMesh(t, "testdata/in/"+tc.file+".yaml"), goldenProxy(tc.file))
			alpn, err := handshake(t, serverConfigFor(t, res, tc.port, tc.sni), tc.sni, tc.clientCert)
			if tc.wantErr {
				if err == nil {
					t.Fatal("handshake succeeded, want it refused")
				}
				return
			}
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			if alpn != tc.wantALPN {
				t.Errorf("ALPN %q, want %q", alpn, tc.wantALPN)
			}
		})
	}
}
