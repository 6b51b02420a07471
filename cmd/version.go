package cmd

import (
	"github.com/spf13/cobra"

	"skiff.dev/skiff/pkg/version"
)

func newVersionCmd(e *env) *cobra.Command {
	opts := version.Options{}
	c := &cobra.Command{
		Use:   "version",
		Short: "Print the client version, and the control plane's with --remote",
		Example: `  skiff version
  skiff version --remote -o json`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			opts.Global = e.global
			opts.Out = e.streams.Out
			return version.Run(c.Context(), opts)
		},
	}
	c.Flags().BoolVar(&opts.Remote, "remote", false, "also read the control plane's version from the cluster")
	c.Flags().StringVarP(&opts.Output, "output", "o", "short", "output format: short|json|yaml")
	return c
}
