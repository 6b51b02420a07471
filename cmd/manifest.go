package cmd

import (
	"github.com/spf13/cobra"

	"skiff.dev/skiff/pkg/install"
)

func newManifestCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "manifest",
		Short: "Render the mesh's Kubernetes objects without touching a cluster",
		Long: `Manifest commands work offline: they resolve a profile with your overlays and --set values and
render the Kubernetes objects 'skiff install' would apply.`,
		Example: `  skiff manifest generate --profile demo > skiff-demo.yaml`,
	}
	c.AddCommand(newManifestGenerateCmd(e))
	return c
}

func newManifestGenerateCmd(e *env) *cobra.Command {
	opts := install.GenerateOptions{}
	c := &cobra.Command{
		Use:   "generate",
		Short: "Print every Kubernetes object a profile installs, ready for kubectl apply",
		Long: `Generate renders a profile (default, demo, minimal, empty, or a file) with your -f overlays and
--set values into the Kubernetes objects the mesh needs: the namespace, the CRDs of every Istio kind
Skiff accepts, the controller (istiod) with its RBAC, mesh and injector ConfigMaps and webhooks, the
gateways and the add-ons. Every object carries Skiff's install labels.

Output is deterministic multi-document YAML on stdout, ordered for apply (namespace and CRDs first,
webhook configurations last). With -o DIR, each component goes to its own numbered file
(01-base.yaml, 02-controller.yaml, ...), so 'kubectl apply -f DIR' applies them in order.

Nothing is read from or written to a cluster.`,
		Example: `  # everything the demo profile installs
  skiff manifest generate --profile demo

  # one file per component, with two replicas of the controller
  skiff manifest generate --set components.pilot.k8s.replicaCount=2 -o ./manifests

  # an IstioOperator overlay from an existing runbook
  skiff manifest generate -f istio-operator.yaml | kubectl apply --server-side -f -`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			opts.Out = e.streams.Out
			return install.GenerateManifests(opts)
		},
	}
	addProfileFlags(c.Flags(), &opts.Profile)
	c.Flags().StringVarP(&opts.OutputDir, "output", "o", "", "write one file per component into this directory instead of stdout")
	return c
}
