package install

import (
	"fmt"
	"reflect"
	"strings"

	"k8s.io/apimachinery/pkg/util/sets"
)

// drift lists the fields that differ between the object as it should be (want) and as it is (live), as
// "path: live value, want value". Status and server-maintained metadata are not configuration; labels
// and annotations are.
func drift(want, live map[string]any) []string {
	var out []string
	keys := sets.KeySet(want).Union(sets.KeySet(live)).Delete("status", "metadata")
	for _, k := range sets.List(keys) {
		diffValue(k, want[k], live[k], &out)
	}
	wm, _ := want["metadata"].(map[string]any)
	lm, _ := live["metadata"].(map[string]any)
	for _, k := range []string{"labels", "annotations"} {
		diffValue("metadata."+k, wm[k], lm[k], &out)
	}
	return out
}

func diffValue(path string, want, live any, out *[]string) {
	switch w := want.(type) {
	case map[string]any:
		l, ok := live.(map[string]any)
		if !ok {
			break
		}
		keys := sets.KeySet(w).Union(sets.KeySet(l))
		for _, k := range sets.List(keys) {
			diffValue(path+"."+k, w[k], l[k], out)
		}
		return
	case []any:
		l, ok := live.([]any)
		if !ok || len(l) != len(w) {
			break
		}
		for i := range w {
			diffValue(fmt.Sprintf("%s[%d]", path, i), w[i], l[i], out)
		}
		return
	}
	if reflect.DeepEqual(want, live) {
		return
	}
	// Configuration files in ConfigMaps are long multi-line strings: name the first line that differs.
	if w, ok := want.(string); ok {
		if l, ok := live.(string); ok && (strings.Contains(w, "\n") || strings.Contains(l, "\n")) {
			wl, ll := strings.Split(w, "\n"), strings.Split(l, "\n")
			for i := range max(len(wl), len(ll)) {
				if lineAt(wl, i) != lineAt(ll, i) {
					*out = append(*out, fmt.Sprintf("%s line %d: %s, want %s", path, i+1, short(lineAt(ll, i)), short(lineAt(wl, i))))
					return
				}
			}
		}
	}
	*out = append(*out, fmt.Sprintf("%s: %s, want %s", path, short(live), short(want)))
}

// lineAt returns line i, or nil past the end, which short shows as "unset".
func lineAt(lines []string, i int) any {
	if i < len(lines) {
		return lines[i]
	}
	return nil
}

// short renders a value for a one-line report.
func short(v any) string {
	var s string
	switch x := v.(type) {
	case nil:
		return "unset"
	case []any:
		s = fmt.Sprintf("%d items", len(x))
	case map[string]any:
		s = "{" + strings.Join(sets.List(sets.KeySet(x)), ",") + "}"
	case string:
		s = fmt.Sprintf("%q", x)
	default:
		s = fmt.Sprint(x)
	}
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	return s
}

// contains reports whether every field set in want has the same value in live; lists must match
// element by element, with the same length.
func contains(live, want any) bool {
	switch w := want.(type) {
	case map[string]any:
		l, ok := live.(map[string]any)
		if !ok {
			return false
		}
		for k, wv := range w {
			if !contains(l[k], wv) {
				return false
			}
		}
		return true
	case []any:
		l, ok := live.([]any)
		if !ok || len(l) != len(w) {
			return false
		}
		for i := range w {
			if !contains(l[i], w[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(live, want)
}
