package describe

import (
	securityapi "istio.io/api/security/v1beta1"

	"skiff.dev/skiff/pkg/model"
)

// mtlsSource names the PeerAuthentication that decides a workload port's mode, following the precedence
// model.Mesh.InboundMTLS applies (port level, workload, namespace, mesh), so describe can say why.
func mtlsSource(m *model.Mesh, rootNamespace, namespace string, labels map[string]string, port uint32) string {
	type candidate struct {
		name string
		spec *securityapi.PeerAuthentication
	}
	var workload, namespaced, mesh *candidate
	for _, pa := range m.PeerAuthentications() {
		c := &candidate{pa.Namespace + "/" + pa.Name, &pa.Spec}
		sel := pa.Spec.GetSelector()
		switch {
		case pa.Namespace == namespace && sel != nil:
			if workload == nil && len(sel.GetMatchLabels()) > 0 && SubsetMatches(sel.GetMatchLabels(), labels) {
				workload = c
			}
		case pa.Namespace == namespace:
			if namespaced == nil {
				namespaced = c
			}
		case pa.Namespace == rootNamespace && sel == nil:
			if mesh == nil {
				mesh = c
			}
		}
	}
	set := func(mt *securityapi.PeerAuthentication_MutualTLS) bool {
		return mt.GetMode() != securityapi.PeerAuthentication_MutualTLS_UNSET
	}
	if workload != nil {
		if pl, ok := workload.spec.GetPortLevelMtls()[port]; ok && set(pl) {
			return "port-level setting of PeerAuthentication " + workload.name
		}
		if set(workload.spec.GetMtls()) {
			return "workload PeerAuthentication " + workload.name
		}
	}
	if namespaced != nil && set(namespaced.spec.GetMtls()) {
		return "namespace PeerAuthentication " + namespaced.name
	}
	if mesh != nil && set(mesh.spec.GetMtls()) {
		return "mesh-wide PeerAuthentication " + mesh.name
	}
	return "default: no PeerAuthentication sets a mode"
}
