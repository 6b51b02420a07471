package analyze

import (
	"os"
	"path/filepath"
	"testing"

	"skiff.dev/skiff/internal/fastyaml/fastyamltest"
	"skiff.dev/skiff/pkg/analyze/internal/benchdata"
)

// The fast YAML parser (internal/fastyaml, its edge cases and fuzz targets live there) builds yaml.v3's
// tree for every document of the analyzer's corpus, and takes the fast path for most of them.
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
			if fastyamltest.CheckParse(t, c.data) {
				fast++
			}
		}
	}
	// The generated benchmark data and the bookinfo samples are plain manifests: most documents take the fast path.
	if fast*10 < total*8 {
		t.Errorf("fast path taken for only %d of %d documents", fast, total)
	}
}
