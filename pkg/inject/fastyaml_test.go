package inject

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"skiff.dev/skiff/internal/fastyaml"
	"skiff.dev/skiff/internal/fastyaml/fastyamltest"
)

// The default template's output for every golden input takes the fast path of internal/fastyaml (its edge
// cases and fuzz targets live there) and decodes exactly as with yaml.v3.
func TestFastParserOnRenderedTemplates(t *testing.T) {
	for _, in := range goldenInputs(t) {
		inj := injectorFor(t, in)
		src, _ := os.ReadFile(in)
		for _, d := range splitDocuments(string(src)) {
			var obj map[string]any
			if isBlank(d.text) || yaml.Unmarshal([]byte(d.text), &obj) != nil {
				continue
			}
			pod, ok := podTemplate(obj, str(obj["kind"]))
			if !ok || pod["spec"] == nil {
				continue
			}
			var typed corev1.PodTemplateSpec
			if convert(map[string]any{"metadata": pod["metadata"], "spec": pod["spec"]}, &typed) != nil || len(typed.Spec.Containers) == 0 {
				continue
			}
			data, err := inj.templateData(Workload{Kind: str(obj["kind"]), Name: "w"}, &typed)
			if err != nil {
				continue
			}
			var buf bytes.Buffer
			if err := inj.tmpl.Execute(&buf, data); err != nil {
				t.Fatal(err)
			}
			if !fastyamltest.CheckDecode(t, buf.String()) {
				t.Errorf("%s: the default template's output fell back to the slow parser at %s", in, firstUnsupported(buf.String()))
			}
		}
	}
}

// firstUnsupported names the first line after which the fast parser declines.
func firstUnsupported(text string) string {
	lines := strings.Split(text, "\n")
	for i := range lines {
		if _, ok := fastyaml.Decode(strings.Join(lines[:i+1], "\n")); !ok {
			return fmt.Sprintf("line %d %q", i+1, lines[i])
		}
	}
	return "?"
}
