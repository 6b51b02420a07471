package install

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
)

// Difference is one path at which two documents differ. A is nil when the path was added, B when removed.
type Difference struct {
	Path string
	A, B any
}

func (d Difference) String() string {
	switch {
	case d.A == nil:
		return fmt.Sprintf("+ %s: %s", d.Path, showValue(d.B))
	case d.B == nil:
		return fmt.Sprintf("- %s: %s", d.Path, showValue(d.A))
	}
	return fmt.Sprintf("~ %s: %s → %s", d.Path, showValue(d.A), showValue(d.B))
}

func showValue(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// DiffTrees compares two generic documents (maps, lists, scalars, as decoded from JSON or YAML) and
// returns the differing paths, sorted. Lists whose items all have a name are compared item by name
// ([name:x]), others by index. Numbers compare by value, so 1 and 1.0 are equal.
func DiffTrees(a, b any) []Difference {
	var out []Difference
	diffAt("", normalizeNumbers(a), normalizeNumbers(b), &out)
	return out
}

func diffAt(path string, a, b any, out *[]Difference) {
	am, aIsMap := a.(map[string]any)
	bm, bIsMap := b.(map[string]any)
	if aIsMap && bIsMap {
		keys := slices.Sorted(maps.Keys(am))
		for _, k := range slices.Sorted(maps.Keys(bm)) {
			if _, ok := am[k]; !ok {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			diffAt(joinPath(path, k), am[k], bm[k], out)
		}
		return
	}
	al, aIsList := a.([]any)
	bl, bIsList := b.([]any)
	if aIsList && bIsList {
		if namedItems(al) && namedItems(bl) && len(al) > 0 && len(bl) > 0 {
			byName := func(l []any) map[string]any {
				m := map[string]any{}
				for _, item := range l {
					m[itemName(item)] = item
				}
				return m
			}
			an, bn := byName(al), byName(bl)
			names := slices.Sorted(maps.Keys(an))
			for n := range bn {
				if _, ok := an[n]; !ok {
					names = append(names, n)
				}
			}
			slices.Sort(names)
			for _, n := range names {
				diffAt(fmt.Sprintf("%s[name:%s]", path, n), an[n], bn[n], out)
			}
			return
		}
		for i := range max(len(al), len(bl)) {
			var x, y any
			if i < len(al) {
				x = al[i]
			}
			if i < len(bl) {
				y = bl[i]
			}
			diffAt(fmt.Sprintf("%s[%d]", path, i), x, y, out)
		}
		return
	}
	if !reflect.DeepEqual(a, b) {
		*out = append(*out, Difference{Path: path, A: a, B: b})
	}
}

// normalizeNumbers turns every number into float64, so trees from YAML (int) and JSON (float64) compare.
func normalizeNumbers(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = normalizeNumbers(x)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = normalizeNumbers(x)
		}
		return out
	case int:
		return float64(t)
	case int32:
		return float64(t)
	case int64:
		return float64(t)
	case float32:
		return float64(t)
	case json.Number:
		f, _ := t.Float64()
		return f
	}
	return v
}
