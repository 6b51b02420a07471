package install

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"sigs.k8s.io/yaml"

	"skiff.dev/skiff/pkg/errs"
	"skiff.dev/skiff/pkg/ui"
	"skiff.dev/skiff/profiles"
)

// ProfileDescription is a built-in profile's one-line description: the first line of its file, a comment.
func ProfileDescription(name string) string {
	data, err := fs.ReadFile(profiles.Files, name+".yaml")
	if err != nil {
		return ""
	}
	first, _, _ := strings.Cut(string(data), "\n")
	return strings.TrimSpace(strings.TrimPrefix(first, "#"))
}

// ListProfiles prints the built-in profiles with their descriptions.
func ListProfiles(out io.Writer) error {
	rows := [][]string{}
	for _, n := range BuiltinProfileNames() {
		rows = append(rows, []string{n, ProfileDescription(n)})
	}
	ui.NewPrinter(out).Table([]string{"PROFILE", "DESCRIPTION"}, rows)
	return nil
}

// DumpOptions configures `skiff profile dump`.
type DumpOptions struct {
	Profile ProfileOptions
	Output  string // yaml or json
	Out     io.Writer
}

// DumpProfile prints the fully resolved profile: the named profile with its parents, overlays and --set.
func DumpProfile(o DumpOptions) error {
	if o.Output != "yaml" && o.Output != "json" {
		return errs.Usage("unknown output format %q (want yaml or json)", o.Output)
	}
	p, err := LoadProfile(o.Profile)
	if err != nil {
		return err
	}
	b, err := MarshalProfile(p, o.Output)
	if err != nil {
		return err
	}
	_, err = o.Out.Write(b)
	return err
}

// MarshalProfile serialises a profile as yaml or json.
func MarshalProfile(p *Profile, format string) ([]byte, error) {
	if format == "json" {
		b, err := json.MarshalIndent(p, "", "  ")
		return append(b, '\n'), err
	}
	return yaml.Marshal(p)
}

// DiffOptions configures `skiff profile diff`.
type DiffOptions struct {
	A, B ProfileOptions
	Out  io.Writer
}

// DiffProfiles prints the paths at which two resolved profiles differ.
func DiffProfiles(o DiffOptions) error {
	a, err := profileTree(o.A)
	if err != nil {
		return err
	}
	b, err := profileTree(o.B)
	if err != nil {
		return err
	}
	diffs := DiffTrees(a, b)
	pr := ui.NewPrinter(o.Out)
	nameA, nameB := firstNonEmpty(o.A.Profile, DefaultProfile), firstNonEmpty(o.B.Profile, DefaultProfile)
	if len(diffs) == 0 {
		pr.Success("profiles %s and %s are the same", nameA, nameB)
		return nil
	}
	pr.Plain("%s", pr.Bold(fmt.Sprintf("%d differences from %s to %s (- only in %s, + only in %s, ~ changed):", len(diffs), nameA, nameB, nameA, nameB)))
	for _, d := range diffs {
		pr.Plain("%s", d)
	}
	return nil
}

// profileTree resolves a profile and returns it as a generic tree, spec.profile left out (it always differs).
func profileTree(o ProfileOptions) (map[string]any, error) {
	p, err := LoadProfile(o)
	if err != nil {
		return nil, err
	}
	p.Spec.Profile = ""
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	tree := map[string]any{}
	return tree, json.Unmarshal(b, &tree)
}
