package model

import (
	"cmp"
	"slices"

	securityapi "istio.io/api/security/v1beta1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
)

// RequestAuthentications are the RequestAuthentications that apply to a workload, oldest first, chosen
// as Istio chooses them (see applying). Unlike PeerAuthentication there is no "most specific wins":
// every applicable policy adds its rules.
func (m *Mesh) RequestAuthentications(namespace string, labels map[string]string) []*securityv1.RequestAuthentication {
	return applying(m.requestAuthentications, m.rootNamespace, namespace, labels,
		func(p *securityv1.RequestAuthentication) workloadPolicy { return &p.Spec })
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
