package inject

import (
	"encoding/json"
	"sort"
)

// apply merges the rendered additions into the pod template maps and records them in the status
// annotation. It only adds: existing labels, annotations and user containers keep their values and order.
func apply(meta, spec map[string]any, r *rendered, d *templateData, rewrite bool) {
	st := &Status{Revision: revisionName(d.Revision)}
	st.Labels = addMissing(meta, "labels", r.Metadata.Labels)
	st.Annotations = addMissing(meta, "annotations", r.Metadata.Annotations)

	tmplInit := r.Spec.InitContainers
	tmplMain := r.Spec.Containers
	for _, c := range tmplInit {
		st.InitContainers = append(st.InitContainers, name(c))
	}
	for _, c := range tmplMain {
		st.Containers = append(st.Containers, name(c))
	}
	for _, v := range r.Spec.Volumes {
		st.Volumes = append(st.Volumes, name(v))
	}

	if rewrite {
		probers, named := rewriteAppProbes(spec, d.StatusPort)
		if len(probers) > 0 {
			b, _ := json.Marshal(probers)
			if proxy := findByName(append(tmplMain, tmplInit...), ProxyContainer); proxy != nil {
				env, _ := proxy["env"].([]any)
				proxy["env"] = append(env, map[string]any{"name": EnvAppProbers, "value": string(b)})
			}
			if len(named) > 0 {
				st.ProbePorts = named
			}
		}
	}

	// Init containers: with native sidecars the mesh starts first (istio-init, then the proxy) so the app's
	// own init containers are already in the mesh; otherwise istio-validation goes first to block them and
	// istio-init goes last so they still have unredirected traffic.
	var front, back []any
	for _, c := range tmplInit {
		if d.NativeSidecar || name(c) == ValidationContainer {
			front = append(front, c)
		} else {
			back = append(back, c)
		}
	}
	setList(spec, "initContainers", concat(front, list(spec, "initContainers"), back))

	// The proxy goes last so `kubectl exec/logs` default to the app, first when the app must wait for it.
	main := make([]any, 0, len(tmplMain))
	for _, c := range tmplMain {
		main = append(main, c)
	}
	if d.HoldApplication {
		setList(spec, "containers", concat(main, list(spec, "containers"), nil))
	} else {
		setList(spec, "containers", concat(nil, list(spec, "containers"), main))
	}

	vols := make([]any, 0, len(r.Spec.Volumes))
	for _, v := range r.Spec.Volumes {
		vols = append(vols, v)
	}
	setList(spec, "volumes", concat(nil, list(spec, "volumes"), vols))

	existing := map[string]bool{}
	for _, s := range list(spec, "imagePullSecrets") {
		if m, ok := s.(map[string]any); ok {
			existing[name(m)] = true
		}
	}
	var secrets []any
	for _, s := range r.Spec.ImagePullSecrets {
		if n := name(s); !existing[n] {
			existing[n] = true
			secrets = append(secrets, s)
			st.ImagePullSecrets = append(st.ImagePullSecrets, n)
		}
	}
	setList(spec, "imagePullSecrets", concat(nil, list(spec, "imagePullSecrets"), secrets))

	b, _ := json.Marshal(st)
	annotations, _ := meta["annotations"].(map[string]any)
	if annotations == nil {
		annotations = map[string]any{}
		meta["annotations"] = annotations
	}
	annotations[AnnotationStatus] = string(b)
}

// addMissing sets the keys of add that meta[field] lacks and returns them, sorted.
func addMissing(meta map[string]any, field string, add map[string]string) []string {
	if len(add) == 0 {
		return nil
	}
	m, _ := meta[field].(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	var added []string
	for k, v := range add {
		if _, ok := m[k]; !ok {
			m[k] = v
			added = append(added, k)
		}
	}
	if len(m) > 0 {
		meta[field] = m
	}
	sort.Strings(added)
	return added
}

func name(m map[string]any) string {
	s, _ := m["name"].(string)
	return s
}

func findByName(items []map[string]any, n string) map[string]any {
	for _, m := range items {
		if name(m) == n {
			return m
		}
	}
	return nil
}

func list(m map[string]any, key string) []any {
	l, _ := m[key].([]any)
	return l
}

// setList stores l under key; an empty l leaves the map alone so absent lists stay absent.
func setList(m map[string]any, key string, l []any) {
	if len(l) == 0 {
		return
	}
	m[key] = l
}

func concat(a, b, c []any) []any {
	out := make([]any, 0, len(a)+len(b)+len(c))
	out = append(out, a...)
	out = append(out, b...)
	return append(out, c...)
}
