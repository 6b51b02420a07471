package cmd

import (
	"github.com/spf13/cobra"

	"skiff.dev/skiff/pkg/install"
)

func newUninstallCmd(e *env) *cobra.Command {
	opts := install.UninstallOptions{}
	c := &cobra.Command{
		Use:   "uninstall",
		Short: "Remove the mesh that 'skiff install' created",
		Long: `Uninstall removes exactly the objects 'skiff install' created, found by their labels
(app.kubernetes.io/managed-by=skiff and skiff.dev/installation), in the reverse of install order,
and waits for them to be gone. Nothing without those labels is touched.

The CustomResourceDefinitions are KEPT unless --purge: deleting a CRD deletes every resource of
its kind in the cluster, so --purge also removes all VirtualServices, DestinationRules,
AuthorizationPolicies, ... The mesh namespace is removed only when nothing but Skiff's objects
was in it; otherwise it is kept and the output says what is still there. Deleting a namespace is
finished by the cluster's namespace controller; if it is still terminating when --timeout runs
out, uninstall says so rather than failing.`,
		Example: `  # remove the control plane, gateways and add-ons; keep the CRDs and your Istio resources
  skiff uninstall -y

  # remove everything, including the CRDs and every Istio resource in the cluster
  skiff uninstall --purge -y`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			opts.Streams = e.streams
			return install.RunUninstall(c.Context(), e.global, opts)
		},
	}
	c.Flags().BoolVar(&opts.Purge, "purge", false, "also remove the CRDs, deleting every Istio resource in the cluster")
	c.Flags().BoolVarP(&opts.Yes, "skip-confirmation", "y", false, "do not ask for confirmation (required without a terminal)")
	c.Flags().StringVarP(&opts.Installation, "revision", "r", "default", "the installation to remove (the profile's spec.revision)")
	c.Flags().DurationVar(&opts.Timeout, "timeout", install.DefaultTimeout, "how long to wait for the objects to be gone")
	return c
}
