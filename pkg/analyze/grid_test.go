package analyze

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestAnalyzerGrid runs every testdata/grid case and compares the exact set of messages (code, object,
// line) with the file's "# expect:" comments.
func TestAnalyzerGrid(t *testing.T) {
	files, err := filepath.Glob("testdata/grid/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no grid cases: %v", err)
	}
	covered := map[string]bool{}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
			want := expectations(t, f)
			res := analyzeOptions(t, offline(f))
			var got []string
			for _, m := range res.Messages {
				got = append(got, describe(m))
				covered[m.Type.Code] = true
			}
			sort.Strings(got)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("messages differ\nwant:\n  %s\ngot:\n  %s\nfull:\n%s", strings.Join(want, "\n  "), strings.Join(got, "\n  "), fullText(res.Messages))
			}
		})
	}
	// Every code an analyzer can report has a grid case, except those that need a cluster.
	covered[NamespaceNotFound.Code] = true // TestClusterAnalysis
	for _, a := range Analyzers() {
		for _, c := range a.Codes {
			if !covered[c.Code] {
				t.Errorf("no grid case produces %s (%s) of analyzer %s", c.Code, c.Name, a.Name)
			}
		}
	}
}

func describe(m Message) string {
	obj := "-"
	if m.Key != (Key{}) {
		obj = m.Key.String()
	}
	return fmt.Sprintf("%s %s:%d", m.Type.Code, obj, m.Line)
}

func fullText(ms []Message) string {
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "  %s %s: %s\n", m.Type.Code, m.Location(), m.Text)
	}
	return b.String()
}

func expectations(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	none := false
	for _, line := range strings.Split(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, "# expect: ")
		if !ok {
			continue
		}
		if rest == "none" {
			none = true
			continue
		}
		want = append(want, rest)
	}
	if len(want) == 0 && !none {
		t.Fatalf("%s has no '# expect:' lines", file)
	}
	sort.Strings(want)
	return want
}
