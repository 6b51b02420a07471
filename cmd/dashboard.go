package cmd

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"skiff.dev/skiff/pkg/dashboard"
)

func newDashboardCmd(e *env) *cobra.Command {
	opts := dashboard.Options{}
	run := func(c *cobra.Command, addon string, args []string) error {
		opts.Global, opts.Streams, opts.Addon = e.global, e.streams, addon
		if len(args) == 1 {
			opts.Pod = args[0]
		}
		if c.Flags().Changed("namespace") {
			opts.Namespace = e.global.Namespace
		}
		return dashboard.Run(c.Context(), opts)
	}
	c := &cobra.Command{
		Use:     "dashboard <" + strings.Join(dashboard.AddonNames(), "|") + ">",
		Aliases: []string{"dash", "d"},
		Short:   "Open a mesh UI (Kiali, Jaeger, Grafana, Prometheus, Envoy admin, ControlZ) through a port-forward",
		Long: `Finds the UI's pod by its labels (in the mesh namespace, or -n), forwards a free local port to it
through the Kubernetes API server, prints the URL and opens your browser. Stays until Ctrl-C.`,
		Example: `  skiff dashboard kiali
  skiff dashboard grafana -p 3000 --browser=false
  skiff dashboard envoy productpage-v1-7d4d9bb8c4-x2x7q -n bookinfo
  skiff dashboard prometheus --address 0.0.0.0`,
		Args: cobra.ArbitraryArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return c.Help()
			}
			return run(c, args[0], args[1:])
		},
	}
	for _, name := range dashboard.AddonNames() {
		a := dashboard.Addons()[name]
		use, short, args := name, fmt.Sprintf("Open the %s UI", name), cobra.MaximumNArgs(1)
		if a.Selector == "" {
			use, short, args = name+" <pod>", "Open a sidecar's Envoy admin UI", cobra.ExactArgs(1)
		}
		c.AddCommand(&cobra.Command{
			Use: use, Short: short, Args: args,
			Example: fmt.Sprintf("  skiff dashboard %s", use),
			RunE:    func(c *cobra.Command, args []string) error { return run(c, a.Name, args) },
		})
	}
	f := c.PersistentFlags()
	f.IntVarP(&opts.Port, "port", "p", 0, "local port to listen on (default: a free port)")
	f.StringVar(&opts.Address, "address", "localhost", "local address to listen on")
	f.BoolVar(&opts.Browser, "browser", true, "open the URL in a browser")
	f.StringVarP(&opts.Selector, "selector", "l", "", "label selector of the pod to forward to (overrides the addon's)")
	return c
}
