package analyze

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	yaml "go.yaml.in/yaml/v3"

	"skiff.dev/skiff/pkg/analyze/internal/benchdata"
)

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

// checkFastYAML asserts that when the fast parser accepts data, it builds yaml.v3's tree.
func checkFastYAML(t *testing.T, data []byte) bool {
	t.Helper()
	fast, ok := fastYAML(data)
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

func TestFastYAMLMatchesYAMLv3(t *testing.T) {
	dir := t.TempDir()
	if _, err := benchdata.Write(dir, 200); err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, pattern := range []string{"testdata/grid/*.yaml", "testdata/bookinfo/*.yaml", filepath.Join(dir, "*.yaml")} {
		m, _ := filepath.Glob(pattern)
		files = append(files, m...)
	}
	fast, total := 0, 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range splitChunks(f, b) {
			total++
			if checkFastYAML(t, c.data) {
				fast++
			}
		}
	}
	// The generated benchmark data and the bookinfo samples are plain manifests: most documents take the fast path.
	if fast*10 < total*8 {
		t.Errorf("fast path taken for only %d of %d documents", fast, total)
	}
	for _, tricky := range []string{
		"a: &x 1\nb: *x\n", "a: |\n  text\n", "a: b\n  c\n", "a: 'it''s'\n", "a: \"x\\ty\"\n", "a: 0x1F\n", "a: 2001-12-14\n",
		"a: 012\n", "a: 1_000\n", "a: .inf\n", "a: 1e3\n", "a: -\n", "- - a\n  - b\n- c\n", "a:\n- b\n- c\nd: e\n", "a: {b: [1, 2], c: {}}\n",
		"? a\n: b\n", "a: b: c\n", "a:    x   \n", "'k': v\n", "a: [b, c\n", "a: yes\n", "a: ~\n", "a:\n", "a: x # c\n", "a: x#y\n",
		"- a: 1\n  b: 2\n- {c: 3}\n", "a: !!str 1\n", "a: {b: c:d}\n", "a: [b: c]\n", "  a: 1\n b: 2\n", "a: 1.5s\n", "a: 10Gi\n",
	} {
		checkFastYAML(t, []byte(tricky))
	}
}

// FuzzFastYAML holds the fast parser to yaml.v3's output on whatever it accepts.
func FuzzFastYAML(f *testing.F) {
	for _, s := range []string{"a: b\n", "- a: 1\n  b: [x, 'y']\n", "a:\n  b:\n  - c: {d: 1.5}\n", "a: 'x'' y'\n"} {
		f.Add([]byte(s))
	}
	seeds, _ := filepath.Glob("testdata/grid/*.yaml")
	for _, s := range seeds {
		b, _ := os.ReadFile(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkFastYAML(t, data) })
}

func TestPlainNumbers(t *testing.T) {
	for s, want := range map[string][2]bool{ // isPlainInt, isPlainFloat
		"0": {true, false}, "-12": {true, false}, "+7": {true, false}, "012": {false, false}, "1234567890123456789": {false, false},
		"1.5": {false, true}, ".5": {false, true}, "-1.": {false, true}, "1.5e3": {false, true}, "1e3": {false, false},
		".": {false, false}, "1.5e": {false, false}, "-": {false, false}, "1.5s": {false, false},
	} {
		if got := [2]bool{isPlainInt(s), isPlainFloat(s)}; got != want {
			t.Errorf("%q: int/float = %v, want %v", s, got, want)
		}
	}
}
