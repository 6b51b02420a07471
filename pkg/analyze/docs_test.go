package analyze

import (
	"os"
	"path/filepath"
	"testing"
)

// TestDocsUpToDate fails when docs/analyzers drifts from the catalogue; fix with `go generate ./pkg/analyze`.
func TestDocsUpToDate(t *testing.T) {
	dir := filepath.Join("..", "..", DocsDir)
	pages := RenderDocs()
	for name, content := range pages {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || string(b) != content {
			t.Errorf("%s/%s is missing or stale: run go generate ./pkg/analyze", DocsDir, name)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.md"))
	for _, f := range files {
		if _, ok := pages[filepath.Base(f)]; !ok {
			t.Errorf("%s has no message type: run go generate ./pkg/analyze", f)
		}
	}
	for _, mt := range Catalogue() {
		if _, ok := pages[mt.Code+".md"]; !ok {
			t.Errorf("no page for %s", mt.Code)
		}
	}
}
