package analyze

import (
	"sort"
)

// sidecarSelectorAnalyzer reports Sidecars that select the same workload (IST0110) and namespaces with more
// than one selector-less Sidecar (IST0111).
func sidecarSelectorAnalyzer() Analyzer {
	return Analyzer{
		Name:        "sidecar.SelectorAnalyzer",
		Description: "Validates that sidecars that define a workload selector match at least one pod, and that there aren't multiple sidecar resources that select overlapping pods",
		Codes:       []MessageType{ConflictingSidecarWorkloadSelectors, MultipleSidecarsWithoutWorkloadSelectors},
		Run: func(s *Snapshot, report func(Message)) {
			noSelector := map[string][]*Resource{}
			selecting := map[*Resource][]*Resource{} // workload -> sidecars
			var workloads []*Resource
			for _, r := range s.Kind("Sidecar") {
				sc := sidecar(r)
				if sc == nil {
					continue
				}
				labels := sc.GetWorkloadSelector().GetLabels()
				if len(labels) == 0 {
					noSelector[r.Key.Namespace] = append(noSelector[r.Key.Namespace], r)
					continue
				}
				for _, w := range preferPods(s.WorkloadsMatching(r.Key.Namespace, labels)) {
					if _, ok := selecting[w]; !ok {
						workloads = append(workloads, w)
					}
					selecting[w] = append(selecting[w], r)
				}
			}
			for _, ns := range sortedKeys(noSelector) {
				rs := noSelector[ns]
				if len(rs) < 2 {
					continue
				}
				names := sidecarNames(rs)
				for _, r := range rs {
					report(newMessage(MultipleSidecarsWithoutWorkloadSelectors, r, r.Line("spec"), names, ns))
				}
			}
			reported := map[[2]*Resource]bool{}
			for _, w := range workloads {
				rs := selecting[w]
				if len(rs) < 2 {
					continue
				}
				names := sidecarNames(rs)
				for _, r := range rs {
					if reported[[2]*Resource{r, w}] {
						continue
					}
					reported[[2]*Resource{r, w}] = true
					report(newMessage(ConflictingSidecarWorkloadSelectors, r, r.Line("spec", "workloadSelector"), names, w.Key.Namespace, w.Key.Name))
				}
			}
		},
	}
}

func sidecarNames(rs []*Resource) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.Key.Name)
	}
	sort.Strings(out)
	return out
}

// selectorAnalyzer reports workload-selecting policies whose selector matches nothing (IST0127). Policies in
// the root namespace select across all namespaces.
func selectorAnalyzer() Analyzer {
	return Analyzer{
		Name:        "security.WorkloadSelectorAnalyzer",
		Description: "Checks that AuthorizationPolicy, RequestAuthentication, PeerAuthentication and Sidecar selectors match workloads",
		Codes:       []MessageType{NoMatchingWorkloadsFound, ReferencedResourceNotFound},
		Run: func(s *Snapshot, report func(Message)) {
			check := func(r *Resource, labels map[string]string, path ...any) {
				t, args := NoMatchingWorkloadsFound, []any{selectorString(labels)}
				if r.Key.Kind == "Sidecar" { // istioctl reports Sidecars with IST0101, keep its code
					t, args = ReferencedResourceNotFound, []any{"selector", r.Key.Namespace + "/" + selectorString(labels)}
				}
				if len(labels) == 0 {
					return
				}
				ns := r.Key.Namespace
				if ns == s.MeshNamespace {
					ns = ""
				}
				if len(s.WorkloadsMatching(ns, labels)) == 0 {
					report(newMessage(t, r, r.Line(path...), args...))
				}
			}
			for _, r := range s.Kind("AuthorizationPolicy") {
				check(r, authorizationPolicy(r).GetSelector().GetMatchLabels(), "spec", "selector")
			}
			for _, r := range s.Kind("RequestAuthentication") {
				check(r, requestAuthentication(r).GetSelector().GetMatchLabels(), "spec", "selector")
			}
			for _, r := range s.Kind("PeerAuthentication") {
				check(r, peerAuthentication(r).GetSelector().GetMatchLabels(), "spec", "selector")
			}
			for _, r := range s.Kind("Sidecar") {
				check(r, sidecar(r).GetWorkloadSelector().GetLabels(), "spec", "workloadSelector")
			}
		},
	}
}

// preferPods keeps only the pods when a selection has both pods and their controllers (as when reading a
// cluster), so one workload is not reported once per pod and again for its Deployment.
func preferPods(ws []*Resource) []*Resource {
	var pods []*Resource
	for _, w := range ws {
		if w.Key.Kind == "Pod" {
			pods = append(pods, w)
		}
	}
	if len(pods) > 0 {
		return pods
	}
	return ws
}
