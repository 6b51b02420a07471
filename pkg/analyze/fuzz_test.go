package analyze

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzAnalyze feeds arbitrary bytes through splitting, decoding, schema checks and every analyzer: whatever
// the input, analysis must finish without panicking (analyzer panics would surface as IST0001).
func FuzzAnalyze(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/grid/*.yaml")
	more, _ := filepath.Glob("testdata/bookinfo/*.yaml")
	for _, s := range append(seeds, more...) {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("---\n---\n"))
	f.Add([]byte("apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: p}\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte("apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: x}\nspec: {http: [{route: [{destination: {host: 7}}]}], hosts: *}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dec := newDecoder("default")
		resources, msgs, problems := parseInputs([]input{{name: "fuzz.yaml", data: data}}, dec)
		snap := NewSnapshot(append(defaultIngressGateway(dec, "istio-system"), resources...), "istio-system")
		for _, p := range problems {
			if strings.HasPrefix(p.text, "internal error") {
				t.Fatalf("decoding panicked: %s", p.text)
			}
		}
		all := append(msgs, runAnalyzers(snap)...)
		for _, m := range all {
			if m.Type.Code == InternalError.Code {
				t.Fatalf("analyzer panicked: %s", m.Text)
			}
		}
	})
}

func TestExcessiveAliasing(t *testing.T) {
	doc := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\ndata:\n" +
		"  a: &a [x, x, x, x, x, x, x, x, x, x]\n  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n" +
		"  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n  d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n" +
		"  e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n  f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n" +
		"  g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
	_, _, problems := parseInputs([]input{{name: "lol.yaml", data: []byte(doc)}}, newDecoder("default"))
	if len(problems) != 1 || problems[0].text != "document contains excessive aliasing" {
		t.Fatalf("want an excessive-aliasing problem, got %v", problems)
	}
}
