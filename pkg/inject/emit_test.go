package inject

import (
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// Every value must read back identically through sigs.k8s.io/yaml, the decoder kubectl uses.
func TestMarshalYAMLReadsBack(t *testing.T) {
	values := []any{
		map[string]any{},
		[]any{},
		"plain",
		map[string]any{
			"strings": []any{"", " lead", "trail ", "yes", "No", "on", "null", "~", "true", "1.0", "0x1F", "012", "1e3", ".inf",
				"2024-01-01", "a: b", "a #b", "ends:", "-dash", "*", "&a", "!tag", "%x", "@x", "`x", "{x}", "[x]", "x,y", "multi\nline\n",
				"tab\there", "quote\"s", "back\\slash", "ünïcödé", "$(POD_NAMESPACE).svc.cluster.local", "--flag=value", "<<"},
			"numbers":                        []any{0.0, 1.0, -5.0, 1.5, 1e6, 1e21, 15020.0},
			"nested":                         map[string]any{"list": []any{map[string]any{"a": 1.0, "b": []any{"x", []any{"y"}}}, []any{}, map[string]any{}}},
			"bools":                          []any{true, false, nil},
			"k: ey":                          "v",
			"":                               "empty key",
			strings.Repeat("k", 1100):        "long key, scalar",
			strings.Repeat("m", 1100) + ":x": map[string]any{"a": []any{"b"}},
			strings.Repeat("l", 1100):        []any{"x", map[string]any{"y": 1.0}},
		},
	}
	for _, v := range values {
		out := marshalYAML(v)
		var back any
		if err := yaml.Unmarshal(out, &back); err != nil {
			t.Fatalf("%v: output does not parse: %v\n%s", v, err, out)
		}
		if !reflect.DeepEqual(back, v) {
			t.Errorf("read back differently:\nwant %#v\ngot  %#v\nyaml:\n%s", v, back, out)
		}
	}
}
