package model

import (
	"slices"
	"strings"
	"testing"
	"time"

	securityapi "istio.io/api/security/v1beta1"
	typeapi "istio.io/api/type/v1beta1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func requestAuthn(ns, name string, selector map[string]string, age time.Duration, issuers ...string) *securityv1.RequestAuthentication {
	ra := &securityv1.RequestAuthentication{ObjectMeta: metav1.ObjectMeta{
		Namespace: ns, Name: name, CreationTimestamp: metav1.NewTime(time.Unix(1_700_000_000, 0).Add(-age)),
	}}
	if selector != nil {
		ra.Spec.Selector = &typeapi.WorkloadSelector{MatchLabels: selector}
	}
	for _, iss := range issuers {
		ra.Spec.JwtRules = append(ra.Spec.JwtRules, &securityapi.JWTRule{Issuer: iss})
	}
	return ra
}

// TestRequestAuthenticationsScope: mesh-wide from the root namespace (with or without a selector),
// namespace-wide (no or empty selector) and workload-selecting policies apply and add up; other
// namespaces, non-matching selectors and targetRef policies do not; the order is oldest first.
func TestRequestAuthenticationsScope(t *testing.T) {
	web := map[string]string{"app": "web", "version": "v1"}
	bound := requestAuthn("shop", "gateway-bound", nil, 0)
	bound.Spec.TargetRefs = []*typeapi.PolicyTargetReference{{Kind: "Gateway", Group: "gateway.networking.k8s.io", Name: "gw"}}
	single := requestAuthn("shop", "gateway-bound-single", map[string]string{"app": "web"}, 0)
	single.Spec.TargetRef = &typeapi.PolicyTargetReference{Kind: "Gateway", Group: "gateway.networking.k8s.io", Name: "gw"}
	m := Build(Input{RootNamespace: "mesh-root", RequestAuthentications: []*securityv1.RequestAuthentication{
		requestAuthn("mesh-root", "mesh-wide", nil, time.Hour),
		requestAuthn("mesh-root", "mesh-web", map[string]string{"app": "web"}, 2*time.Hour),
		requestAuthn("mesh-root", "mesh-db", map[string]string{"app": "db"}, time.Hour),
		requestAuthn("shop", "namespace", nil, 3*time.Hour),
		requestAuthn("shop", "empty-selector", map[string]string{}, 0),
		requestAuthn("shop", "web", map[string]string{"app": "web"}, 0),
		requestAuthn("shop", "web-v2", map[string]string{"app": "web", "version": "v2"}, 0),
		requestAuthn("other", "namespace", nil, 0),
		bound, single,
	}})
	names := func(ns string, labels map[string]string) []string {
		var out []string
		for _, p := range m.RequestAuthentications(ns, labels) {
			out = append(out, p.Namespace+"/"+p.Name)
		}
		return out
	}
	if got, want := names("shop", web), []string{"shop/namespace", "mesh-root/mesh-web", "mesh-root/mesh-wide", "shop/empty-selector", "shop/web"}; !slices.Equal(got, want) {
		t.Errorf("shop web: got %v, want %v", got, want)
	}
	if got, want := names("billing", map[string]string{"app": "db"}), []string{"mesh-root/mesh-db", "mesh-root/mesh-wide"}; !slices.Equal(got, want) {
		t.Errorf("billing db: got %v, want %v", got, want)
	}
	if got := names("empty", nil); !slices.Equal(got, []string{"mesh-root/mesh-wide"}) {
		t.Errorf("unlabelled workload elsewhere: got %v", got)
	}
	// A workload in the root namespace sees each root policy once.
	if got, want := names("mesh-root", map[string]string{"app": "db"}), []string{"mesh-root/mesh-db", "mesh-root/mesh-wide"}; !slices.Equal(got, want) {
		t.Errorf("root namespace db: got %v, want %v", got, want)
	}
}

// TestJWTRules: the rules of all applicable policies, sorted by issuer, ties in policy order.
func TestJWTRules(t *testing.T) {
	older := requestAuthn("shop", "older", nil, time.Hour, "https://b", "https://a")
	older.Spec.JwtRules[0].Audiences = []string{"first"}
	newer := requestAuthn("shop", "newer", map[string]string{"app": "web"}, 0, "https://c", "https://b")
	newer.Spec.JwtRules[1].Audiences = []string{"second"}
	newer.Spec.JwtRules = append(newer.Spec.JwtRules, nil) // a null list entry is skipped
	m := Build(Input{RequestAuthentications: []*securityv1.RequestAuthentication{
		newer, older,
		requestAuthn("shop", "db", map[string]string{"app": "db"}, 0, "https://db"),
	}})
	var got []string
	for _, r := range m.JWTRules("shop", map[string]string{"app": "web"}) {
		got = append(got, r.GetIssuer()+strings.Join(r.GetAudiences(), ","))
	}
	if want := []string{"https://a", "https://bfirst", "https://bsecond", "https://c"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if rules := m.JWTRules("other", nil); len(rules) != 0 {
		t.Errorf("other namespace: %d rules", len(rules))
	}
}

// TestLoadRequestAuthentication: both API versions decode into the input.
func TestLoadRequestAuthentication(t *testing.T) {
	in, err := LoadFiles(map[string][]byte{"ra.yaml": []byte(`
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: a, namespace: default}
spec:
  jwtRules: [{issuer: "https://a", jwksUri: "https://a/jwks.json"}]
---
apiVersion: security.istio.io/v1beta1
kind: RequestAuthentication
metadata: {name: b, namespace: default}
spec:
  selector: {matchLabels: {app: web}}
  jwtRules: [{issuer: "https://b", fromHeaders: [{name: x-jwt, prefix: "Bearer "}]}]
`)})
	if err != nil {
		t.Fatal(err)
	}
	if len(in.RequestAuthentications) != 2 {
		t.Fatalf("decoded %d RequestAuthentications", len(in.RequestAuthentications))
	}
	rules := Build(in).JWTRules("default", map[string]string{"app": "web"})
	if len(rules) != 2 || rules[1].GetFromHeaders()[0].GetPrefix() != "Bearer " || rules[0].GetJwksUri() != "https://a/jwks.json" {
		t.Fatalf("rules: %v", rules)
	}
}
