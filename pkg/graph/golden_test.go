package graph

import (
	"bytes"
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"skiff.dev/skiff/pkg/describe"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestGolden renders the test mesh in every format with the built-in renderer (Graphviz is not required)
// and compares with testdata/golden semantically: DOT as a set of statements with their attributes, SVG
// and HTML as element trees.
func TestGolden(t *testing.T) {
	cases := []struct {
		format  string
		compare func(t *testing.T, want, got string)
	}{
		{FormatDOT, compareDOT},
		{FormatSVG, compareXML},
		{FormatHTML, compareXML},
	}
	for _, c := range cases {
		t.Run(c.format, func(t *testing.T) {
			var out bytes.Buffer
			o := Options{Source: describe.Source{Files: testFiles}, Format: c.format, Renderer: RendererBuiltin, Out: &out}
			if err := Run(t.Context(), o); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "golden", "bookinfo."+c.format)
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test ./pkg/graph -update creates it)", err)
			}
			c.compare(t, string(want), out.String())
		})
	}
}

// dotStatements parses the DOT this package writes: one statement per line, keyed by the node ID or
// "from -> to" (with a counter for parallel edges), attributes as a map.
func dotStatements(t *testing.T, src string) map[string]map[string]string {
	t.Helper()
	out := map[string]map[string]string{}
	seen := map[string]int{}
	for _, line := range strings.Split(src, "\n") {
		line = strings.TrimSpace(line)
		head, attrs, ok := strings.Cut(line, " [")
		if !ok || !strings.HasPrefix(line, `"`) {
			continue
		}
		key := head
		seen[key]++
		if seen[key] > 1 {
			key = fmt.Sprintf("%s #%d", key, seen[key])
		}
		out[key] = parseAttrs(t, strings.TrimSuffix(attrs, "];"))
	}
	if len(out) == 0 {
		t.Fatalf("no statements in DOT:\n%s", src)
	}
	return out
}

func parseAttrs(t *testing.T, s string) map[string]string {
	t.Helper()
	attrs := map[string]string{}
	for s != "" {
		k, rest, ok := strings.Cut(s, "=")
		if !ok {
			t.Fatalf("bad attribute list %q", s)
		}
		var v string
		if strings.HasPrefix(rest, `"`) {
			i := 1
			for ; i < len(rest) && rest[i] != '"'; i++ {
				if rest[i] == '\\' {
					i++
				}
			}
			v, rest = rest[1:i], rest[min(i+1, len(rest)):]
		} else {
			v, rest, _ = strings.Cut(rest, ",")
			rest = "," + rest
		}
		attrs[strings.TrimSpace(k)] = v
		s = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), ","))
	}
	return attrs
}

func compareDOT(t *testing.T, want, got string) {
	w, g := dotStatements(t, want), dotStatements(t, got)
	for _, k := range slices.Sorted(maps.Keys(w)) {
		if _, ok := g[k]; !ok {
			t.Errorf("missing statement %s %v", k, w[k])
		} else if !reflect.DeepEqual(w[k], g[k]) {
			t.Errorf("%s:\n  want %v\n  got  %v", k, w[k], g[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(g)) {
		if _, ok := w[k]; !ok {
			t.Errorf("unexpected statement %s %v", k, g[k])
		}
	}
	if t.Failed() {
		t.Log("go test ./pkg/graph -update rewrites the golden files")
	}
}

// element is an XML element with sorted attributes and trimmed text, for comparing trees.
type element struct {
	Name     string
	Attrs    map[string]string
	Text     string
	Children []*element
}

func parseXML(t *testing.T, src string) *element {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(src))
	d.Strict = false
	d.AutoClose = xml.HTMLAutoClose
	d.Entity = xml.HTMLEntity
	root := &element{Name: "#root"}
	stack := []*element{root}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("parsing: %v", err)
		}
		top := stack[len(stack)-1]
		switch tk := tok.(type) {
		case xml.StartElement:
			e := &element{Name: tk.Name.Local, Attrs: map[string]string{}}
			for _, a := range tk.Attr {
				e.Attrs[a.Name.Local] = a.Value
			}
			top.Children = append(top.Children, e)
			stack = append(stack, e)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			top.Text += strings.TrimSpace(string(tk))
		}
	}
	return root
}

func compareXML(t *testing.T, want, got string) {
	if d := diffElements("", parseXML(t, want), parseXML(t, got)); d != "" {
		t.Errorf("differs from the golden file (go test ./pkg/graph -update rewrites it): %s", d)
	}
}

// diffElements names the first difference, with the path of elements leading to it.
func diffElements(path string, w, g *element) string {
	path += "/" + w.Name
	switch {
	case w.Name != g.Name:
		return fmt.Sprintf("%s: element %s, want %s", path, g.Name, w.Name)
	case !reflect.DeepEqual(w.Attrs, g.Attrs) && !(len(w.Attrs) == 0 && len(g.Attrs) == 0):
		return fmt.Sprintf("%s: attributes\n  want %v\n  got  %v", path, w.Attrs, g.Attrs)
	case w.Text != g.Text:
		return fmt.Sprintf("%s: text %q, want %q", path, g.Text, w.Text)
	case len(w.Children) != len(g.Children):
		return fmt.Sprintf("%s: %d children, want %d", path, len(g.Children), len(w.Children))
	}
	for i := range w.Children {
		if d := diffElements(fmt.Sprintf("%s[%d]", path, i), w.Children[i], g.Children[i]); d != "" {
			return d
		}
	}
	return ""
}
