package xds

import (
	"fmt"
	"strings"
	"testing"

	rbacv3 "github.com/envoyproxy/go-control-plane/envoy/config/rbac/v3"
	rbachttpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/rbac/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	securityapi "istio.io/api/security/v1beta1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"skiff.dev/skiff/pkg/model"
)

// authzPolicy decodes an AuthorizationPolicy default/p (security.istio.io/<version>) whose spec is the
// given YAML, through the same loader the control plane's file inputs use.
func authzPolicy(t *testing.T, version, name, spec string) *securityv1.AuthorizationPolicy {
	t.Helper()
	doc := "apiVersion: security.istio.io/" + version + "\nkind: AuthorizationPolicy\nmetadata: {name: " + name + ", namespace: default}\nspec:\n  " +
		strings.ReplaceAll(strings.TrimSpace(spec), "\n", "\n  ") + "\n"
	in, err := model.LoadFiles(map[string][]byte{"policy.yaml": []byte(doc)})
	if err != nil {
		t.Fatal(err)
	}
	if len(in.AuthorizationPolicies) != 1 {
		t.Fatalf("decoded %d AuthorizationPolicies from\n%s", len(in.AuthorizationPolicies), doc)
	}
	return in.AuthorizationPolicies[0]
}

// policyFromYAML reads an expected RBAC policy written in protojson field names.
func policyFromYAML(t *testing.T, y string) *rbacv3.Policy {
	t.Helper()
	j, err := yaml.YAMLToJSON([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	p := &rbacv3.Policy{}
	if err := protojson.Unmarshal(j, p); err != nil {
		t.Fatalf("expected policy: %v\n%s", err, y)
	}
	return p
}

func protoYAML(t *testing.T, m proto.Message) string {
	t.Helper()
	out, err := ToYAML([]proto.Message{m})
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

const rule0 = "ns[default]-policy[p]-rule[0]"

// TestAuthzRuleTranslation: each AuthorizationPolicy field and condition against the RBAC shape Istio
// generates for it. Every output is validated with Envoy's rules.
func TestAuthzRuleTranslation(t *testing.T) {
	for _, tc := range []ruleCase{{
		name: "empty rule matches everything",
		spec: "rules: [{}]",
		want: "permissions: [{any: true}]\nprincipals: [{any: true}]",
	}, {
		name: "principals exact, prefix, suffix and any",
		spec: `
rules:
- from:
  - source:
      principals: ["cluster.local/ns/default/sa/a", "cluster.local/ns/prod/*", "*/sa/b", "*"]`,
		want: `
permissions: [{any: true}]
principals:
- orIds:
    ids:
    - authenticated: {principalName: {exact: "spiffe://cluster.local/ns/default/sa/a"}}
    - authenticated: {principalName: {prefix: "spiffe://cluster.local/ns/prod/"}}
    - authenticated: {principalName: {suffix: "/sa/b"}}
    - authenticated: {principalName: {safeRegex: {regex: ".+"}}}`,
	}, {
		name: "notPrincipals and namespaces",
		spec: `
rules:
- from:
  - source:
      notPrincipals: ["cluster.local/ns/default/sa/a"]
      namespaces: ["prod", "team-*"]
      notNamespaces: ["*"]`,
		want: `
permissions: [{any: true}]
principals:
- andIds:
    ids:
    - notId: {authenticated: {principalName: {exact: "spiffe://cluster.local/ns/default/sa/a"}}}
    - orIds:
        ids:
        - authenticated: {principalName: {safeRegex: {regex: ".*/ns/prod/.*"}}}
        - authenticated: {principalName: {safeRegex: {regex: ".*/ns/team-[^/]*/.*"}}}
    - notId: {authenticated: {principalName: {safeRegex: {regex: ".*/ns/[^/]+/.*"}}}}`,
	}, {
		name: "ipBlocks, notIpBlocks and remoteIpBlocks",
		spec: `
rules:
- from:
  - source:
      ipBlocks: ["10.0.0.0/8", "192.168.1.7"]
      notIpBlocks: ["10.9.0.0/16"]
      remoteIpBlocks: ["2001:db8::/32"]`,
		want: `
permissions: [{any: true}]
principals:
- andIds:
    ids:
    - orIds:
        ids:
        - directRemoteIp: {addressPrefix: 10.0.0.0, prefixLen: 8}
        - directRemoteIp: {addressPrefix: 192.168.1.7, prefixLen: 32}
    - notId: {directRemoteIp: {addressPrefix: 10.9.0.0, prefixLen: 16}}
    - remoteIp: {addressPrefix: "2001:db8::", prefixLen: 32}`,
	}, {
		name: "several sources are alternatives",
		spec: `
rules:
- from:
  - source: {principals: ["cluster.local/ns/default/sa/a"]}
  - source: {namespaces: ["prod"]}`,
		want: `
permissions: [{any: true}]
principals:
- authenticated: {principalName: {exact: "spiffe://cluster.local/ns/default/sa/a"}}
- authenticated: {principalName: {safeRegex: {regex: ".*/ns/prod/.*"}}}`,
	}, {
		name: "methods, paths and ports",
		spec: `
rules:
- to:
  - operation:
      methods: ["GET", "HEAD"]
      paths: ["/api/v1", "/static/*", "*.png"]
      notPaths: ["/static/private*"]
      ports: ["8080"]
      notPorts: ["9090"]`,
		want: `
principals: [{any: true}]
permissions:
- andRules:
    rules:
    - orRules:
        rules:
        - header: {name: ":method", stringMatch: {exact: GET}}
        - header: {name: ":method", stringMatch: {exact: HEAD}}
    - orRules:
        rules:
        - urlPath: {path: {exact: /api/v1}}
        - urlPath: {path: {prefix: /static/}}
        - urlPath: {path: {suffix: .png}}
    - notRule: {urlPath: {path: {prefix: /static/private}}}
    - destinationPort: 8080
    - notRule: {destinationPort: 9090}`,
	}, {
		name: "when conditions join every source and operation",
		spec: `
rules:
- from:
  - source: {namespaces: ["prod"]}
  to:
  - operation: {methods: ["POST"]}
  - operation: {paths: ["/admin"]}
  when:
  - key: request.headers[X-Token]
    values: ["abc*", "*"]
    notValues: ["abcd"]
  - key: source.ip
    values: ["10.1.0.0/16"]
  - key: source.namespace
    notValues: ["test"]
  - key: source.principal
    values: ["cluster.local/ns/prod/sa/web"]
  - key: destination.port
    values: ["9080"]`,
		want: `
principals:
- andIds:
    ids:
    - authenticated: {principalName: {safeRegex: {regex: ".*/ns/prod/.*"}}}
    - andIds:
        ids:
        - orIds:
            ids:
            - header: {name: x-token, stringMatch: {prefix: abc}}
            - header: {name: x-token, presentMatch: true}
        - notId: {header: {name: x-token, stringMatch: {exact: abcd}}}
    - directRemoteIp: {addressPrefix: 10.1.0.0, prefixLen: 16}
    - notId: {authenticated: {principalName: {safeRegex: {regex: ".*/ns/test/.*"}}}}
    - authenticated: {principalName: {exact: "spiffe://cluster.local/ns/prod/sa/web"}}
permissions:
- andRules:
    rules:
    - header: {name: ":method", stringMatch: {exact: POST}}
    - destinationPort: 9080
- andRules:
    rules:
    - urlPath: {path: {exact: /admin}}
    - destinationPort: 9080`,
	}, {
		name: "unsupported condition drops an ALLOW rule",
		spec: `
rules:
- when:
  - key: connection.sni
    values: ["example.com"]`,
		note: `condition key "connection.sni" is not supported; rule skipped`,
	}, {
		name: "unsupported condition is ignored in a DENY rule, which then denies more",
		spec: `
action: DENY
rules:
- to:
  - operation: {paths: ["/admin"]}
  when:
  - key: connection.sni
    values: ["example.com"]`,
		want: "principals: [{any: true}]\npermissions: [{urlPath: {path: {exact: /admin}}}]",
		note: "ignored, so the rule denies more",
	}, {
		name: "hosts match the authority with any case and port",
		spec: `
rules:
- to:
  - operation:
      hosts: ["Example.com", "*.example.org", "*"]
      notHosts: ["admin.*"]`,
		want: `
principals: [{any: true}]
permissions:
- andRules:
    rules:
    - orRules:
        rules:
        - header: {name: ":authority", stringMatch: {safeRegex: {regex: "(?i)Example\\.com(:[0-9]+)?"}}}
        - header: {name: ":authority", stringMatch: {safeRegex: {regex: "(?i).*\\.example\\.org(:[0-9]+)?"}}}
        - header: {name: ":authority", presentMatch: true}
    - notRule: {header: {name: ":authority", stringMatch: {safeRegex: {regex: "(?i)admin\\..*(:[0-9]+)?"}}}}`,
	}, {
		name: "unsupported source fields",
		spec: `
rules:
- from:
  - source: {serviceAccounts: ["web"]}`,
		note: "source.serviceAccounts is not supported",
	}, {
		name: "malformed port and address",
		spec: `
rules:
- to:
  - operation: {ports: ["http"]}
- from:
  - source: {ipBlocks: ["10.0.0.300"]}`,
		note: `"http" is not a port number`,
	}, {
		name:   "grpc- headers are refused for proxyless gRPC",
		target: authzGRPC,
		spec: `
rules:
- when:
  - key: request.headers[grpc-timeout]
    values: ["*"]`,
		note: "gRPC servers cannot match header",
	}, {
		name:   "TCP: an ALLOW rule with HTTP fields is skipped",
		target: authzTCP,
		spec: `
rules:
- to:
  - operation: {methods: ["GET"], ports: ["9100"]}`,
		note: "operation hosts, methods and paths apply only to HTTP; rule skipped",
	}, {
		name:   "TCP: a DENY rule loses its HTTP fields and denies more",
		target: authzTCP,
		spec: `
action: DENY
rules:
- from:
  - source: {principals: ["cluster.local/ns/default/sa/a"]}
  to:
  - operation: {paths: ["/admin"], ports: ["9100"]}
  when:
  - key: request.headers[x-debug]
    values: ["1"]`,
		want: `
principals: [{authenticated: {principalName: {exact: "spiffe://cluster.local/ns/default/sa/a"}}}]
permissions: [{destinationPort: 9100}]`,
		note: `condition "request.headers[x-debug]" applies only to HTTP; ignored`,
	}, {
		name:   "TCP: principals, ports and IPs translate",
		target: authzTCP,
		spec: `
rules:
- from:
  - source: {namespaces: ["prod"], ipBlocks: ["10.0.0.0/8"]}
  to:
  - operation: {ports: ["9100"]}`,
		want: `
principals:
- andIds:
    ids:
    - authenticated: {principalName: {safeRegex: {regex: ".*/ns/prod/.*"}}}
    - directRemoteIp: {addressPrefix: 10.0.0.0, prefixLen: 8}
permissions: [{destinationPort: 9100}]`,
	}, {
		name: "grpc- headers are fine for Envoy",
		spec: `
rules:
- when:
  - key: request.headers[grpc-timeout]
    values: ["*"]`,
		want: "permissions: [{any: true}]\nprincipals: [{header: {name: grpc-timeout, presentMatch: true}}]",
	}} {
		t.Run(tc.name, func(t *testing.T) { tc.check(t) })
	}
}

// ruleCase is one AuthorizationPolicy p, given by its spec in YAML, translated for target.
type ruleCase struct {
	name   string
	spec   string
	target authzTarget
	// want is rule 0 of policy p under the policy's action; empty means the rule is absent.
	want string
	// note is a substring the translation notes must contain; empty means no notes.
	note string
}

func (tc ruleCase) check(t *testing.T) {
	ap := authzPolicy(t, "v1", "p", tc.spec)
	a := translateAuthz([]*securityv1.AuthorizationPolicy{ap}, tc.target)
	notes := strings.Join(a.notes, "\n")
	if tc.note == "" && notes != "" || !strings.Contains(notes, tc.note) {
		t.Errorf("notes:\n%s\nwant them to contain %q", notes, tc.note)
	}
	rules := a.allow
	if strings.Contains(tc.spec, "action: DENY") {
		rules = a.deny
	}
	if rules != nil {
		validateRBAC(t, rules)
	}
	got := rules.GetPolicies()[rule0]
	if tc.want == "" {
		if got != nil {
			t.Fatalf("rule 0 should have been skipped, got\n%s", protoYAML(t, got))
		}
		return
	}
	want := policyFromYAML(t, tc.want)
	if !proto.Equal(got, want) {
		t.Fatalf("rule 0:\n%s\nwant:\n%s", protoYAML(t, got), protoYAML(t, want))
	}
}

func validateRBAC(t *testing.T, rules *rbacv3.RBAC) {
	t.Helper()
	if err := (&rbachttpv3.RBAC{Rules: rules}).ValidateAll(); err != nil {
		t.Fatalf("RBAC filter does not validate: %v\n%s", err, protoYAML(t, rules))
	}
}

// TestAuthzActions: DENY before ALLOW, a rule-less ALLOW policy allows nothing, a rule-less DENY policy
// denies nothing, AUDIT and CUSTOM are skipped, and v1beta1 policies count like v1.
func TestAuthzActions(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		policies             map[string]string // name -> spec
		wantDeny, wantAllow  []string          // policy names in the filters; nil: no filter
		allowPresentNoPolicy bool
		note                 string
	}{{
		name:     "no policy, no filters",
		policies: map[string]string{"p": "action: AUDIT\nrules: [{}]"},
		note:     "action AUDIT is not supported",
	}, {
		name:                 "ALLOW without rules denies all",
		policies:             map[string]string{"p": "action: ALLOW"},
		allowPresentNoPolicy: true,
	}, {
		name:     "DENY without rules denies nothing",
		policies: map[string]string{"p": "action: DENY"},
	}, {
		name:      "both actions",
		policies:  map[string]string{"a": "action: DENY\nrules: [{}, {}]", "b": "rules: [{}]", "c": "action: CUSTOM\nprovider: {name: ext}\nrules: [{}]"},
		wantDeny:  []string{"ns[default]-policy[a]-rule[0]", "ns[default]-policy[a]-rule[1]"},
		wantAllow: []string{"ns[default]-policy[b]-rule[0]"},
		note:      "default/c: action CUSTOM is not supported; policy skipped",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			var aps []*securityv1.AuthorizationPolicy
			version := "v1"
			for name, spec := range tc.policies {
				aps = append(aps, authzPolicy(t, version, name, spec))
				version = "v1beta1"
			}
			a := translateAuthz(aps, authzHTTP)
			if notes := strings.Join(a.notes, "\n"); tc.note == "" && notes != "" || !strings.Contains(notes, tc.note) {
				t.Errorf("notes:\n%s\nwant them to contain %q", notes, tc.note)
			}
			check := func(what string, r *rbacv3.RBAC, action rbacv3.RBAC_Action, want []string, presentEmpty bool) {
				if want == nil && !presentEmpty {
					if r != nil {
						t.Errorf("%s filter present: %s", what, protoYAML(t, r))
					}
					return
				}
				if r == nil {
					t.Fatalf("no %s filter", what)
				}
				validateRBAC(t, r)
				if r.GetAction() != action || len(r.GetPolicies()) != len(want) {
					t.Errorf("%s filter: %s", what, protoYAML(t, r))
				}
				for _, name := range want {
					if r.GetPolicies()[name] == nil {
						t.Errorf("%s filter lacks %s: %s", what, name, protoYAML(t, r))
					}
				}
			}
			check("DENY", a.deny, rbacv3.RBAC_DENY, tc.wantDeny, false)
			check("ALLOW", a.allow, rbacv3.RBAC_ALLOW, tc.wantAllow, tc.allowPresentNoPolicy)
		})
	}
}

// TestAuthzFiltersInGeneratedListeners: the sidecar's inbound HTTP chains and a proxyless gRPC server
// listener run DENY, then ALLOW, then the router; the sidecar's inbound TCP chains, the passthrough for
// undeclared ports included, run the network RBAC filters before tcp_proxy; everything validates.
func TestAuthzFiltersInGeneratedListeners(t *testing.T) {
	mesh := loadMesh(t, "testdata/in/authz.yaml")
	for _, name := range []string{"authz", "authz-grpc"} {
		res := Generate(mesh, goldenProxy(name))
		if err := res.Validate(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		chains, tcpChains := 0, 0
		for _, l := range res.Listeners {
			for _, fc := range l.GetFilterChains() {
				if l.GetName() == virtualInbound && fc.GetFilters()[len(fc.GetFilters())-1].GetName() == tcpProxyFilter {
					var got []string
					for _, f := range fc.GetFilters() {
						got = append(got, f.GetName())
					}
					if strings.Join(got, ",") != rbacNetworkDenyFilter+","+rbacNetworkAllowFilter+","+tcpProxyFilter {
						t.Errorf("%s TCP chain %s: filters %v", name, fc.GetName(), got)
					}
					tcpChains++
				}
				for _, f := range fc.GetFilters() {
					hcm := &hcmv3.HttpConnectionManager{}
					if f.GetName() != hcmFilter || f.GetTypedConfig().UnmarshalTo(hcm) != nil || hcm.GetRds() != nil || l.GetApiListener() != nil {
						continue
					}
					if l.GetName() != virtualInbound && !strings.HasPrefix(l.GetName(), GRPCInboundPrefix) {
						continue
					}
					var got []string
					for _, hf := range hcm.GetHttpFilters() {
						got = append(got, hf.GetName())
					}
					if strings.Join(got, ",") != rbacDenyFilter+","+rbacAllowFilter+","+routerFilter {
						t.Errorf("%s %s chain %s: filters %v", name, l.GetName(), fc.GetName(), got)
					}
					chains++
				}
			}
		}
		if chains == 0 {
			t.Errorf("%s: no inbound HTTP chain found", name)
		}
		if name == "authz" && tcpChains != 2 { // 9100 under STRICT mTLS, and the passthrough chain
			t.Errorf("%s: %d inbound TCP chains, want 2", name, tcpChains)
		}
	}
}

// TestAuthorizationNotes: what the golden authz case cannot enforce is reported, in a stable order.
func TestAuthorizationNotes(t *testing.T) {
	mesh := loadMesh(t, "testdata/in/authz.yaml")
	got := AuthorizationNotes(mesh, goldenProxy("authz"))
	want := []string{
		`default/audit-all: action AUDIT is not supported; policy skipped`,
		`tcp: default/audit-all: action AUDIT is not supported; policy skipped`,
		`tcp: default/productpage-admin rule 0: operation hosts, methods and paths apply only to HTTP; ignored, so the rule denies more`,
		`tcp: default/productpage-viewers rule 0: operation hosts, methods and paths apply only to HTTP; rule skipped (allows nothing)`,
		`tcp: default/productpage-viewers rule 1: condition "request.headers[x-probe]" applies only to HTTP; rule skipped (allows nothing)`,
		`tcp: default/productpage-viewers rule 1: operation hosts, methods and paths apply only to HTTP; rule skipped (allows nothing)`,
		`tcp: default/productpage-viewers rule 2: condition "request.auth.principal" applies only to HTTP; rule skipped (allows nothing)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("notes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// BenchmarkAuthzTranslation: 100 policies of 5 rules each (sources, operations, conditions) applying to
// one workload, translated for an HTTP port.
func BenchmarkAuthzTranslation(b *testing.B) {
	var policies []*securityv1.AuthorizationPolicy
	for i := range 100 {
		ap := &securityv1.AuthorizationPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: fmt.Sprint("p", i)}}
		if i%2 == 0 {
			ap.Spec.Action = securityapi.AuthorizationPolicy_DENY
		}
		for range 5 {
			ap.Spec.Rules = append(ap.Spec.Rules, &securityapi.Rule{
				From: []*securityapi.Rule_From{{Source: &securityapi.Source{Principals: []string{"cluster.local/ns/a/sa/b", "cluster.local/ns/c/*"}, Namespaces: []string{"prod"}, IpBlocks: []string{"10.0.0.0/8"}}}},
				To:   []*securityapi.Rule_To{{Operation: &securityapi.Operation{Methods: []string{"GET"}, Paths: []string{"/api/*"}, Ports: []string{"8080"}}}},
				When: []*securityapi.Condition{{Key: "request.headers[x-user]", Values: []string{"alice"}}},
			})
		}
		policies = append(policies, ap)
	}
	b.ReportAllocs()
	for b.Loop() {
		if a := translateAuthz(policies, authzHTTP); len(a.allow.GetPolicies()) != 250 {
			b.Fatalf("%d allow policies", len(a.allow.GetPolicies()))
		}
	}
}
