package cmd

import "github.com/spf13/cobra"

// newExperimentalCmd groups commands whose interface may still change, like istioctl's `x`.
func newExperimentalCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:     "x",
		Aliases: []string{"experimental"},
		Short:   "Experimental commands whose flags may still change",
	}
	c.AddCommand(experimentalCommands(e)...)
	return c
}

// experimentalCommands lists the subcommands of `skiff x`; one line per command keeps edits apart.
func experimentalCommands(e *env) []*cobra.Command {
	return []*cobra.Command{
		newPrecheckCmd(e),
		newUninjectCmd(e),
		newTranslateCmd(e),
		newDescribeCmd(e),
		newGraphCmd(e),
	}
}
