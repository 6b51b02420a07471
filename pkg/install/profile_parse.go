package install

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"skiff.dev/skiff/pkg/errs"
)

var yamlLineError = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseProfileDoc strictly decodes one profile document; errors name source:line and the field's path.
func parseProfileDoc(source string, data []byte, root fieldSchema) (profileDoc, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc *yaml.Node
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if m := yamlLineError.FindStringSubmatch(err.Error()); m != nil {
				return profileDoc{}, errs.BadInput("%s:%s: %s", source, m[1], m[2])
			}
			return profileDoc{}, errs.BadInput("%s: %s", source, strings.TrimPrefix(err.Error(), "yaml: "))
		}
		if len(n.Content) == 0 || (n.Content[0].Kind == yaml.ScalarNode && n.Content[0].Tag == "!!null") {
			continue
		}
		if doc != nil {
			return profileDoc{}, errs.BadInput("%s:%d: only one profile document per file", source, n.Content[0].Line)
		}
		doc = &n
	}
	if doc == nil {
		return profileDoc{source: source, tree: map[string]any{}}, nil
	}
	v, err := decodeNode(doc, root, "")
	if err != nil {
		var fe *fieldError
		if errors.As(err, &fe) && fe.Path == "" {
			return profileDoc{}, errs.BadInput("%s:%d: %s", source, fe.Line, fe.Msg)
		}
		if errors.As(err, &fe) {
			return profileDoc{}, errs.BadInput("%s:%d: %s: %s", source, fe.Line, fe.Path, fe.Msg)
		}
		return profileDoc{}, errs.BadInput("%s: %v", source, err)
	}
	tree, _ := v.(map[string]any)
	if tree == nil {
		tree = map[string]any{}
	}
	if err := checkTypeMeta(tree); err != nil {
		return profileDoc{}, errs.BadInput("%s:%d: %v", source, topLevelLine(doc, "apiVersion"), err)
	}
	d := profileDoc{source: source, tree: tree}
	if spec, ok := tree["spec"].(map[string]any); ok {
		d.parent, _ = spec["profile"].(string)
	}
	return d, nil
}

// checkTypeMeta accepts Skiff's own document type and Istio's IstioOperator; both may be left out in overlays.
func checkTypeMeta(tree map[string]any) error {
	av, _ := tree["apiVersion"].(string)
	k, _ := tree["kind"].(string)
	switch {
	case av == "" && k == "":
	case av == APIVersion && (k == Kind || k == IstioKind):
	case av == IstioAPIVersion && k == IstioKind:
	default:
		return fmt.Errorf("apiVersion %q, kind %q: want apiVersion %s, kind %s (or %s %s)", av, k, APIVersion, Kind, IstioAPIVersion, IstioKind)
	}
	return nil
}

func topLevelLine(doc *yaml.Node, key string) int {
	if len(doc.Content) == 0 {
		return doc.Line
	}
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i].Line
		}
	}
	return m.Line
}
