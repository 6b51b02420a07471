// Package inject adds Skiff's data plane (init container + istio-proxy sidecar) to pod specs. One pure
// engine serves `skiff kube-inject`, `skiff x uninject` and the admission webhook.
package inject

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"text/template"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

//go:embed sidecar.tmpl
var defaultTemplate string

// DefaultTemplate returns the injection template that install renders into the istio-sidecar-injector
// ConfigMap (key "config"), and that kube-inject uses unless --injectConfigFile overrides it.
func DefaultTemplate() string { return defaultTemplate }

// parseTemplate compiles a sidecar template with Skiff's small function map (a sprig-free subset of what
// Istio's templates use, with the same names and argument order).
func parseTemplate(text string) (*template.Template, error) {
	return template.New("sidecar").Option("missingkey=zero").Funcs(templateFuncs()).Parse(text)
}

func templateFuncs() template.FuncMap {
	return template.FuncMap{
		"annotation":          annotationOr,
		"isset":               isset,
		"default":             defaultValue,
		"quote":               quote,
		"toJSON":              toJSON,
		"toYaml":              toYAML,
		"indent":              indent,
		"nindent":             func(n int, s string) string { return "\n" + indent(n, s) },
		"join":                join,
		"lower":               strings.ToLower,
		"contains":            func(substr, s string) bool { return strings.Contains(s, substr) },
		"excludeInboundPorts": joinPorts,
		"protoToJSON":         protoToJSON,
	}
}

// annotationOr returns the pod's annotation key, or def when the pod does not set it.
func annotationOr(meta metav1.ObjectMeta, key string, def any) string {
	if v, ok := meta.Annotations[key]; ok {
		return v
	}
	if def == nil {
		return ""
	}
	return fmt.Sprint(def)
}

func isset(m map[string]string, key string) bool {
	_, ok := m[key]
	return ok
}

// defaultValue is sprig's `default`: v unless it is empty (nil, zero, empty string/collection).
func defaultValue(def any, v ...any) any {
	if len(v) == 0 || isEmpty(v[0]) {
		return def
	}
	return v[0]
}

func isEmpty(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Map, reflect.Slice, reflect.Array, reflect.String:
		return rv.Len() == 0
	case reflect.Pointer, reflect.Interface:
		return rv.IsNil()
	default:
		return rv.IsZero()
	}
}

// quote renders v as a double-quoted YAML (JSON) string, safe for any content.
func quote(v any) string {
	s := ""
	if v != nil {
		s = fmt.Sprint(v)
	}
	b, _ := json.Marshal(s)
	return string(b)
}

func toJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

func toYAML(v any) (string, error) {
	return strings.TrimSuffix(string(marshalYAML(normalise(v))), "\n"), nil
}

func indent(n int, s string) string {
	pad := strings.Repeat(" ", n)
	return pad + strings.ReplaceAll(s, "\n", "\n"+pad)
}

func join(sep string, list any) string {
	rv := reflect.ValueOf(list)
	if list == nil || (rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array) {
		return fmt.Sprint(list)
	}
	parts := make([]string, 0, rv.Len())
	for i := 0; i < rv.Len(); i++ {
		parts = append(parts, fmt.Sprint(rv.Index(i).Interface()))
	}
	return strings.Join(parts, sep)
}

// joinPorts merges comma-separated port lists, dropping empties and duplicates, keeping first-seen order.
func joinPorts(lists ...any) string {
	seen := map[string]bool{}
	var out []string
	for _, l := range lists {
		if l == nil {
			continue
		}
		for _, p := range strings.Split(fmt.Sprint(l), ",") {
			if p = strings.TrimSpace(p); p != "" && p != "0" && !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	return strings.Join(out, ",")
}

func protoToJSON(m proto.Message) (string, error) {
	b, err := protojson.MarshalOptions{}.Marshal(m)
	if err != nil {
		return "", err
	}
	// protojson output is deliberately unstable in whitespace; compact it so the env value is deterministic.
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return "", err
	}
	out, err := json.Marshal(v)
	return string(out), err
}
