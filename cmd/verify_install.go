package cmd

import (
	"github.com/spf13/cobra"

	"skiff.dev/skiff/pkg/install"
)

func newVerifyInstallCmd(e *env) *cobra.Command {
	opts := install.VerifyOptions{}
	c := &cobra.Command{
		Use:   "verify-install",
		Short: "Check that the cluster matches the profile",
		Long: `Verify-install renders the profile (with the same --profile, -f and --set as install) and
compares every object with the cluster. It lists each object that is missing or has drifted, with
the fields that differ; drift is what 'kubectl diff' would show for the rendered manifest, so
defaults the API server fills in are not drift, while a field the profile sets and someone changed
is. Objects an earlier install of the same installation created that the profile no longer has
are listed as stale ('skiff install' prunes them). It exits non-zero when anything is missing,
drifted or stale.`,
		Example: `  # after 'skiff install --profile demo'
  skiff verify-install --profile demo

  # with the same customisations the install used
  skiff verify-install -f my-overlay.yaml --set spec.components.pilot.k8s.replicaCount=2`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			opts.Streams = e.streams
			return install.RunVerify(c.Context(), e.global, opts)
		},
	}
	addProfileFlags(c.Flags(), &opts.Profile)
	return c
}
