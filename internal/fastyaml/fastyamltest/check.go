// Package fastyamltest holds the differential checks that keep fastyaml identical to yaml.v3, for
// fastyaml's own tests and fuzz targets and for its callers' tests on their real inputs.
package fastyamltest

import (
	"fmt"
	"reflect"
	"testing"

	yaml "go.yaml.in/yaml/v3"

	"skiff.dev/skiff/internal/fastyaml"
)

// CheckParse asserts that when fastyaml.Parse accepts data, it builds yaml.v3's tree; it reports whether
// Parse accepted.
func CheckParse(t testing.TB, data []byte) bool {
	t.Helper()
	fast, ok := fastyaml.Parse(data)
	if !ok {
		return false
	}
	var slow yaml.Node
	if err := yaml.Unmarshal(data, &slow); err != nil {
		t.Fatalf("fast parser accepted input yaml.v3 rejects (%v):\n%s", err, data)
	}
	if slow.Kind != yaml.DocumentNode || len(slow.Content) == 0 {
		t.Fatalf("fast parser accepted an empty document:\n%s", data)
	}
	if err := sameTree(fast.Content[0], slow.Content[0], ""); err != nil {
		t.Fatalf("%v\ninput:\n%s", err, data)
	}
	return true
}

// sameTree compares the node fields Skiff reads: kind, tag, value, line and children.
func sameTree(a, b *yaml.Node, path string) error {
	if a.Kind != b.Kind || a.Tag != b.Tag || a.Value != b.Value || a.Line != b.Line || len(a.Content) != len(b.Content) {
		return fmt.Errorf("%s: fast {kind %d tag %s value %q line %d children %d} != yaml.v3 {kind %d tag %s value %q line %d children %d}",
			path, a.Kind, a.Tag, a.Value, a.Line, len(a.Content), b.Kind, b.Tag, b.Value, b.Line, len(b.Content))
	}
	for i := range a.Content {
		if err := sameTree(a.Content[i], b.Content[i], fmt.Sprintf("%s/%d", path, i)); err != nil {
			return err
		}
	}
	return nil
}

// CheckDecode asserts that when fastyaml.Decode accepts text, it returns exactly what yaml.v3's
// Unmarshal into an `any` returns; it reports whether Decode accepted.
func CheckDecode(t testing.TB, text string) bool {
	t.Helper()
	got, ok := fastyaml.Decode(text)
	if !ok {
		return false
	}
	var want any
	if err := yaml.Unmarshal([]byte(text), &want); err != nil {
		t.Errorf("fast parser accepted what yaml.v3 rejects (%v):\n%s", err, text)
		return true
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("fast parser differs from yaml.v3:\nyaml:\n%s\nwant %#v\ngot  %#v", text, want, got)
	}
	return true
}
