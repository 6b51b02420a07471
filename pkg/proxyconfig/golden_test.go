package proxyconfig

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kylelemons/godebug/pretty"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite testdata/golden files")

// goldenCases are realistic translations: bookinfo's productpage sidecar (subsets, mTLS, retries,
// traffic shifting) and the ingress gateway routing to it.
var goldenCases = []struct {
	name string
	opts TranslateOptions
}{
	{"productpage", TranslateOptions{Files: []string{"testdata/bookinfo.yaml"}, Proxy: "productpage-v1-0.default"}},
	{"gateway", TranslateOptions{Files: []string{"testdata/bookinfo-gateway.yaml"}, Proxy: "istio-ingressgateway.istio-system",
		Labels: map[string]string{"app": "istio-ingressgateway", "istio": "ingressgateway"}}},
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		dump, err := TranslateDump(tc.opts)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for _, v := range []View{Cluster, Listener, Route, Endpoint, All} {
			t.Run(tc.name+"/"+string(v), func(t *testing.T) {
				var short bytes.Buffer
				if err := Render(&short, dump, RenderOptions{View: v}); err != nil {
					t.Fatal(err)
				}
				if v != All && bytes.Count(short.Bytes(), []byte("\n")) < 2 {
					t.Fatalf("table has no rows:\n%s", short.String())
				}
				compareText(t, filepath.Join("testdata", "golden", tc.name+"."+string(v)+".txt"), short.Bytes())
				if v == All {
					return
				}
				var js bytes.Buffer
				if err := Render(&js, dump, RenderOptions{View: v, Output: JSON}); err != nil {
					t.Fatal(err)
				}
				compareJSON(t, filepath.Join("testdata", "golden", tc.name+"."+string(v)+".json"), js.Bytes())
			})
		}
	}
}

// TestYAMLMatchesJSON checks that -o yaml carries exactly what -o json does.
func TestYAMLMatchesJSON(t *testing.T) {
	dump, err := TranslateDump(goldenCases[0].opts)
	if err != nil {
		t.Fatal(err)
	}
	var js, ym bytes.Buffer
	o := RenderOptions{View: All, Output: JSON, Now: time.Unix(0, 0)}
	if err := Render(&js, dump, o); err != nil {
		t.Fatal(err)
	}
	o.Output = YAML
	if err := Render(&ym, dump, o); err != nil {
		t.Fatal(err)
	}
	var a, b any
	if err := json.Unmarshal(js.Bytes(), &a); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(ym.Bytes(), &b); err != nil {
		t.Fatal(err)
	}
	if diff := pretty.Compare(a, b); diff != "" {
		t.Errorf("yaml differs from json:\n%s", diff)
	}
}

func compareText(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		writeGolden(t, path, got)
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./pkg/proxyconfig -update)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs (-want +got):\n%s", path, pretty.Compare(string(want), string(got)))
	}
}

func compareJSON(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		writeGolden(t, path, got)
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./pkg/proxyconfig -update)", err)
	}
	var w, g any
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("rendered JSON does not parse: %v", err)
	}
	if diff := pretty.Compare(w, g); diff != "" {
		t.Errorf("%s differs semantically (-want +got):\n%s", path, diff)
	}
}

func writeGolden(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
