package model

import (
	typeapi "istio.io/api/type/v1beta1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AuthorizationPolicies are the AuthorizationPolicies that apply to a workload, in precedence order
// (oldest first): the mesh-wide ones in the root namespace (no selector, or a selector matching the
// workload's labels), the namespace-wide ones (no selector) and the ones whose selector matches the
// workload. Policies with a targetRef bind to gateways and services rather than workloads and are left
// out. Actions are not filtered here: evaluation order (DENY before ALLOW) is the translator's business.
func (m *Mesh) AuthorizationPolicies(namespace string, labels map[string]string) []*securityv1.AuthorizationPolicy {
	return applying(m.authorizationPolicies, m.rootNamespace, namespace, labels,
		func(p *securityv1.AuthorizationPolicy) workloadPolicy { return &p.Spec })
}

// workloadPolicy is what the specs of AuthorizationPolicy and RequestAuthentication share.
type workloadPolicy interface {
	GetSelector() *typeapi.WorkloadSelector
	GetTargetRef() *typeapi.PolicyTargetReference
	GetTargetRefs() []*typeapi.PolicyTargetReference
}

// applying lists, in their order, the policies applying to a workload by Istio's rule for authorization
// and request authentication: those in the workload's namespace and in the root namespace whose selector
// is absent, empty or matches. Policies bound with targetRef(s) attach to Gateway API gateways and
// waypoints, which Skiff does not run, so they are left out.
func applying[P metav1.Object](policies []P, root, namespace string, labels map[string]string, spec func(P) workloadPolicy) []P {
	var out []P
	for _, p := range policies {
		s := spec(p)
		if s.GetTargetRef() != nil || len(s.GetTargetRefs()) > 0 {
			continue
		}
		if p.GetNamespace() != namespace && p.GetNamespace() != root {
			continue
		}
		if selectsAll(s.GetSelector().GetMatchLabels(), labels) {
			out = append(out, p)
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
