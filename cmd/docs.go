package cmd

import (
	"github.com/spf13/cobra"

	"skiff.dev/skiff/pkg/docs"
)

func newDocsCmd() *cobra.Command {
	var dir string
	c := &cobra.Command{
		Use:    "gen-docs",
		Short:  "Write the CLI reference (Markdown) to a directory",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return docs.WriteCLIReference(c.Root(), dir)
		},
	}
	c.Flags().StringVar(&dir, "dir", "docs/cli", "directory to write into")
	return c
}
