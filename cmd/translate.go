package cmd

import (
	"github.com/spf13/cobra"

	"skiff.dev/skiff/pkg/proxyconfig"
)

func newTranslateCmd(e *env) *cobra.Command {
	opts := proxyconfig.TranslateOptions{}
	var output string
	c := &cobra.Command{
		Use:   "translate -f FILE|DIR|- --proxy <workload> [view]",
		Short: "Show what a proxy would receive from the control plane, computed from YAML files",
		Long: `Loads Kubernetes and Istio YAML (Services, Pods, EndpointSlices, Secrets, the mesh
config in the "istio" ConfigMap, VirtualServices, DestinationRules, Gateways,
ServiceEntries, Sidecars, PeerAuthentications, AuthorizationPolicies,
RequestAuthentications, Telemetries), runs the control plane's translation for one proxy
and prints the result with the same views and flags as 'skiff proxy-config' (default view:
all). Other kinds are ignored. No cluster is needed, so a change can be reviewed before it
is applied.

--proxy names a Pod in the files (name or name.namespace) or the value of their app label;
with --labels it may name a workload the files do not contain. The proxy type is a
sidecar, or a router for pods labelled istio=ingressgateway/egressgateway; --type
overrides it (grpc: a proxyless gRPC client). The secret view shows the Secrets a gateway's
credentialName(s) name, read in the gateway pod's namespace, private keys [redacted];
workload certificates come from the node agent, not the control plane, so they are not
shown.`,
		Example: `  skiff x translate -f bookinfo.yaml --proxy productpage-v1 cluster
  skiff x translate -f k8s/,istio/ --proxy reviews.default route --name 9080
  skiff x translate -f gw.yaml --proxy istio-ingressgateway.istio-system --labels istio=ingressgateway listener
  kubectl get svc,pod,vs,dr -A -o yaml | skiff x translate -f - --proxy productpage -o yaml`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			view := proxyconfig.All
			if len(args) == 1 {
				v, err := proxyconfig.ParseView(args[0])
				if err != nil {
					return err
				}
				view = v
			}
			out, err := proxyconfig.ParseOutput(output)
			if err != nil {
				return err
			}
			opts.Streams = e.streams
			opts.Render.View, opts.Render.Output = view, out
			return proxyconfig.RunTranslate(c.Context(), opts)
		},
	}
	f := c.Flags()
	f.StringSliceVarP(&opts.Files, "filename", "f", nil, "YAML files or directories, comma-separated or repeated; - reads stdin")
	f.StringVar(&opts.Proxy, "proxy", "", "the workload: <pod>[.<namespace>] or an app label value")
	f.StringVar(&opts.Type, "type", "", "proxy type: sidecar, router or grpc (default: from the pod's labels)")
	f.StringToStringVar(&opts.Labels, "labels", nil, "the workload's labels, e.g. app=reviews,version=v2 (overrides the pod's)")
	addRenderFlags(f, &opts.Render.Filter, &output)
	return c
}
