package model

import (
	"strings"

	networking "istio.io/api/networking/v1alpha3"
)

// SidecarScope is the Sidecar resource that applies to a proxy: its workload's (selector matching the
// proxy's labels) in the proxy's namespace, else the namespace's default (no selector), else the mesh
// default in the root namespace. Nil means no Sidecar applies and everything is imported.
func (m *Mesh) SidecarScope(namespace string, labels map[string]string) *networking.Sidecar {
	var namespaced, mesh *networking.Sidecar
	for _, sc := range m.sidecars {
		spec := &sc.Spec
		switch {
		case sc.Namespace == namespace && spec.GetWorkloadSelector() != nil:
			if SelectorMatches(spec.GetWorkloadSelector().GetLabels(), labels) {
				return spec
			}
		case sc.Namespace == namespace:
			if namespaced == nil {
				namespaced = spec
			}
		case sc.Namespace == m.rootNamespace && spec.GetWorkloadSelector() == nil:
			if mesh == nil {
				mesh = spec
			}
		}
	}
	if namespaced != nil {
		return namespaced
	}
	return mesh
}

// Imports says whether a Sidecar's egress hosts ("<namespace>/<host>", with "*", "." and "~" for the
// namespace and wildcards for the host) import a service living in svcNamespace, for a proxy in
// proxyNamespace. A Sidecar without egress imports everything, as in Istio.
func Imports(sc *networking.Sidecar, svcNamespace, hostname, proxyNamespace string) bool {
	if sc == nil || len(sc.GetEgress()) == 0 {
		return true
	}
	for _, eg := range sc.GetEgress() {
		for _, h := range eg.GetHosts() {
			ns, host, ok := strings.Cut(h, "/")
			if !ok {
				continue
			}
			nsOK := ns == "*" || ns == svcNamespace || (ns == "." && svcNamespace == proxyNamespace)
			if nsOK && HostMatches(host, hostname) {
				return true
			}
		}
	}
	return false
}
