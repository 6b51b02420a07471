package model

import (
	"testing"

	securityapi "istio.io/api/security/v1beta1"
	typeapi "istio.io/api/type/v1beta1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func pa(ns, name string, selector map[string]string, mode securityapi.PeerAuthentication_MutualTLS_Mode, ports map[uint32]securityapi.PeerAuthentication_MutualTLS_Mode) *securityv1.PeerAuthentication {
	p := &securityv1.PeerAuthentication{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	if selector != nil {
		p.Spec.Selector = &typeapi.WorkloadSelector{MatchLabels: selector}
	}
	if mode != securityapi.PeerAuthentication_MutualTLS_UNSET {
		p.Spec.Mtls = &securityapi.PeerAuthentication_MutualTLS{Mode: mode}
	}
	for port, m := range ports {
		if p.Spec.PortLevelMtls == nil {
			p.Spec.PortLevelMtls = map[uint32]*securityapi.PeerAuthentication_MutualTLS{}
		}
		p.Spec.PortLevelMtls[port] = &securityapi.PeerAuthentication_MutualTLS{Mode: m}
	}
	return p
}

func TestInboundMTLSPrecedence(t *testing.T) {
	const (
		unset      = securityapi.PeerAuthentication_MutualTLS_UNSET
		strict     = securityapi.PeerAuthentication_MutualTLS_STRICT
		permissive = securityapi.PeerAuthentication_MutualTLS_PERMISSIVE
		disable    = securityapi.PeerAuthentication_MutualTLS_DISABLE
	)
	web := map[string]string{"app": "web"}
	m := Build(Input{PeerAuthentications: []*securityv1.PeerAuthentication{
		pa("istio-system", "default", nil, strict, nil),
		pa("shop", "default", nil, permissive, nil),
		pa("shop", "web", web, unset, map[uint32]securityapi.PeerAuthentication_MutualTLS_Mode{8080: disable}),
		pa("other", "selects-nothing-here", map[string]string{"app": "db"}, disable, nil),
	}})
	for _, c := range []struct {
		ns     string
		labels map[string]string
		port   uint32
		want   MTLSMode
	}{
		{"default", nil, 80, MTLSStrict},  // mesh-wide
		{"shop", nil, 80, MTLSPermissive}, // namespace beats mesh
		{"shop", web, 80, MTLSPermissive}, // workload policy UNSET inherits the namespace
		{"shop", web, 8080, MTLSDisable},  // port level wins
		{"other", web, 80, MTLSStrict},    // a non-matching selector does not apply
	} {
		if got := m.InboundMTLS(c.ns, c.labels, c.port); got != c.want {
			t.Errorf("%s %v :%d = %s, want %s", c.ns, c.labels, c.port, got, c.want)
		}
	}
	if got := Build(Input{}).InboundMTLS("x", nil, 1); got != MTLSPermissive {
		t.Errorf("no policy: %s, want PERMISSIVE", got)
	}
}
