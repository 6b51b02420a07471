package cmd

import (
	"github.com/spf13/cobra"

	"skiff.dev/skiff/pkg/install"
)

func newProfileCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "profile",
		Short: "List, show and compare install profiles",
		Long: `A profile is a named starting point for an installation: which components are on (controller,
gateways, add-ons) and their settings, in IstioOperator's shape (spec.components, spec.values,
spec.meshConfig). Built-in profiles are default, demo, minimal and empty; any command that takes
--profile also accepts a profile file, and -f overlays and --set values on top.`,
		Example: `  skiff profile list
  skiff profile dump demo
  skiff profile diff default demo`,
	}
	c.AddCommand(newProfileListCmd(e), newProfileDumpCmd(e), newProfileDiffCmd(e))
	return c
}

func newProfileListCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List the built-in profiles",
		Long:    `List prints each built-in profile with a one-line description.`,
		Example: `  skiff profile list`,
		Args:    cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			return install.ListProfiles(e.streams.Out)
		},
	}
}

func newProfileDumpCmd(e *env) *cobra.Command {
	opts := install.DumpOptions{}
	c := &cobra.Command{
		Use:   "dump [profile]",
		Short: "Print a profile fully resolved, with overlays and --set values applied",
		Long: `Dump resolves a profile (built-in name or file; default when left out) on top of the profiles
it is layered on, applies -f overlays and --set values, and prints the result: exactly the
configuration 'skiff install' and 'skiff manifest generate' would use.`,
		Example: `  skiff profile dump demo
  skiff profile dump --set values.global.proxy.logLevel=debug -o json
  skiff profile dump minimal -f my-overlay.yaml`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Profile.Profile = args[0]
			}
			opts.Out = e.streams.Out
			return install.DumpProfile(opts)
		},
	}
	c.Flags().StringArrayVarP(&opts.Profile.Overlays, "filename", "f", nil, "overlay file (SkiffOperator or IstioOperator YAML), repeatable, applied in order")
	c.Flags().StringArrayVarP(&opts.Profile.Sets, "set", "s", nil, "set a profile value, path=value, repeatable")
	c.Flags().StringVarP(&opts.Output, "output", "o", "yaml", "output format: yaml|json")
	return c
}

func newProfileDiffCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "diff <profile> <profile>",
		Short: "Show the settings that differ between two profiles",
		Long: `Diff resolves two profiles (built-in names or files) and prints each path whose value differs:
"~ path: a → b" for a changed value, "+ path" for one only the second has, "- path" for one only
the first has. Gateways are matched by name.`,
		Example: `  skiff profile diff default demo
  skiff profile diff default ./my-profile.yaml`,
		Args: cobra.ExactArgs(2),
		RunE: func(_ *cobra.Command, args []string) error {
			return install.DiffProfiles(install.DiffOptions{
				A:   install.ProfileOptions{Profile: args[0]},
				B:   install.ProfileOptions{Profile: args[1]},
				Out: e.streams.Out,
			})
		},
	}
}
