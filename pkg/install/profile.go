package install

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	meshv1alpha1 "istio.io/api/mesh/v1alpha1"

	"skiff.dev/skiff/pkg/errs"
	"skiff.dev/skiff/profiles"
)

// DefaultProfile is used when neither --profile nor an overlay's spec.profile names one.
const DefaultProfile = "default"

// maxProfileDepth bounds profile layering (a profile naming its parent in spec.profile), catching cycles.
const maxProfileDepth = 8

// LoadProfile resolves o to a Profile: the named profile (layered on its parents), then each overlay file
// deep-merged in order, then each --set. Every layer is decoded strictly, so a typo is an error naming its
// path and, for files, its file and line. All errors are errs.BadInput.
func LoadProfile(o ProfileOptions) (*Profile, error) {
	root := profileSchema()
	overlays := make([]profileDoc, 0, len(o.Overlays))
	for _, f := range o.Overlays {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, errs.BadInput("reading overlay: %v", unwrapPathError(err, f))
		}
		d, err := parseProfileDoc(f, data, root)
		if err != nil {
			return nil, err
		}
		overlays = append(overlays, d)
	}
	sets := make([]setting, 0, len(o.Sets))
	for _, raw := range o.Sets {
		s, err := parseSet(raw, root)
		if err != nil {
			return nil, errs.BadInput("%v", err)
		}
		sets = append(sets, s)
	}

	name := chooseProfile(o.Profile, overlays, sets)
	tree, err := resolveProfile(name, root, 0)
	if err != nil {
		return nil, err
	}
	for _, d := range overlays {
		tree = mergeTrees(tree, d.tree)
	}
	for _, s := range sets {
		if tree, err = s.apply(tree); err != nil {
			return nil, errs.BadInput("%v", err)
		}
	}
	p, err := decodeProfile(tree)
	if err != nil {
		return nil, err
	}
	p.Spec.Profile = name
	if err := p.complete(); err != nil {
		return nil, errs.BadInput("%v", err)
	}
	return p, nil
}

// chooseProfile picks the base profile: --set profile=..., then --profile, then the last overlay's
// spec.profile, then the default. The --profile flag has no default value so that an overlay written for
// the demo profile gets the demo profile.
func chooseProfile(flag string, overlays []profileDoc, sets []setting) string {
	name := flag
	if name == "" {
		for _, d := range overlays {
			if d.parent != "" {
				name = d.parent
			}
		}
	}
	for _, s := range sets {
		if formatPath(s.path) == "spec.profile" {
			if v, ok := s.value.(string); ok && v != "" {
				name = v
			}
		}
	}
	if name == "" {
		return DefaultProfile
	}
	return name
}

// profileDoc is one parsed profile layer.
type profileDoc struct {
	source string
	tree   map[string]any
	parent string // its spec.profile
}

// resolveProfile loads a built-in profile or profile file and layers it on its parent.
func resolveProfile(name string, root fieldSchema, depth int) (any, error) {
	if depth > maxProfileDepth {
		return nil, errs.BadInput("profile %q: profiles are layered more than %d deep (a cycle in spec.profile?)", name, maxProfileDepth)
	}
	source, data, err := readProfile(name)
	if err != nil {
		return nil, err
	}
	d, err := parseProfileDoc(source, data, root)
	if err != nil {
		return nil, err
	}
	parent := d.parent
	if parent == "" && name != DefaultProfile {
		parent = DefaultProfile
	}
	if parent == "" {
		return d.tree, nil
	}
	if parent == name {
		return nil, errs.BadInput("%s: spec.profile: profile %q is layered on itself", source, name)
	}
	base, err := resolveProfile(parent, root, depth+1)
	if err != nil {
		return nil, err
	}
	return mergeTrees(base, d.tree), nil
}

// readProfile returns a built-in profile's YAML or, for a name that looks like a path, the file's.
func readProfile(name string) (source string, data []byte, err error) {
	if data, err := fs.ReadFile(profiles.Files, name+".yaml"); err == nil {
		return "profiles/" + name + ".yaml", data, nil
	}
	if !looksLikePath(name) {
		return "", nil, errs.BadInput("unknown profile %q (valid profiles: %s; or a file path)", name, strings.Join(BuiltinProfileNames(), ", "))
	}
	data, err = os.ReadFile(name)
	if err != nil {
		return "", nil, errs.BadInput("reading profile: %v", unwrapPathError(err, name))
	}
	return name, data, nil
}

func looksLikePath(name string) bool {
	return strings.ContainsRune(name, os.PathSeparator) || strings.Contains(name, "/") ||
		strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml") || strings.HasSuffix(name, ".json")
}

func unwrapPathError(err error, name string) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %v", name, pe.Err)
	}
	return err
}

// BuiltinProfileNames lists the embedded profiles, sorted.
func BuiltinProfileNames() []string {
	entries, _ := fs.ReadDir(profiles.Files, ".")
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".yaml"); ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// decodeProfile turns the merged tree into the typed Profile. The tree was checked layer by layer, so a
// failure here is a bug or a value only the full decoders reject (a bad Duration under meshConfig).
func decodeProfile(tree any) (*Profile, error) {
	b, err := json.Marshal(tree)
	if err != nil {
		return nil, errs.BadInput("profile: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	p := &Profile{}
	if err := dec.Decode(p); err != nil {
		return nil, errs.BadInput("profile: %v", err)
	}
	if _, err := p.Spec.MeshConfigProto(); err != nil {
		return nil, errs.BadInput("%v", err)
	}
	return p, nil
}

// MeshConfigProto decodes spec.meshConfig into Istio's MeshConfig message.
func (s *Spec) MeshConfigProto() (*meshv1alpha1.MeshConfig, error) {
	mc := &meshv1alpha1.MeshConfig{}
	if len(s.MeshConfig) == 0 {
		return mc, nil
	}
	b, err := json.Marshal(s.MeshConfig)
	if err != nil {
		return nil, fmt.Errorf("spec.meshConfig: %v", err)
	}
	if err := protojson.Unmarshal(b, mc); err != nil {
		return nil, fmt.Errorf("spec.meshConfig: %s", strings.TrimPrefix(err.Error(), "proto: "))
	}
	return mc, nil
}
