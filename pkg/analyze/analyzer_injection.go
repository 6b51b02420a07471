package analyze

// systemNamespace reports the namespaces Istio never expects to be injected.
func systemNamespace(ns, meshNamespace string) bool {
	switch ns {
	case "kube-system", "kube-public", "kube-node-lease", "local-path-storage", meshNamespace:
		return true
	}
	return false
}

// namespaceInjectionEnabled is Istio's rule: istio-injection=enabled or a revision label (and no opt-out).
func namespaceInjectionEnabled(ns *Resource) bool {
	if ns == nil {
		return false
	}
	if v, ok := ns.Labels["istio-injection"]; ok {
		return v == "enabled"
	}
	_, rev := ns.Labels["istio.io/rev"]
	return rev
}

// injectionAnalyzer reports namespaces without an injection label (IST0102) and pods in injected
// namespaces that run without a proxy (IST0103).
func injectionAnalyzer() Analyzer {
	return Analyzer{
		Name:        "injection.Analyzer",
		Description: "Checks conditions related to Istio sidecar injection",
		Codes:       []MessageType{NamespaceNotInjected, PodMissingProxy},
		Run: func(s *Snapshot, report func(Message)) {
			for _, ns := range s.Kind("Namespace") {
				if systemNamespace(ns.Key.Name, s.MeshNamespace) {
					continue
				}
				_, injection := ns.Labels["istio-injection"]
				_, rev := ns.Labels["istio.io/rev"]
				ambient := ns.Labels["istio.io/dataplane-mode"] == "ambient"
				if !injection && !rev && !ambient {
					report(newMessage(NamespaceNotInjected, ns, ns.Line("metadata"), ns.Key.Name, ns.Key.Name))
				}
			}
			for _, pod := range s.Kind("Pod") {
				t := pod.Template
				if t == nil || t.ProxyInjected || systemNamespace(pod.Key.Namespace, s.MeshNamespace) {
					continue
				}
				enabled := namespaceInjectionEnabled(s.Namespace(pod.Key.Namespace))
				if v, ok := pod.Labels["sidecar.istio.io/inject"]; ok {
					enabled = v == "true"
				} else if v, ok := pod.Annotations["sidecar.istio.io/inject"]; ok {
					enabled = enabled && v != "false"
				}
				if enabled {
					report(newMessage(PodMissingProxy, pod, pod.Line("spec", "containers"), pod.Key.Namespace+"/"+pod.Key.Name))
				}
			}
		},
	}
}

// namespaceAnalyzer reports file objects in namespaces the cluster does not have (SKF0006); without the
// cluster the set of namespaces is unknown, so it stays silent.
func namespaceAnalyzer() Analyzer {
	return Analyzer{
		Name:        "namespace.ExistenceAnalyzer",
		Description: "Checks that objects from files live in namespaces that exist (with --use-kube)",
		Codes:       []MessageType{NamespaceNotFound},
		Run: func(s *Snapshot, report func(Message)) {
			if !s.FromCluster {
				return
			}
			for _, r := range s.Resources() {
				ns := r.Key.Namespace
				if ns == "" || r.Origin.File == "" || s.Namespace(ns) != nil {
					continue
				}
				report(newMessage(NamespaceNotFound, r, r.Line("metadata", "namespace"), ns))
			}
		},
	}
}
