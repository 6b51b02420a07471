package install

// mergeTrees deep-merges overlay over base, the way Istio layers IstioOperator overlays: objects merge key by
// key, a null value removes the key, lists whose items all have a "name" (gateways, env) merge item by item by
// name, and any other value (including an empty list) replaces the base's. Neither input is modified.
func mergeTrees(base, overlay any) any {
	switch o := overlay.(type) {
	case map[string]any:
		b, _ := base.(map[string]any)
		out := make(map[string]any, len(b)+len(o))
		for k, v := range b {
			out[k] = v
		}
		for k, v := range o {
			if v == nil {
				delete(out, k)
				continue
			}
			out[k] = mergeTrees(b[k], v)
		}
		return out
	case []any:
		if b, ok := base.([]any); ok && len(o) > 0 && namedItems(b) && namedItems(o) {
			return mergeNamedLists(b, o)
		}
		return cloneTree(o)
	}
	return overlay
}

// mergeNamedLists keeps base's order, merges items with the same name, and appends overlay's new names.
func mergeNamedLists(base, overlay []any) []any {
	out := make([]any, len(base), len(base)+len(overlay))
	copy(out, base)
	index := make(map[string]int, len(base))
	for i, item := range base {
		index[itemName(item)] = i
	}
	for _, item := range overlay {
		if i, ok := index[itemName(item)]; ok {
			out[i] = mergeTrees(out[i], item)
			continue
		}
		index[itemName(item)] = len(out)
		out = append(out, cloneTree(item))
	}
	return out
}

func namedItems(l []any) bool {
	for _, item := range l {
		if itemName(item) == "" {
			return false
		}
	}
	return true
}

func itemName(item any) string {
	m, _ := item.(map[string]any)
	name, _ := m["name"].(string)
	return name
}

func cloneTree(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = cloneTree(x)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = cloneTree(x)
		}
		return out
	}
	return v
}
