package describe

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"skiff.dev/skiff/pkg/config"
)

var update = flag.Bool("update", false, "rewrite golden files")

// goldenCases describe objects of testdata/bookinfo: a 90/10 canary on reviews with a header match to v2,
// a namespace-wide STRICT PeerAuthentication with a PERMISSIVE port on productpage, AuthorizationPolicies, a ratings DestinationRule that
// disables TLS (a conflict with STRICT) and a details pod without a sidecar.
var goldenCases = []struct{ golden, kind, name string }{
	{"pod-reviews-v1.txt", "pod", "reviews-v1-545db7"},
	{"pod-reviews-v2.txt", "pod", "reviews-v2-7bf8c9"},
	{"pod-ratings.txt", "po", "ratings-v1-b6994b.bookinfo"},
	{"pod-details.txt", "pod", "details-v1-79f774"},
	{"pod-productpage.txt", "pod", "productpage-v1-6b746f"},
	{"service-reviews.txt", "service", "reviews"},
	{"service-productpage.txt", "svc", "productpage"},
}

func TestGoldenDescribe(t *testing.T) {
	for _, c := range goldenCases {
		t.Run(c.golden, func(t *testing.T) {
			got := describeFiles(t, c.kind, c.name, filepath.Join("testdata", "bookinfo"))
			compareGolden(t, filepath.Join("testdata", "golden", c.golden), got)
		})
	}
	t.Run("no selector", func(t *testing.T) {
		got := describeFiles(t, "svc", "legacy-db", filepath.Join("testdata", "no-selector"))
		compareGolden(t, filepath.Join("testdata", "golden", "service-no-selector.txt"), got)
	})
	t.Run("undefined subset", func(t *testing.T) {
		for _, c := range []struct{ golden, kind, name string }{
			{"pod-details-undefined-subset.txt", "pod", "details-v1-79f774"},
			{"service-details-undefined-subset.txt", "svc", "details"},
		} {
			got := describeFiles(t, c.kind, c.name, filepath.Join("testdata", "bookinfo"), filepath.Join("testdata", "undefined-subset"))
			compareGolden(t, filepath.Join("testdata", "golden", c.golden), got)
		}
	})
}

// TestGoldenDeployments describes files that hold Deployments instead of pods, without namespaces: the
// pod templates stand in for pods, injection follows the Namespace label and the opt-out annotation.
func TestGoldenDeployments(t *testing.T) {
	for _, c := range []struct{ golden, kind, name string }{
		{"deploy-pod-web-v1.txt", "pod", "web-v1"},
		{"deploy-pod-web-legacy.txt", "pod", "web-legacy.default"},
		{"deploy-service-web.txt", "svc", "web"},
	} {
		t.Run(c.golden, func(t *testing.T) {
			got := describeFiles(t, c.kind, c.name, filepath.Join("testdata", "deployments", "app.yaml"))
			compareGolden(t, filepath.Join("testdata", "golden", c.golden), got)
		})
	}
}

func describeFiles(t *testing.T, kind, name string, files ...string) string {
	t.Helper()
	var out bytes.Buffer
	o := Options{Source: Source{Files: files, Global: config.Global{MeshNamespace: "istio-system"}}, Kind: kind, Name: name, Out: &out}
	if err := Run(t.Context(), o); err != nil {
		t.Fatalf("describe %s %s: %v", kind, name, err)
	}
	return out.String()
}

// compareGolden compares line by line and reports the differing lines, or rewrites the file with -update.
func compareGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./pkg/describe -update to create it)", err)
	}
	if d := lineDiff(string(b), got); d != "" {
		t.Errorf("output differs from %s (go test ./pkg/describe -update rewrites it):\n%s", path, d)
	}
}

// lineDiff lists the lines that differ position by position: "-" golden, "+" got.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  - %s\n  + %s\n", i+1, wl, gl)
		}
	}
	return b.String()
}
