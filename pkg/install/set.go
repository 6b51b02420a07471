package install

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// setting is one parsed and checked --set path=value.
type setting struct {
	raw   string
	path  []pathStep
	value any // already converted to the type the path wants; nil removes the key
}

// pathStep is one step of a --set path: a field name, a list index ([0]) or a list item selected by a
// field's value ([name:istio-ingressgateway], as istioctl accepts).
type pathStep struct {
	key      string
	index    int // -1 unless an index step
	selField string
	selValue string
}

func (s pathStep) String() string {
	switch {
	case s.index >= 0:
		return fmt.Sprintf("[%d]", s.index)
	case s.selField != "":
		return fmt.Sprintf("[%s:%s]", showArg(s.selField), showArg(s.selValue))
	}
	return showArg(s.key)
}

func formatPath(steps []pathStep) string {
	var b strings.Builder
	for i, s := range steps {
		if i > 0 && s.key != "" {
			b.WriteByte('.')
		}
		b.WriteString(s.String())
	}
	return b.String()
}

// topLevelFields are the profile document's own fields; any other first step is under spec, so istioctl's
// `--set values.global.logLevel=debug` and `--set profile=demo` work as written.
func isTopLevelField(key string) bool {
	switch key {
	case "apiVersion", "kind", "metadata", "spec":
		return true
	}
	return false
}

// parseSet parses raw (path=value), checks the path against the profile schema and converts the value.
func parseSet(raw string, root fieldSchema) (setting, error) {
	p, value, ok := strings.Cut(raw, "=")
	if !ok || strings.TrimSpace(p) == "" {
		return setting{}, fmt.Errorf("--set %s: want path=value", showArg(raw))
	}
	steps, err := parsePath(strings.TrimSpace(p))
	if err != nil {
		return setting{}, fmt.Errorf("--set %s: %v", showArg(raw), err)
	}
	if !isTopLevelField(steps[0].key) {
		steps = append([]pathStep{{key: "spec", index: -1}}, steps...)
	}
	leaf := root
	for i, st := range steps {
		at := formatPath(steps[:i+1])
		switch {
		case st.key != "":
			if leaf.kind != kindObject && leaf.kind != kindMap {
				return setting{}, fmt.Errorf("--set %s: %s: %s has no fields", showArg(raw), at, formatPath(steps[:i]))
			}
			if leaf.kind == kindMap {
				leaf = leaf.element()
				continue
			}
			next, ok := leaf.field(st.key)
			if !ok {
				return setting{}, fmt.Errorf("--set %s: %s: unknown field", showArg(raw), at)
			}
			leaf = next
		default:
			if leaf.kind != kindList {
				return setting{}, fmt.Errorf("--set %s: %s: %s is not a list", showArg(raw), at, formatPath(steps[:i]))
			}
			leaf = leaf.element()
		}
	}
	v, err := settingValue(value, leaf, formatPath(steps))
	if err != nil {
		return setting{}, fmt.Errorf("--set %s: %v", showArg(raw), err)
	}
	return setting{raw: raw, path: steps, value: v}, nil
}

// settingValue converts a --set value by the schema at its path: strings stay as written, anything else
// is read as YAML (true, 3, 0.5, [a, b], {k: v}) and checked like a file's content.
func settingValue(value string, leaf fieldSchema, path string) (any, error) {
	if leaf.kind == kindString && leaf.enum == nil {
		return value, nil
	}
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(value), &n); err != nil {
		return nil, fmt.Errorf("%s: cannot read value %q: %v", path, value, err)
	}
	if len(n.Content) == 0 {
		return nil, nil
	}
	return decodeNode(&n, leaf, path)
}

// parsePath splits a.b[0].c[name:x] into steps; a backslash escapes a dot inside a key (annotation names).
func parsePath(p string) ([]pathStep, error) {
	var steps []pathStep
	var key strings.Builder
	flush := func() {
		if key.Len() > 0 {
			steps = append(steps, pathStep{key: key.String(), index: -1})
			key.Reset()
		}
	}
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '\\':
			if i+1 < len(p) {
				i++
				key.WriteByte(p[i])
			}
		case '.':
			if key.Len() == 0 && (i == 0 || p[i-1] != ']') {
				return nil, fmt.Errorf("empty field name in path %q", p)
			}
			flush()
		case '[':
			flush()
			end := strings.IndexByte(p[i:], ']')
			if end < 0 {
				return nil, fmt.Errorf("unclosed [ in path %q", p)
			}
			inner := p[i+1 : i+end]
			i += end
			if f, v, ok := strings.Cut(inner, ":"); ok && f != "" {
				steps = append(steps, pathStep{index: -1, selField: f, selValue: v})
				continue
			}
			n, err := strconv.Atoi(inner)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("bad list index [%s] in path %q (want [0], [1], ... or [name:value])", inner, p)
			}
			steps = append(steps, pathStep{index: n})
		default:
			key.WriteByte(c)
		}
	}
	flush()
	if len(steps) == 0 || steps[0].key == "" {
		return nil, fmt.Errorf("path %q must start with a field name", p)
	}
	return steps, nil
}

// apply writes s.value into tree at s.path, creating objects and list items on the way.
func (s setting) apply(tree any) (any, error) {
	out, err := setIn(tree, s.path, s.value)
	if err != nil {
		return nil, fmt.Errorf("--set %s: %s: %v", showArg(s.raw), formatPath(s.path), err)
	}
	return out, nil
}

func setIn(node any, steps []pathStep, v any) (any, error) {
	if len(steps) == 0 {
		return v, nil
	}
	st, rest := steps[0], steps[1:]
	switch {
	case st.key != "":
		m, ok := node.(map[string]any)
		if node != nil && !ok {
			return nil, fmt.Errorf("%s: not an object", st.key)
		}
		if m == nil {
			m = map[string]any{}
		}
		if len(rest) == 0 && v == nil {
			delete(m, st.key)
			return m, nil
		}
		child, err := setIn(m[st.key], rest, v)
		if err != nil {
			return nil, err
		}
		m[st.key] = child
		return m, nil
	case st.index >= 0:
		l, ok := node.([]any)
		if node != nil && !ok {
			return nil, fmt.Errorf("%s: not a list", st)
		}
		if st.index > len(l) {
			return nil, fmt.Errorf("index %d is out of range: the list has %d items (use [%d] to append)", st.index, len(l), len(l))
		}
		if st.index == len(l) {
			l = append(l, nil)
		}
		child, err := setIn(l[st.index], rest, v)
		if err != nil {
			return nil, err
		}
		l[st.index] = child
		return l, nil
	default:
		l, ok := node.([]any)
		if node != nil && !ok {
			return nil, fmt.Errorf("%s: not a list", st)
		}
		i := len(l)
		for j, item := range l {
			if m, ok := item.(map[string]any); ok && fmt.Sprint(m[st.selField]) == st.selValue {
				i = j
				break
			}
		}
		if i == len(l) {
			l = append(l, map[string]any{st.selField: st.selValue})
		}
		child, err := setIn(l[i], rest, v)
		if err != nil {
			return nil, err
		}
		l[i] = child
		return l, nil
	}
}

// showArg quotes an argument only when printing it as is would break the one-line error.
func showArg(s string) string {
	if strings.ContainsFunc(s, unicode.IsControl) {
		return strconv.Quote(s)
	}
	return s
}
