// Package docs generates Skiff's reference documentation from the code, so it cannot drift.
package docs

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// WriteCLIReference writes one Markdown file per command into dir, removing stale ones.
func WriteCLIReference(root *cobra.Command, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	old, _ := filepath.Glob(filepath.Join(dir, "skiff*.md"))
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			return err
		}
	}
	root.DisableAutoGenTag = true
	return doc.GenMarkdownTreeCustom(root, dir, func(string) string { return "" }, func(name string) string {
		return strings.ToLower(name)
	})
}
