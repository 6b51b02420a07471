package model

import (
	securityapi "istio.io/api/security/v1beta1"
)

// DefaultRootNamespace is where mesh-wide policy lives (Istio's root namespace).
const DefaultRootNamespace = "istio-system"

// MTLSMode is the inbound mutual TLS requirement for a workload port.
type MTLSMode int

const (
	// MTLSPermissive accepts both mTLS and plaintext (Istio's default).
	MTLSPermissive MTLSMode = iota
	// MTLSStrict accepts only mTLS.
	MTLSStrict
	// MTLSDisable accepts only plaintext.
	MTLSDisable
)

func (m MTLSMode) String() string {
	switch m {
	case MTLSStrict:
		return "STRICT"
	case MTLSDisable:
		return "DISABLE"
	default:
		return "PERMISSIVE"
	}
}

// InboundMTLS resolves PeerAuthentication for a workload port as Istio does: the most specific policy that
// sets a mode wins, from a port-level setting of a workload-selecting policy, through the workload's
// policy, the namespace's policy (no selector), to the mesh-wide policy in the root namespace. UNSET
// inherits; nothing set means PERMISSIVE.
func (m *Mesh) InboundMTLS(namespace string, labels map[string]string, port uint32) MTLSMode {
	var workload, namespaced, mesh *securityapi.PeerAuthentication
	for _, pa := range m.peerAuthentications {
		spec := &pa.Spec
		switch {
		case pa.Namespace == namespace && spec.GetSelector() != nil:
			if workload == nil && SelectorMatches(spec.GetSelector().GetMatchLabels(), labels) {
				workload = spec
			}
		case pa.Namespace == namespace:
			if namespaced == nil {
				namespaced = spec
			}
		case pa.Namespace == m.rootNamespace && spec.GetSelector() == nil:
			if mesh == nil {
				mesh = spec
			}
		}
	}
	if workload != nil {
		if pl, ok := workload.GetPortLevelMtls()[port]; ok {
			if mode, set := mtlsMode(pl); set {
				return mode
			}
		}
	}
	for _, p := range []*securityapi.PeerAuthentication{workload, namespaced, mesh} {
		if mode, set := mtlsMode(p.GetMtls()); set {
			return mode
		}
	}
	return MTLSPermissive
}

func mtlsMode(m *securityapi.PeerAuthentication_MutualTLS) (MTLSMode, bool) {
	switch m.GetMode() {
	case securityapi.PeerAuthentication_MutualTLS_STRICT:
		return MTLSStrict, true
	case securityapi.PeerAuthentication_MutualTLS_DISABLE:
		return MTLSDisable, true
	case securityapi.PeerAuthentication_MutualTLS_PERMISSIVE:
		return MTLSPermissive, true
	}
	return MTLSPermissive, false
}

// SelectorMatches says whether every selector label is on the workload. A selector with no labels selects
// nothing in particular, so it never matches (as a Service without a selector has hand-managed endpoints).
func SelectorMatches(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}
