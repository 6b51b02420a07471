package model

import (
	"slices"
	"testing"
	"time"

	typeapi "istio.io/api/type/v1beta1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func authzPolicy(ns, name string, selector map[string]string, age time.Duration) *securityv1.AuthorizationPolicy {
	p := &securityv1.AuthorizationPolicy{ObjectMeta: metav1.ObjectMeta{
		Namespace: ns, Name: name, CreationTimestamp: metav1.NewTime(time.Unix(1_700_000_000, 0).Add(-age)),
	}}
	if selector != nil {
		p.Spec.Selector = &typeapi.WorkloadSelector{MatchLabels: selector}
	}
	return p
}

// TestAuthorizationPoliciesScope: mesh-wide from the root namespace (with or without a selector),
// namespace-wide, and workload-selecting policies apply; other namespaces, non-matching selectors and
// targetRef policies do not; the order is oldest first.
func TestAuthorizationPoliciesScope(t *testing.T) {
	web := map[string]string{"app": "web", "version": "v1"}
	bound := authzPolicy("shop", "gateway-bound", nil, 0)
	bound.Spec.TargetRefs = []*typeapi.PolicyTargetReference{{Kind: "Gateway", Group: "gateway.networking.k8s.io", Name: "gw"}}
	m := Build(Input{RootNamespace: "mesh-root", AuthorizationPolicies: []*securityv1.AuthorizationPolicy{
		authzPolicy("mesh-root", "mesh-wide", nil, time.Hour),
		authzPolicy("mesh-root", "mesh-web", map[string]string{"app": "web"}, 2*time.Hour),
		authzPolicy("mesh-root", "mesh-db", map[string]string{"app": "db"}, time.Hour),
		authzPolicy("shop", "namespace", nil, 3*time.Hour),
		authzPolicy("shop", "empty-selector", map[string]string{}, 0),
		authzPolicy("shop", "web", map[string]string{"app": "web"}, 0),
		authzPolicy("shop", "web-v2", map[string]string{"app": "web", "version": "v2"}, 0),
		authzPolicy("other", "namespace", nil, 0),
		bound,
	}})
	names := func(ns string, labels map[string]string) []string {
		var out []string
		for _, p := range m.AuthorizationPolicies(ns, labels) {
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
}
