package inject

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kylelemons/godebug/pretty"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite testdata/out golden files")

// goldenInputs lists testdata/in/*.yaml; a sibling <name>.values.yaml holds the values for that case.
func goldenInputs(t testing.TB) []string {
	files, err := filepath.Glob("testdata/in/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var ins []string
	for _, f := range files {
		if !strings.HasSuffix(f, ".values.yaml") {
			ins = append(ins, f)
		}
	}
	if len(ins) == 0 {
		t.Fatal("no golden inputs")
	}
	return ins
}

func injectorFor(t testing.TB, input string) *Injector {
	t.Helper()
	cfg := Config{}
	if b, err := os.ReadFile(strings.TrimSuffix(input, ".yaml") + ".values.yaml"); err == nil {
		if cfg.Values, err = ParseValues(b); err != nil {
			t.Fatal(err)
		}
	}
	inj, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return inj
}

func TestGolden(t *testing.T) {
	for _, in := range goldenInputs(t) {
		name := strings.TrimSuffix(filepath.Base(in), ".yaml")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			res, err := injectorFor(t, in).InjectManifest(src, in)
			if err != nil {
				t.Fatalf("inject: %v", err)
			}
			var report strings.Builder
			for _, r := range res.Records {
				report.WriteString(r.String() + "\n")
			}
			outFile := filepath.Join("testdata", "out", name+".yaml")
			reportFile := filepath.Join("testdata", "out", name+".report")
			if *update {
				writeFile(t, outFile, res.Output)
				writeFile(t, reportFile, []byte(report.String()))
				return
			}
			want, err := os.ReadFile(outFile)
			if err != nil {
				t.Fatalf("%v (run go test ./pkg/inject -update)", err)
			}
			if diff := pretty.Compare(parseStream(t, want), parseStream(t, res.Output)); diff != "" {
				t.Errorf("%s differs from golden (-want +got):\n%s", outFile, diff)
			}
			wantReport, _ := os.ReadFile(reportFile)
			if string(wantReport) != report.String() {
				t.Errorf("report differs:\nwant:\n%s\ngot:\n%s", wantReport, report.String())
			}
		})
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// parseStream decodes every document of a YAML stream, for semantic comparison.
func parseStream(t testing.TB, b []byte) []any {
	t.Helper()
	var docs []any
	for i, d := range splitDocuments(string(b)) {
		if isBlank(d.text) {
			continue
		}
		var v any
		if err := yaml.Unmarshal([]byte(d.text), &v); err != nil {
			t.Fatalf("document %d does not parse: %v\n%s", i+1, err, d.text)
		}
		docs = append(docs, v)
	}
	return docs
}
