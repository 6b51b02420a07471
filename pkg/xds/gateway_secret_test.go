package xds

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"google.golang.org/protobuf/proto"

	"skiff.dev/skiff/pkg/model"
)

func gatewayCases(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/in/*gateway*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no gateway cases: %v", err)
	}
	return files
}

func testPEM(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "tls", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestGatewaySecretsOnlyForRouters: a sidecar never receives credentialName Secrets, whatever namespace
// it runs in, even when the Gateway's selector would match its labels.
func TestGatewaySecretsOnlyForRouters(t *testing.T) {
	for _, file := range gatewayCases(t) {
		mesh := loadMesh(t, file)
		for _, ns := range []string{"istio-system", "default"} {
			p := &model.Proxy{ID: "sidecar", Namespace: ns, Labels: map[string]string{"istio": "ingressgateway"}}
			if res := Generate(mesh, p); len(res.Secrets) != 0 {
				t.Errorf("%s: sidecar in %s got secrets %v", file, ns, secretNames(res.Secrets))
			}
		}
	}
}

func secretNames(secrets []*tlsv3.Secret) []string {
	var out []string
	for _, s := range secrets {
		out = append(out, s.GetName())
	}
	return out
}

// TestRouterListenersEnvoyInvariants checks, for every gateway case, rules Envoy enforces that Validate
// does not: no two filter chains of a listener match the same SNI (or both match everything), SNI
// matching has the TLS inspector, every secret a listener fetches over ADS is among the Resources'
// Secrets (else Envoy would hold the listener warming forever), and no Secret is served unused.
func TestRouterListenersEnvoyInvariants(t *testing.T) {
	for _, file := range gatewayCases(t) {
		res := Generate(loadMesh(t, file), goldenProxy("x-gateway"))
		if err := res.Validate(); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		checkRouterInvariants(t, file, res)
	}
}

func checkRouterInvariants(t *testing.T, file string, res *Resources) {
	t.Helper()
	served := map[string]bool{}
	for _, s := range res.Secrets {
		served[s.GetName()] = true
	}
	used := map[string]bool{}
	for _, l := range res.Listeners {
		sni := map[string]bool{}
		catchAll, inspector, needsInspector := 0, false, false
		for _, f := range l.GetListenerFilters() {
			inspector = inspector || f.GetName() == tlsInspectorFilter
		}
		for _, c := range l.GetFilterChains() {
			names := c.GetFilterChainMatch().GetServerNames()
			if len(names) == 0 {
				catchAll++
			}
			for _, n := range names {
				if sni[n] {
					t.Errorf("%s: listener %s: SNI %s matched by two filter chains", file, l.GetName(), n)
				}
				sni[n] = true
				needsInspector = true
			}
			for _, sds := range adsSecretRefs(t, c) {
				used[sds] = true
				if !served[sds] {
					t.Errorf("%s: listener %s fetches %s over ADS, but it is not served", file, l.GetName(), sds)
				}
			}
		}
		if catchAll > 1 {
			t.Errorf("%s: listener %s has %d catch-all filter chains", file, l.GetName(), catchAll)
		}
		if needsInspector && !inspector {
			t.Errorf("%s: listener %s matches SNI without the TLS inspector", file, l.GetName())
		}
	}
	for name := range served {
		if !used[name] {
			t.Errorf("%s: secret %s is served but no listener uses it", file, name)
		}
	}
}

// adsSecretRefs are the SDS secrets a chain's downstream TLS fetches from the control plane.
func adsSecretRefs(t *testing.T, c *listenerv3.FilterChain) []string {
	t.Helper()
	if c.GetTransportSocket() == nil {
		return nil
	}
	ctx := &tlsv3.DownstreamTlsContext{}
	if err := c.GetTransportSocket().GetTypedConfig().UnmarshalTo(ctx); err != nil {
		t.Fatal(err)
	}
	var out []string
	refs := slices.Clone(ctx.GetCommonTlsContext().GetTlsCertificateSdsSecretConfigs())
	if v := ctx.GetCommonTlsContext().GetCombinedValidationContext().GetValidationContextSdsSecretConfig(); v != nil {
		refs = append(refs, v)
	}
	for _, r := range refs {
		if r.GetSdsConfig().GetAds() != nil {
			out = append(out, r.GetName())
		}
	}
	return out
}

// TestGatewayServerSelection covers Istio's per-port merging: a server of another kind than the port's
// first is dropped (HTTP then TLS), TLS-based servers share a port by SNI, a second plain TCP server on
// a port is dropped, AUTO_PASSTHROUGH is not supported.
func TestGatewayServerSelection(t *testing.T) {
	in, err := model.LoadFiles(map[string][]byte{"in.yaml": []byte(`
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - {port: {number: 8080, name: http, protocol: HTTP}, hosts: ["*"]}
  - {port: {number: 8080, name: tls, protocol: TLS}, hosts: [a.example.com], tls: {mode: PASSTHROUGH}}
  - {port: {number: 443, name: tls-a, protocol: TLS}, hosts: [a.example.com], tls: {mode: PASSTHROUGH}}
  - {port: {number: 443, name: https-b, protocol: HTTPS}, hosts: [b.example.com], tls: {mode: ISTIO_MUTUAL}}
  - {port: {number: 9000, name: tcp-1, protocol: TCP}, hosts: ["*"]}
  - {port: {number: 9000, name: tcp-2, protocol: TCP}, hosts: ["*"]}
  - {port: {number: 15443, name: tls-auto, protocol: TLS}, hosts: ["*.local"], tls: {mode: AUTO_PASSTHROUGH}}
`)})
	if err != nil {
		t.Fatal(err)
	}
	g := &generator{mesh: model.Build(in), proxy: goldenProxy("x-gateway")}
	var got []string
	for _, s := range g.gatewayServers() {
		got = append(got, s.server.GetPort().GetName())
	}
	if want := []string{"http", "tls-a", "https-b", "tcp-1"}; !slices.Equal(got, want) {
		t.Errorf("servers %v, want %v", got, want)
	}
}

// TestRedact: private keys never reach a dump, in Secrets or inside a listener's Any; the redaction is
// Envoy's ("[redacted]"); the generated resources themselves keep the real key (Envoy needs it); messages
// without sensitive fields are not copied.
func TestRedact(t *testing.T) {
	res := Generate(loadMesh(t, "testdata/in/gateway-https.yaml"), goldenProxy("gateway-https"))
	if len(res.Secrets) != 1 {
		t.Fatalf("secrets %v, want kubernetes://bookinfo-cert", secretNames(res.Secrets))
	}
	key := testPEM(t, "server-key.pem")
	if !bytes.Equal(res.Secrets[0].GetTlsCertificate().GetPrivateKey().GetInlineBytes(), key) {
		t.Fatal("the served secret must carry the real key")
	}
	// A listener holding an inline key (as a user's EnvoyFilter or file-less config might) inside an Any.
	inline := proto.CloneOf(res.Listeners[0])
	inline.FilterChains = append(inline.FilterChains, &listenerv3.FilterChain{TransportSocket: &corev3.TransportSocket{
		Name: tlsTransportSocket, ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: toAny(&tlsv3.DownstreamTlsContext{
			CommonTlsContext: &tlsv3.CommonTlsContext{TlsCertificates: []*tlsv3.TlsCertificate{{
				CertificateChain: inlineBytes(testPEM(t, "server.pem")),
				PrivateKey:       &corev3.DataSource{Specifier: &corev3.DataSource_InlineString{InlineString: string(key)}},
				Password:         &corev3.DataSource{Specifier: &corev3.DataSource_InlineString{InlineString: "hunter2"}},
			}}},
		})},
	}})
	secretsYAML, err := ToYAML(res.Secrets)
	if err != nil {
		t.Fatal(err)
	}
	listenerYAML, err := ToYAML([]*listenerv3.Listener{inline})
	if err != nil {
		t.Fatal(err)
	}
	for what, out := range map[string][]byte{"secrets": secretsYAML, "listener": listenerYAML} {
		for _, leak := range []string{string(key), base64.StdEncoding.EncodeToString(key), "PRIVATE KEY", "hunter2"} {
			if bytes.Contains(out, []byte(leak)) {
				t.Errorf("%s dump leaks %.30q", what, leak)
			}
		}
	}
	if want := "privateKey:\n      inlineBytes: " + base64.StdEncoding.EncodeToString([]byte(Redacted)); !strings.Contains(string(secretsYAML), want) {
		t.Errorf("secrets dump lacks Envoy's redaction %q:\n%s", want, secretsYAML)
	}
	if !strings.Contains(string(listenerYAML), "inlineString: '[redacted]'") || !strings.Contains(string(listenerYAML), "certificateChain:") {
		t.Errorf("listener dump: want the key and password redacted and the certificate kept:\n%s", listenerYAML)
	}
	if !bytes.Equal(res.Secrets[0].GetTlsCertificate().GetPrivateKey().GetInlineBytes(), key) {
		t.Error("Redact changed the generated secret")
	}
	if Redact(res.Routes[0]) != res.Routes[0] {
		t.Error("a message without sensitive fields should not be copied")
	}
}
