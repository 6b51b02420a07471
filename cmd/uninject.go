package cmd

import (
	"github.com/spf13/cobra"

	"skiff.dev/skiff/pkg/inject/kubeinject"
)

func newUninjectCmd(e *env) *cobra.Command {
	opts := kubeinject.UninjectOptions{}
	c := &cobra.Command{
		Use:   "uninject -f FILE|DIR|-",
		Short: "Remove the sidecar that kube-inject added, exactly",
		Long: `uninject reverses 'skiff kube-inject' (and Istio-style injection recorded in the
sidecar.istio.io/status annotation): it removes the injected init containers, the
istio-proxy container, the volumes and image pull secrets, restores rewritten
application probes, and removes the labels and annotations injection added.
Documents without the status annotation pass through unchanged.`,
		Example: `  skiff x uninject -f app-injected.yaml > app.yaml
  kubectl get deploy web -o yaml | skiff x uninject -f - | kubectl apply -f -`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			opts.Streams = e.streams
			return kubeinject.Uninject(c.Context(), opts)
		},
	}
	c.Flags().StringVarP(&opts.Filename, "filename", "f", "", "manifest to uninject: a file, a directory, or - for stdin")
	c.Flags().StringVarP(&opts.Output, "output", "o", "", "write the result to this file instead of stdout")
	return c
}
