package model

import (
	"cmp"
	"slices"

	securityapi "istio.io/api/security/v1beta1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
)

// RequestAuthentications are the RequestAuthentications that apply to a workload, oldest first, chosen
// as Istio chooses them: those in the workload's namespace and in the root namespace whose selector is
// absent or empty (namespace-wide, or mesh-wide from the root namespace) or matches the workload's
// labels. Unlike PeerAuthentication there is no "most specific wins": every applicable policy adds its
// rules. Policies with a targetRef bind to Gateway API gateways and waypoints, which Skiff does not run,
// so they are left out (Istio ignores the selector of such a policy as well).
func (m *Mesh) RequestAuthentications(namespace string, labels map[string]string) []*securityv1.RequestAuthentication {
	var out []*securityv1.RequestAuthentication
	for _, ra := range m.requestAuthentications {
		spec := &ra.Spec
		if spec.GetTargetRef() != nil || len(spec.GetTargetRefs()) > 0 {
			continue
		}
		if ra.Namespace != namespace && ra.Namespace != m.rootNamespace {
			continue
		}
		if selectsAll(spec.GetSelector().GetMatchLabels(), labels) {
			out = append(out, ra)
		}
	}
	return out
}

// JWTRules are the jwtRules of every RequestAuthentication applying to a workload, sorted by issuer
// (stable, so equal issuers keep policy order) as Istio sorts them, which keeps the generated filter
// deterministic. Duplicate issuers are kept, as in Istio.
func (m *Mesh) JWTRules(namespace string, labels map[string]string) []*securityapi.JWTRule {
	var out []*securityapi.JWTRule
	for _, ra := range m.RequestAuthentications(namespace, labels) {
		for _, r := range ra.Spec.GetJwtRules() {
			if r != nil {
				out = append(out, r)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b *securityapi.JWTRule) int { return cmp.Compare(a.GetIssuer(), b.GetIssuer()) })
	return out
}
