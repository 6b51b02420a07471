package install

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"skiff.dev/skiff/pkg/errs"
)

// GenerateOptions configures `skiff manifest generate`.
type GenerateOptions struct {
	Profile   ProfileOptions
	OutputDir string    // one file per component here; empty writes everything to Out
	Out       io.Writer // multi-document YAML when OutputDir is empty
}

// GenerateManifests renders the profile and writes its objects, ordered for `kubectl apply`.
func GenerateManifests(o GenerateOptions) error {
	p, err := LoadProfile(o.Profile)
	if err != nil {
		return err
	}
	manifests, err := Render(p)
	if err != nil {
		return err
	}
	if o.OutputDir == "" {
		return WriteYAML(o.Out, AllObjects(manifests))
	}
	return WriteManifestDir(o.OutputDir, manifests)
}

// AllObjects flattens manifests into one list ordered for apply: namespaces and CRDs first, webhook
// configurations last, component order kept within a kind.
func AllObjects(manifests []Manifest) []*unstructured.Unstructured {
	var all []*unstructured.Unstructured
	for _, m := range manifests {
		all = append(all, m.Objects...)
	}
	SortForApply(all)
	return all
}

// WriteYAML writes objects as one multi-document YAML stream, keys sorted, so output is deterministic.
func WriteYAML(w io.Writer, objs []*unstructured.Unstructured) error {
	b, err := MarshalYAML(objs)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// MarshalYAML serialises objects as multi-document YAML.
func MarshalYAML(objs []*unstructured.Unstructured) ([]byte, error) {
	var buf bytes.Buffer
	for _, o := range objs {
		b, err := yaml.Marshal(o.Object)
		if err != nil {
			return nil, fmt.Errorf("serialising %s %s: %w", o.GetKind(), o.GetName(), err)
		}
		buf.WriteString("---\n")
		buf.Write(b)
	}
	return buf.Bytes(), nil
}

// WriteManifestDir writes one numbered file per component (01-base.yaml, 02-controller.yaml, ...), so
// `kubectl apply -f dir` applies them in order.
func WriteManifestDir(dir string, manifests []Manifest) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return errs.Failure("creating %s: %v", dir, err)
	}
	for _, m := range manifests {
		b, err := MarshalYAML(m.Objects)
		if err != nil {
			return err
		}
		path := filepath.Join(dir, ManifestFileName(m.Component))
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return errs.Failure("writing %s: %v", path, err)
		}
	}
	return nil
}

// ManifestFileName is the file a component's objects are written to: its apply position and kebab-case name.
func ManifestFileName(c Component) string {
	pos := 0
	for i, k := range Components {
		if k == c {
			pos = i + 1
		}
	}
	var b strings.Builder
	for i, r := range string(c) {
		if unicode.IsUpper(r) && i > 0 {
			b.WriteByte('-')
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return fmt.Sprintf("%02d-%s.yaml", pos, b.String())
}
