package cmd

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"skiff.dev/skiff/pkg/docs"
	"skiff.dev/skiff/pkg/ui"
)

// TestCLIReferenceUpToDate fails when docs/cli no longer matches the commands; fix with `go run . gen-docs`.
func TestCLIReferenceUpToDate(t *testing.T) {
	tmp := t.TempDir()
	var buf bytes.Buffer
	if err := docs.WriteCLIReference(NewRoot(ui.Streams{Out: &buf, Err: &buf}), tmp); err != nil {
		t.Fatal(err)
	}
	want, _ := filepath.Glob(filepath.Join(tmp, "*.md"))
	have, _ := filepath.Glob(filepath.Join("..", "docs", "cli", "*.md"))
	if len(want) != len(have) {
		t.Fatalf("docs/cli has %d files, the commands need %d; run `go run . gen-docs`", len(have), len(want))
	}
	for _, w := range want {
		exp, _ := os.ReadFile(w)
		got, err := os.ReadFile(filepath.Join("..", "docs", "cli", filepath.Base(w)))
		if err != nil || !bytes.Equal(exp, got) {
			t.Errorf("docs/cli/%s is stale; run `go run . gen-docs`", filepath.Base(w))
		}
	}
}
