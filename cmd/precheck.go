package cmd

import (
	"github.com/spf13/cobra"

	"skiff.dev/skiff/pkg/precheck"
)

func newPrecheckCmd(e *env) *cobra.Command {
	opts := precheck.Options{}
	c := &cobra.Command{
		Use:   "precheck",
		Short: "Check that the cluster can take a Skiff installation",
		Long: `Precheck runs, without changing anything:
  - Kubernetes version: the API server is ` + precheck.MinKubernetes + ` or newer;
  - Permissions: you may get, create, patch and delete every resource the profile installs, in its
    namespace or at cluster scope, and list it across namespaces (SelfSubjectAccessReview);
  - Existing Istio: no istiod Deployment and no istio.io CRDs that Skiff did not install.
Each check prints one line, with a hint when it fails; the exit code is non-zero when any fails.`,
		Example: `  skiff x precheck

  # check the permissions for exactly what the demo profile installs
  skiff x precheck --profile demo`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			opts.Out = e.streams.Out
			return precheck.Run(c.Context(), e.global, opts)
		},
	}
	addProfileFlags(c.Flags(), &opts.Profile)
	return c
}
