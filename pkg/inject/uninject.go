package inject

import (
	"skiff.dev/skiff/pkg/errs"
)

// UninjectTemplate reverses InjectTemplate on a pod or pod template map, in place, using the
// sidecar.istio.io/status annotation. It reports whether the template was injected.
func UninjectTemplate(pod map[string]any) (bool, error) {
	meta, _ := pod["metadata"].(map[string]any)
	annotations, _ := meta["annotations"].(map[string]any)
	raw, ok := annotations[AnnotationStatus].(string)
	if !ok {
		return false, nil
	}
	st, err := parseStatus(raw)
	if err != nil {
		return false, errs.BadInput("%v", err)
	}
	spec, _ := pod["spec"].(map[string]any)
	if spec == nil {
		spec = map[string]any{}
	}

	injected := map[string]bool{}
	for _, n := range append(append([]string{}, st.InitContainers...), st.Containers...) {
		injected[n] = true
	}
	for _, field := range []string{"initContainers", "containers"} {
		for _, ci := range list(spec, field) {
			c, ok := ci.(map[string]any)
			if !ok || name(c) != ProxyContainer || !injected[ProxyContainer] {
				continue
			}
			for _, ei := range list(c, "env") {
				if e, ok := ei.(map[string]any); ok && e["name"] == EnvAppProbers {
					v, _ := e["value"].(string)
					if err := restoreAppProbes(spec, v, st.ProbePorts); err != nil {
						return false, errs.BadInput("%v", err)
					}
				}
			}
		}
	}

	removeNamed(spec, "initContainers", injected)
	removeNamed(spec, "containers", injected)
	removeNamed(spec, "volumes", toSet(st.Volumes))
	removeNamed(spec, "imagePullSecrets", toSet(st.ImagePullSecrets))

	delete(annotations, AnnotationStatus)
	for _, k := range st.Annotations {
		delete(annotations, k)
	}
	labels, _ := meta["labels"].(map[string]any)
	for _, k := range st.Labels {
		delete(labels, k)
	}
	for _, f := range []string{"labels", "annotations"} {
		if m, ok := meta[f].(map[string]any); ok && len(m) == 0 {
			delete(meta, f)
		}
	}
	if len(meta) == 0 {
		delete(pod, "metadata") // injection created it for a template that had none
	}
	return true, nil
}

// removeNamed drops the items of spec[field] whose name is in names; an emptied list is removed, since
// injection created it.
func removeNamed(spec map[string]any, field string, names map[string]bool) {
	items, ok := spec[field].([]any)
	if !ok || len(names) == 0 {
		return
	}
	kept := items[:0:0]
	for _, it := range items {
		if m, ok := it.(map[string]any); ok && names[name(m)] {
			continue
		}
		kept = append(kept, it)
	}
	if len(kept) == 0 && len(items) > 0 {
		delete(spec, field)
		return
	}
	spec[field] = kept
}

func toSet(names []string) map[string]bool {
	s := make(map[string]bool, len(names))
	for _, n := range names {
		s[n] = true
	}
	return s
}
