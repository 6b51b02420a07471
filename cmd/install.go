package cmd

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"skiff.dev/skiff/pkg/install"
)

func newInstallCmd(e *env) *cobra.Command {
	opts := install.Options{}
	c := &cobra.Command{
		Use:   "install",
		Short: "Install or upgrade the mesh from a profile",
		Long: `Install renders a profile (default, demo, minimal, empty, or a file) with your overlays and
--set values, and applies it to the cluster with server-side apply (field manager "skiff"), one
component at a time: Skiff core (namespace, CRDs, RBAC, mesh config), the controller, ingress and
egress gateways, and the add-ons. It waits for each component's Deployments to be available
before the next, unless --wait=false; CRDs are always waited for until established, since later
objects may be instances of them. --timeout bounds the whole wait.

Running it again upgrades in place: objects an earlier install of the same installation created and
the new profile no longer has are pruned (found by Skiff's labels; unlabelled objects are never
touched). CRDs and namespaces are never pruned, only 'skiff uninstall' removes them.

It asks for confirmation unless -y; without a terminal, -y is required. --dry-run has the API
server validate every object (server-side dry run) and changes nothing. If a step fails, the
error names the components that were applied and those that were not; running install again
resumes.`,
		Example: `  # the demo profile, without asking
  skiff install --profile demo -y

  # customise with an overlay file and --set values (IstioOperator paths work)
  skiff install -f my-overlay.yaml --set values.global.proxy.resources.requests.cpu=50m -y

  # see whether the API server would accept it, changing nothing
  skiff install --profile demo --dry-run`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			opts.Streams = e.streams
			return install.Run(c.Context(), e.global, opts)
		},
	}
	addProfileFlags(c.Flags(), &opts.Profile)
	c.Flags().BoolVarP(&opts.Yes, "skip-confirmation", "y", false, "do not ask for confirmation (required without a terminal)")
	c.Flags().BoolVar(&opts.DryRun, "dry-run", false, "validate every object with the API server's dry run; change nothing")
	c.Flags().BoolVar(&opts.Wait, "wait", true, "wait for each component to be ready before the next")
	c.Flags().DurationVar(&opts.Timeout, "timeout", install.DefaultTimeout, "how long to wait for readiness in total")
	return c
}

// addProfileFlags binds the flags that select and customise a profile, shared by install and verify-install.
func addProfileFlags(fs *pflag.FlagSet, o *install.ProfileOptions) {
	fs.StringVar(&o.Profile, "profile", "", "built-in profile (default, demo, minimal, empty) or a profile file (default: an overlay's spec.profile, else default)")
	fs.StringArrayVarP(&o.Overlays, "filename", "f", nil, "overlay file (SkiffOperator or IstioOperator YAML), repeatable, applied in order")
	fs.StringArrayVarP(&o.Sets, "set", "s", nil, "set a profile value, path=value (e.g. spec.components.pilot.k8s.replicaCount=2), repeatable")
}
