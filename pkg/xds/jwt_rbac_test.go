package xds

import (
	"strings"
	"testing"
)

// jwtMeta is the RBAC principal Istio generates for a payload claim at path (a YAML flow list of keys)
// with the string matcher sm, accepting a string or a list holding a match.
func jwtMeta(path, sm string) string {
	return `{metadata: {filter: envoy.filters.http.jwt_authn, path: [{key: payload}` + keys(path) + `], value: {orMatch: {valueMatchers: [{listMatch: {oneOf: {stringMatch: ` + sm + `}}}, {stringMatch: ` + sm + `}]}}}}`
}

func keys(path string) string {
	var out string
	for _, k := range strings.Split(path, ",") {
		out += ", {key: " + k + "}"
	}
	return out
}

// principalMeta is Istio's request principal: iss and sub, each a plain string matcher.
func principalMeta(iss, sub string) string {
	one := func(claim, sm string) string {
		return `{metadata: {filter: envoy.filters.http.jwt_authn, path: [{key: payload}, {key: ` + claim + `}], value: {stringMatch: ` + sm + `}}}`
	}
	return `{andIds: {ids: [` + one("iss", iss) + `, ` + one("sub", sub) + `]}}`
}

// TestJWTRuleTranslation: requestPrincipals and the request.auth.* conditions against the RBAC Istio
// generates for them, reading the payload jwt_authn stores; TCP and proxyless gRPC cannot see a
// verified token, so those rules fail closed. Every output validates.
func TestJWTRuleTranslation(t *testing.T) {
	anyRe := `{safeRegex: {regex: ".+"}}`
	for _, tc := range []ruleCase{{
		name: "requestPrincipals: exact, wildcards on each side, issuer or subject only",
		spec: `
rules:
- from:
  - source:
      requestPrincipals: ["https://iss.example.com/alice", "*", "*.example.com/bob", "*/carol", "https://iss/*", "https://iss/ad*", "iss-prefix*", "*sub-suffix"]`,
		want: `
permissions: [{any: true}]
principals:
- orIds:
    ids:
    - ` + principalMeta(`{exact: "https://iss.example.com"}`, `{exact: alice}`) + `
    - ` + principalMeta(anyRe, anyRe) + `
    - ` + principalMeta(`{suffix: .example.com}`, `{exact: bob}`) + `
    - ` + principalMeta(anyRe, `{exact: carol}`) + `
    - ` + principalMeta(`{exact: "https://iss"}`, anyRe) + `
    - ` + principalMeta(`{exact: "https://iss"}`, `{prefix: ad}`) + `
    - ` + principalMeta(`{prefix: iss-prefix}`, anyRe) + `
    - ` + principalMeta(anyRe, `{suffix: sub-suffix}`),
	}, {
		name: "notRequestPrincipals negates, next to other source fields",
		spec: `
action: DENY
rules:
- from:
  - source: {notRequestPrincipals: ["*"], namespaces: ["prod"]}`,
		want: `
permissions: [{any: true}]
principals:
- andIds:
    ids:
    - authenticated: {principalName: {safeRegex: {regex: ".*/ns/prod/.*"}}}
    - notId: ` + principalMeta(anyRe, anyRe),
	}, {
		name: "request.auth conditions: principal, audiences, presenter, claims, nested claims",
		spec: `
rules:
- when:
  - key: request.auth.principal
    values: ["https://iss/alice"]
  - key: request.auth.audiences
    values: ["api", "web*"]
  - key: request.auth.presenter
    notValues: ["*-test"]
  - key: request.auth.claims[groups]
    values: ["*"]
  - key: request.auth.claims[realm_access][roles]
    values: ["admin"]`,
		want: `
permissions: [{any: true}]
principals:
- andIds:
    ids:
    - ` + principalMeta(`{exact: "https://iss"}`, `{exact: alice}`) + `
    - orIds:
        ids:
        - ` + jwtMeta("aud", `{exact: api}`) + `
        - ` + jwtMeta("aud", `{prefix: web}`) + `
    - notId: ` + jwtMeta("azp", `{suffix: -test}`) + `
    - ` + jwtMeta("groups", anyRe) + `
    - ` + jwtMeta("realm_access,roles", `{exact: admin}`),
	}, {
		name: "malformed claim keys are unsupported",
		spec: `
rules:
- when:
  - key: request.auth.claims[]
    values: ["x"]`,
		note: `condition "request.auth.claims[]" does not name a claim`,
	}, {
		name: "request.auth keys that Istio does not define stay unsupported",
		spec: `
rules:
- when:
  - key: request.auth.raw
    values: ["x"]`,
		note: `condition key "request.auth.raw" is not supported; rule skipped`,
	}, {
		name:   "gRPC: an ALLOW rule on request principals never matches",
		target: authzGRPC,
		spec: `
rules:
- from:
  - source: {requestPrincipals: ["*"]}`,
		note: "source.requestPrincipals needs a verified JWT, which proxyless gRPC servers cannot check; rule skipped",
	}, {
		name:   "gRPC: an ALLOW rule on claims never matches",
		target: authzGRPC,
		spec: `
rules:
- when:
  - key: request.auth.claims[group]
    values: ["admin"]`,
		note: `condition "request.auth.claims[group]" needs a verified JWT`,
	}, {
		name:   "gRPC: a DENY rule on request principals denies regardless of the token",
		target: authzGRPC,
		spec: `
action: DENY
rules:
- from:
  - source: {notRequestPrincipals: ["*"]}
  to:
  - operation: {paths: ["/admin.Admin/*"]}`,
		want: "principals: [{any: true}]\npermissions: [{urlPath: {path: {prefix: /admin.Admin/}}}]",
		note: "ignored, so the rule denies more",
	}, {
		name:   "TCP: request principals apply only to HTTP",
		target: authzTCP,
		spec: `
rules:
- from:
  - source: {requestPrincipals: ["*"]}`,
		note: "source.requestPrincipals applies only to HTTP; rule skipped",
	}, {
		name:   "TCP: request.auth conditions apply only to HTTP",
		target: authzTCP,
		spec: `
action: DENY
rules:
- to:
  - operation: {ports: ["9100"]}
  when:
  - key: request.auth.audiences
    values: ["x"]`,
		want: "principals: [{any: true}]\npermissions: [{destinationPort: 9100}]",
		note: `condition "request.auth.audiences" applies only to HTTP; ignored`,
	}} {
		t.Run(tc.name, func(t *testing.T) { tc.check(t) })
	}
}

func TestParseClaimPath(t *testing.T) {
	for in, want := range map[string]string{
		"[a]": "a", "[a][b]": "a b", "[a.b]": "a.b", "[a][b][c]": "a b c",
		"": "!", "[]": "!", "a": "!", "[a": "!", "[a][]": "!", "[a[b]": "!", "[a]b]": "!", "[a]]": "!",
	} {
		got, ok := parseClaimPath(in)
		if s := strings.Join(got, " "); (ok && s != want) || (!ok && want != "!") {
			t.Errorf("parseClaimPath(%q) = %q, %v; want %q", in, s, ok, want)
		}
	}
}
