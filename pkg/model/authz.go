package model

import (
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
)

// AuthorizationPolicies are the AuthorizationPolicies that apply to a workload, in precedence order
// (oldest first): the mesh-wide ones in the root namespace (no selector, or a selector matching the
// workload's labels), the namespace-wide ones (no selector) and the ones whose selector matches the
// workload. Policies with a targetRef bind to gateways and services rather than workloads and are left
// out. Actions are not filtered here: evaluation order (DENY before ALLOW) is the translator's business.
func (m *Mesh) AuthorizationPolicies(namespace string, labels map[string]string) []*securityv1.AuthorizationPolicy {
	var out []*securityv1.AuthorizationPolicy
	for _, ap := range m.authorizationPolicies {
		spec := &ap.Spec
		if spec.GetTargetRef() != nil || len(spec.GetTargetRefs()) > 0 {
			continue
		}
		if ap.Namespace != namespace && ap.Namespace != m.rootNamespace {
			continue
		}
		if selectsAll(spec.GetSelector().GetMatchLabels(), labels) {
			out = append(out, ap)
		}
	}
	return out
}

// selectsAll is Istio's selector rule for authorization: an absent or empty selector selects every
// workload in scope, otherwise every label must match.
func selectsAll(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}
