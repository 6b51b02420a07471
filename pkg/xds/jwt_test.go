package xds

import (
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strings"
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	jwtv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/jwt_authn/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"sigs.k8s.io/yaml"

	"skiff.dev/skiff/pkg/model"
)

// jwtMesh loads a mesh from YAML documents (services, policies) for the JWT tests.
func jwtMesh(t *testing.T, docs string) *model.Mesh {
	t.Helper()
	in, err := model.LoadFiles(map[string][]byte{"mesh.yaml": []byte(docs)})
	if err != nil {
		t.Fatal(err)
	}
	return model.Build(in)
}

const productpageService = `
apiVersion: v1
kind: Service
metadata: {name: productpage, namespace: default}
spec:
  clusterIP: 10.96.0.10
  ports: [{name: http, port: 9080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: productpage-abc, namespace: default, labels: {kubernetes.io/service-name: productpage}}
addressType: IPv4
ports: [{name: http, port: 9080}]
endpoints: [{addresses: ["10.1.0.1"], conditions: {ready: true}}]
`

func requestAuthnYAML(rules string) string {
	return "\n---\napiVersion: security.istio.io/v1\nkind: RequestAuthentication\nmetadata: {name: ra, namespace: default}\nspec:\n  jwtRules:\n" + rules
}

// requirementFromYAML reads an expected JwtRequirement written in protojson field names.
func requirementFromYAML(t *testing.T, y string) *jwtv3.JwtRequirement {
	t.Helper()
	j, err := yaml.YAMLToJSON([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	r := &jwtv3.JwtRequirement{}
	if err := protojson.Unmarshal(j, r); err != nil {
		t.Fatalf("expected requirement: %v\n%s", err, y)
	}
	return r
}

// TestJWTRequirement: Istio's requirement shapes. One provider: its token or none. Several: any single
// valid token, or every token valid where present. A REQUIRED rule's token must be there. Every
// configuration validates (Envoy wants at least two entries in each and/or list).
func TestJWTRequirement(t *testing.T) {
	for _, tc := range []struct {
		name, rules, want string
	}{{
		name:  "one provider",
		rules: "  - {issuer: a, jwks: '{}'}\n",
		want:  "requiresAny: {requirements: [{providerName: origins-0}, {allowMissing: {}}]}",
	}, {
		name:  "two providers, sorted by issuer",
		rules: "  - {issuer: b, jwks: '{}'}\n  - {issuer: a, jwks: '{}'}\n",
		want: `
requiresAny:
  requirements:
  - providerName: origins-0
  - providerName: origins-1
  - requiresAll:
      requirements:
      - requiresAny: {requirements: [{providerName: origins-0}, {allowMissing: {}}]}
      - requiresAny: {requirements: [{providerName: origins-1}, {allowMissing: {}}]}`,
	}, {
		name:  "one required provider",
		rules: "  - {issuer: a, jwks: '{}', presence: REQUIRED}\n",
		want:  "providerName: origins-0",
	}, {
		name:  "a required and an optional provider",
		rules: "  - {issuer: a, jwks: '{}'}\n  - {issuer: b, jwks: '{}', presence: REQUIRED}\n",
		want: `
requiresAll:
  requirements:
  - providerName: origins-1
  - requiresAny: {requirements: [{providerName: origins-0}, {allowMissing: {}}]}`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			g := &generator{mesh: jwtMesh(t, productpageService+requestAuthnYAML(tc.rules)), proxy: goldenProxy("jwt")}
			a := g.translateJWT()
			if a.config == nil {
				t.Fatal("no jwt_authn config")
			}
			if err := a.config.ValidateAll(); err != nil {
				t.Fatalf("config does not validate: %v\n%s", err, protoYAML(t, a.config))
			}
			if got := a.config.GetProviders()["origins-0"].GetIssuer(); got != "a" {
				t.Errorf("origins-0 is issuer %q, want a", got)
			}
			rules := a.config.GetRules()
			if len(rules) != 1 || rules[0].GetMatch().GetPrefix() != "/" || !a.config.GetBypassCorsPreflight() {
				t.Fatalf("rules: %s", protoYAML(t, a.config))
			}
			if want := requirementFromYAML(t, tc.want); !proto.Equal(rules[0].GetRequires(), want) {
				t.Fatalf("requirement:\n%s\nwant:\n%s", protoYAML(t, rules[0].GetRequires()), protoYAML(t, want))
			}
		})
	}
}

// TestJWTProviderFields: every jwtRule field lands in the provider as Istio puts it; invalid header
// names are dropped with a note rather than emitted.
func TestJWTProviderFields(t *testing.T) {
	mesh := jwtMesh(t, productpageService+requestAuthnYAML(`
  - issuer: https://a
    audiences: [x, "y"]
    jwks: '{"keys":[]}'
    fromHeaders: [{name: x-token, prefix: "Bearer "}, {name: "bad header"}]
    fromParams: [token]
    fromCookies: [c]
    forwardOriginalToken: true
    outputPayloadToHeader: "bad:header"
    outputClaimToHeaders: [{header: x-sub, claim: sub}, {header: x-empty, claim: ""}]
    spaceDelimitedClaims: [roles, scope]
    timeout: 3s
`))
	g := &generator{mesh: mesh, proxy: goldenProxy("jwt")}
	a := g.translateJWT()
	want := &jwtv3.JwtProvider{}
	j, _ := yaml.YAMLToJSON([]byte(`
issuer: https://a
audiences: [x, "y"]
localJwks: {inlineString: '{"keys":[]}'}
forward: true
fromHeaders: [{name: x-token, valuePrefix: "Bearer "}]
fromParams: [token]
fromCookies: [c]
payloadInMetadata: payload
normalizePayloadInMetadata: {spaceDelimitedClaims: [permission, roles, scope]}
claimToHeaders: [{headerName: x-sub, claimName: sub}]
`))
	if err := protojson.Unmarshal(j, want); err != nil {
		t.Fatal(err)
	}
	if got := a.config.GetProviders()["origins-0"]; !proto.Equal(got, want) {
		t.Fatalf("provider:\n%s\nwant:\n%s", protoYAML(t, got), protoYAML(t, want))
	}
	notes := strings.Join(a.notes, "\n")
	for _, n := range []string{`fromHeaders entry "bad header"`, `outputPayloadToHeader "bad:header"`, `outputClaimToHeaders entry "x-empty"`} {
		if !strings.Contains(notes, n) {
			t.Errorf("notes lack %q:\n%s", n, notes)
		}
	}
}

// TestJWKSClusters: where each jwksUri is fetched through. A visible mesh service port: its outbound
// cluster, and no extra cluster. Anything else (outside the mesh, not exported to the proxy, another port,
// a passthrough ServiceEntry): one dedicated cluster per scheme, host and port, with TLS verified against
// the system roots for https, shared by rules naming the same server. Unusable URIs reject every token.
func TestJWKSClusters(t *testing.T) {
	mesh := jwtMesh(t, productpageService+`
---
apiVersion: v1
kind: Service
metadata: {name: keys, namespace: auth}
spec:
  clusterIP: 10.96.0.30
  ports: [{name: http, port: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: hidden, namespace: auth, annotations: {networking.istio.io/exportTo: "."}}
spec:
  clusterIP: 10.96.0.31
  ports: [{name: http, port: 8080}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: any, namespace: default}
spec:
  hosts: [passthrough.example.com]
  ports: [{number: 443, name: tls, protocol: TLS}]
  resolution: NONE
`+requestAuthnYAML(`
  - {issuer: a, jwksUri: "http://keys.auth.svc.cluster.local:8080/jwks"}
  - {issuer: b, jwksUri: "http://keys.auth.svc.cluster.local:9999/jwks"}
  - {issuer: c, jwksUri: "http://hidden.auth.svc.cluster.local:8080/jwks"}
  - {issuer: d, jwksUri: "https://passthrough.example.com/jwks"}
  - {issuer: e, jwksUri: "https://Login.Example.com/keys"}
  - {issuer: f, jwksUri: "https://login.example.com:443/other-keys"}
  - {issuer: g, jwksUri: "https://[2001:db8::1]:8443/jwks"}
  - {issuer: h, jwksUri: "ftp://files.example.com/jwks"}
  - {issuer: i, jwksUri: "https://bad.example.com:99999/jwks"}
  - {issuer: j, jwksUri: "/relative/jwks"}
  - {issuer: k, jwksUri: "https://login.example.com/k", timeout: 6311520000s}
`))
	res := Generate(mesh, goldenProxy("jwt"))
	if err := res.Validate(); err != nil {
		t.Fatal(err)
	}
	a := (&generator{mesh: mesh, proxy: goldenProxy("jwt")}).translateJWT()
	wantCluster := map[string]string{
		"a": "outbound|8080||keys.auth.svc.cluster.local",
		"b": "jwks|http://keys.auth.svc.cluster.local:9999",
		"c": "jwks|http://hidden.auth.svc.cluster.local:8080",
		"d": "jwks|https://passthrough.example.com:443",
		"e": "jwks|https://login.example.com:443",
		"f": "jwks|https://login.example.com:443",
		"g": "jwks|https://[2001:db8::1]:8443",
		"k": "jwks|https://login.example.com:443", // its 200-year timeout is out of Envoy's range: the default
	}
	for _, p := range a.config.GetProviders() {
		iss := p.GetIssuer()
		if want, ok := wantCluster[iss]; ok {
			if got := p.GetRemoteJwks().GetHttpUri().GetCluster(); got != want {
				t.Errorf("issuer %s: cluster %q, want %q", iss, got, want)
			}
			if p.GetRemoteJwks().GetHttpUri().GetTimeout().AsDuration() != jwksFetchTimeout || p.GetRemoteJwks().GetCacheDuration().AsDuration() != jwksCacheDuration {
				t.Errorf("issuer %s: timeouts %s", iss, protoYAML(t, p.GetRemoteJwks()))
			}
			continue
		}
		if p.GetLocalJwks().GetInlineString() != rejectAllJWKS {
			t.Errorf("issuer %s: want the reject-all key set, got %s", iss, protoYAML(t, p))
		}
		if !strings.Contains(strings.Join(a.notes, "\n"), `issuer "`+iss+`": jwksUri`) {
			t.Errorf("issuer %s: no note in %v", iss, a.notes)
		}
	}
	byName := map[string]*clusterv3.Cluster{}
	for _, c := range res.Clusters {
		byName[c.GetName()] = c
	}
	if byName["outbound|8080||keys.auth.svc.cluster.local"] == nil {
		t.Error("the mesh service's cluster is missing")
	}
	var dedicated []string
	for _, c := range res.Clusters {
		if strings.HasPrefix(c.GetName(), jwksClusterPrefix) {
			dedicated = append(dedicated, c.GetName())
		}
	}
	if got, want := strings.Join(dedicated, " "), "jwks|http://hidden.auth.svc.cluster.local:8080 jwks|http://keys.auth.svc.cluster.local:9999 jwks|https://[2001:db8::1]:8443 jwks|https://login.example.com:443 jwks|https://passthrough.example.com:443"; got != want {
		t.Errorf("dedicated clusters:\n%s\nwant:\n%s", got, want)
	}
	plain := byName["jwks|http://keys.auth.svc.cluster.local:9999"]
	if plain.GetType() != clusterv3.Cluster_STRICT_DNS || plain.GetTransportSocket() != nil {
		t.Errorf("plain cluster: %s", protoYAML(t, plain))
	}
	tlsCluster := byName["jwks|https://login.example.com:443"]
	ctx := &tlsv3.UpstreamTlsContext{}
	if err := tlsCluster.GetTransportSocket().GetTypedConfig().UnmarshalTo(ctx); err != nil {
		t.Fatalf("TLS cluster: %v\n%s", err, protoYAML(t, tlsCluster))
	}
	v := ctx.GetCommonTlsContext().GetValidationContext()
	if ctx.GetSni() != "login.example.com" || v.GetSystemRootCerts() == nil || v.GetMatchTypedSubjectAltNames()[0].GetMatcher().GetExact() != "login.example.com" ||
		tlsCluster.GetLoadAssignment().GetEndpoints()[0].GetLbEndpoints()[0].GetEndpoint().GetAddress().GetSocketAddress().GetPortValue() != 443 {
		t.Errorf("TLS cluster: %s\n%s", protoYAML(t, tlsCluster), protoYAML(t, ctx))
	}
	ipCluster := byName["jwks|https://[2001:db8::1]:8443"]
	ipCtx := &tlsv3.UpstreamTlsContext{}
	_ = ipCluster.GetTransportSocket().GetTypedConfig().UnmarshalTo(ipCtx)
	if ipCluster.GetType() != clusterv3.Cluster_STATIC || ipCtx.GetSni() != "" ||
		ipCtx.GetCommonTlsContext().GetValidationContext().GetMatchTypedSubjectAltNames()[0].GetSanType() != tlsv3.SubjectAltNameMatcher_IP_ADDRESS {
		t.Errorf("IP cluster: %s\n%s", protoYAML(t, ipCluster), protoYAML(t, ipCtx))
	}
}

// TestJWTFilterPlacement: jwt_authn comes first, before RBAC and the router, on the sidecar's inbound
// HTTP chains, and before everything on every gateway HTTP chain; the sidecar's outbound listeners and
// a proxyless gRPC server (which has no such filter) get none; AuthenticationNotes says why.
func TestJWTFilterPlacement(t *testing.T) {
	for _, tc := range []struct {
		golden string
		// want are the first filters of the inbound (sidecar, gRPC server) or gateway HCM, by name; the
		// router is always last.
		want string
	}{
		{"jwt-authz", jwtAuthnFilter + "," + rbacDenyFilter + "," + rbacAllowFilter + ","},
		{"jwt-inline", jwtAuthnFilter + "," + routerFilter},
		{"jwt-gateway", jwtAuthnFilter + "," + rbacDenyFilter + "," + faultFilter + ","},
		{"jwt-authz-grpc", rbacDenyFilter + "," + rbacAllowFilter + "," + routerFilter},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			file := "testdata/in/" + strings.TrimSuffix(tc.golden, "-grpc") + ".yaml"
			mesh := loadMesh(t, file)
			proxy := goldenProxy(tc.golden)
			res := Generate(mesh, proxy)
			if err := res.Validate(); err != nil {
				t.Fatal(err)
			}
			checked := 0
			for _, l := range res.Listeners {
				eachHCM(l, func(hcm *hcmv3.HttpConnectionManager) {
					var got []string
					for _, f := range hcm.GetHttpFilters() {
						got = append(got, f.GetName())
					}
					inbound := l.GetName() == virtualInbound || strings.HasPrefix(l.GetName(), GRPCInboundPrefix) || proxy.Type == model.Router
					if !inbound {
						if strings.Contains(strings.Join(got, ","), jwtAuthnFilter) {
							t.Errorf("listener %s has jwt_authn: %v", l.GetName(), got)
						}
						return
					}
					checked++
					if list := strings.Join(got, ","); !strings.HasPrefix(list, tc.want) || got[len(got)-1] != routerFilter || strings.Count(list, jwtAuthnFilter) > 1 {
						t.Errorf("listener %s: filters %v, want %s... then the router", l.GetName(), got, tc.want)
					}
				})
			}
			if checked == 0 {
				t.Fatal("no HTTP chain checked")
			}
			notes := AuthenticationNotes(mesh, proxy)
			if isGRPC := proxy.Type == model.ProxylessGRPC; isGRPC != (len(notes) == 1 && strings.Contains(notes[0], "not enforced")) {
				t.Errorf("notes: %v", notes)
			}
		})
	}
}

func eachHCM(l *listenerv3.Listener, fn func(*hcmv3.HttpConnectionManager)) {
	for _, fc := range l.GetFilterChains() {
		for _, f := range fc.GetFilters() {
			hcm := &hcmv3.HttpConnectionManager{}
			if f.GetName() == hcmFilter && f.GetTypedConfig().UnmarshalTo(hcm) == nil {
				fn(hcm)
			}
		}
	}
}

// TestRejectAllJWKS: the fallback key set is a well-formed JWKS holding one 2048-bit RSA public key, so
// Envoy loads it and every token fails its signature check rather than the key set failing to parse.
func TestRejectAllJWKS(t *testing.T) {
	var set struct {
		Keys []struct{ Kty, Alg, N, E string } `json:"keys"`
	}
	if err := json.Unmarshal([]byte(rejectAllJWKS), &set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("%v: %s", err, rejectAllJWKS)
	}
	k := set.Keys[0]
	n, err := base64.RawURLEncoding.DecodeString(k.N)
	if err != nil || k.Kty != "RSA" || k.Alg != "RS256" || k.E != "AQAB" {
		t.Fatalf("key: %+v (%v)", k, err)
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537}
	if pub.Size() != 256 || pub.N.Bit(0) != 1 {
		t.Fatalf("modulus of %d bytes, odd=%d", pub.Size(), pub.N.Bit(0))
	}
}

// BenchmarkJWTTranslation: 20 RequestAuthentications of 3 rules each (inline keys, a mesh JWKS service,
// external JWKS servers) applying to one workload, translated into the filter and its clusters.
func BenchmarkJWTTranslation(b *testing.B) {
	docs := productpageService
	for i := range 20 {
		docs += "\n---\napiVersion: security.istio.io/v1\nkind: RequestAuthentication\nmetadata: {name: ra" + string(rune('a'+i)) + ", namespace: default}\nspec:\n  jwtRules:\n" +
			"  - {issuer: https://inline-" + string(rune('a'+i)) + ", jwks: '{\"keys\":[]}', fromHeaders: [{name: x-t, prefix: 'Bearer '}]}\n" +
			"  - {issuer: https://mesh-" + string(rune('a'+i)) + ", jwksUri: 'http://productpage.default.svc.cluster.local:9080/jwks'}\n" +
			"  - {issuer: https://ext-" + string(rune('a'+i)) + ", jwksUri: 'https://ext-" + string(rune('a'+i)) + ".example.com/jwks', outputClaimToHeaders: [{header: x-sub, claim: sub}]}\n"
	}
	in, err := model.LoadFiles(map[string][]byte{"mesh.yaml": []byte(docs)})
	if err != nil {
		b.Fatal(err)
	}
	g := &generator{mesh: model.Build(in), proxy: goldenProxy("jwt")}
	b.ReportAllocs()
	for b.Loop() {
		if a := g.translateJWT(); len(a.config.GetProviders()) != 60 || len(a.clusters) != 20 {
			b.Fatalf("%d providers, %d clusters", len(a.config.GetProviders()), len(a.clusters))
		}
	}
}
