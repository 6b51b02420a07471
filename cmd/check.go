package cmd

import (
	"github.com/spf13/cobra"

	"skiff.dev/skiff/pkg/check"
)

func newCheckCmd(e *env) *cobra.Command {
	opts := check.Options{}
	c := &cobra.Command{
		Use:   "check",
		Short: "Check the health of the installed mesh",
		Long: `Check runs a set of health checks against the mesh installed in the mesh namespace and prints
one line per check, grouped, each with a stable name:
  skiff-controller-ready      the istiod Deployment has all its replicas ready
  skiff-webhooks-configured   the injector and validation webhooks exist and call the istiod Service
  skiff-webhooks-ca-bundle    every webhook has a caBundle of valid certificates
  skiff-webhook-cert-expiry   the caBundle is valid for 30+ more days, and the certificate the webhook
                              serves (read through a port-forward) chains to it
  skiff-crds-served           every Istio CRD Skiff installs is established and served
  skiff-root-cert-expiry      the mesh root certificate is valid for 30+ more days
  skiff-version-skew          client, controller and proxies are at most one minor release apart
  skiff-proxies-synced        no connected proxy is STALE (read from the controller's /debug/syncz)
A failed check (✘) or warning (!) prints a hint and its section of docs/checks.md. Warnings do
not change the exit code; any failed check makes it non-zero.

With --pre, it runs the pre-install checks instead (the same as 'skiff x precheck'); --profile, -f
and --set, which only matter with --pre, choose what its permission check covers.`,
		Example: `  # after 'skiff install'
  skiff check

  # machine-readable: {"checks":[{"name","group","status":"ok|warning|error","message","hint","docs"}],...}
  skiff check -o json

  # before installing: Kubernetes version, permissions, no Istio in the way
  skiff check --pre --profile demo`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			opts.Out = e.streams.Out
			return check.Run(c.Context(), e.global, opts)
		},
	}
	c.Flags().BoolVar(&opts.Pre, "pre", false, "run the pre-install checks instead of checking an installation")
	c.Flags().StringVarP(&opts.Output, "output", "o", "", "output format: json (default: one line per check)")
	addProfileFlags(c.Flags(), &opts.Profile)
	return c
}
