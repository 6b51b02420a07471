package analyze

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestGoldenBookinfo analyses Skiff's own bookinfo equivalents (services, deployments, gateway, destination
// rules and the all-v1, 50/50 and v3 routes) and compares with testdata/bookinfo.golden.json semantically.
func TestGoldenBookinfo(t *testing.T) {
	cases := map[string][]string{
		"all-v1":          {"bookinfo.yaml", "bookinfo-gateway.yaml", "destination-rule-all.yaml", "virtual-service-all-v1.yaml"},
		"50-v3":           {"bookinfo.yaml", "bookinfo-gateway.yaml", "destination-rule-all.yaml", "virtual-service-reviews-50-v3.yaml"},
		"v3":              {"bookinfo.yaml", "destination-rule-all.yaml", "virtual-service-reviews-v3.yaml"},
		"networking-only": {"bookinfo-gateway.yaml", "destination-rule-all.yaml", "virtual-service-all-v1.yaml"},
	}
	got := map[string][]jsonMessage{}
	for name, files := range cases {
		var paths []string
		for _, f := range files {
			paths = append(paths, filepath.Join("testdata", "bookinfo", f))
		}
		got[name] = toJSONMessages(analyzeOptions(t, offline(paths...)).Messages)
	}
	golden := filepath.Join("testdata", "bookinfo.golden.json")
	if *update {
		b, _ := json.MarshalIndent(got, "", "  ")
		if err := os.WriteFile(golden, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	var want, have map[string][]map[string]any
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	hb, _ := json.Marshal(got)
	_ = json.Unmarshal(hb, &have)
	for name := range cases {
		if !reflect.DeepEqual(want[name], have[name]) {
			t.Errorf("%s differs from the golden file (go test ./pkg/analyze -run Golden -update):\n%s", name, diffMessages(want[name], have[name]))
		}
	}
}

func diffMessages(want, got []map[string]any) string {
	line := func(m map[string]any) string {
		b, _ := json.Marshal(m)
		return string(b)
	}
	set := func(ms []map[string]any) map[string]bool {
		s := map[string]bool{}
		for _, m := range ms {
			s[line(m)] = true
		}
		return s
	}
	w, g := set(want), set(got)
	var buf bytes.Buffer
	for k := range w {
		if !g[k] {
			buf.WriteString("- " + k + "\n")
		}
	}
	for k := range g {
		if !w[k] {
			buf.WriteString("+ " + k + "\n")
		}
	}
	if buf.Len() == 0 {
		return "(same messages, different order)"
	}
	return strings.TrimSpace(buf.String())
}
