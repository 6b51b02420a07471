package cmd

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"skiff.dev/skiff/pkg/errs"
	"skiff.dev/skiff/pkg/proxyconfig"
)

func newProxyConfigCmd(e *env) *cobra.Command {
	opts := proxyconfig.LiveOptions{}
	var output string
	views := strings.Join(proxyconfig.ViewNames(), "|")
	c := &cobra.Command{
		Use:     "proxy-config <" + views + "> <pod>|--file dump.json",
		Aliases: []string{"pc"},
		Short:   "Show the clusters, listeners, routes, endpoints or secrets a pod's Envoy is using",
		Long: `Reads the Envoy admin API's /config_dump?include_eds of a pod's istio-proxy (port 15000,
through a port-forward via the Kubernetes API server) and prints one view of it, like
'istioctl proxy-config':

  cluster    SERVICE FQDN, PORT, SUBSET, DIRECTION, TYPE, DESTINATION RULE
  listener   ADDRESS, PORT, MATCH, DESTINATION (one row per filter chain)
  route      NAME, VHOST NAME, DOMAINS, MATCH, VIRTUAL SERVICE (one row per route)
  endpoint   ENDPOINT, STATUS, OUTLIER CHECK, CLUSTER
  secret     RESOURCE NAME, TYPE, STATUS, VALID CERT, SERIAL NUMBER, NOT AFTER, NOT BEFORE
  all        every table above

-o json|yaml prints the selected resources instead (the whole dump for 'all'). OUTLIER
CHECK shows "-": outlier ejection is runtime state that the config dump does not carry.
--file renders a saved dump instead ('kubectl exec POD -c istio-proxy -- curl -s
localhost:15000/config_dump?include_eds > dump.json'). 'skiff x translate' prints the same
views computed offline from YAML files.`,
		Example: `  skiff proxy-config cluster productpage-v1-7d4d9bb8c4-x2x7q -n bookinfo
  skiff pc cluster productpage-v1-7d4d9bb8c4-x2x7q.bookinfo --fqdn reviews --subset v2
  skiff pc route productpage-v1-7d4d9bb8c4-x2x7q --name 9080 -o json
  skiff pc all istio-ingressgateway-5b7d9b4c8-abcde -n istio-system -o yaml
  skiff pc listener --file config_dump.json`,
		Args: func(_ *cobra.Command, args []string) error {
			if opts.File != "" {
				if len(args) != 1 {
					return errs.Usage("with --file, give only the view: skiff proxy-config <%s> --file dump.json", views)
				}
				return nil
			}
			if len(args) != 2 {
				return errs.Usage("proxy-config needs a view and a pod: skiff proxy-config <%s> <pod> [-n namespace] (or --file dump.json instead of the pod)", views)
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			view, err := proxyconfig.ParseView(args[0])
			if err != nil {
				return err
			}
			out, err := proxyconfig.ParseOutput(output)
			if err != nil {
				return err
			}
			opts.Global, opts.Streams = e.global, e.streams
			if len(args) == 2 {
				opts.Pod = args[1]
			}
			opts.Render.View, opts.Render.Output = view, out
			return proxyconfig.RunLive(c.Context(), opts)
		},
	}
	c.Flags().StringVar(&opts.File, "file", "", "read a saved Envoy /config_dump (JSON) instead of a pod's")
	addRenderFlags(c.Flags(), &opts.Render.Filter, &output)
	return c
}

// addRenderFlags declares the output and filter flags that proxy-config and x translate share.
func addRenderFlags(f *pflag.FlagSet, filter *proxyconfig.Filter, output *string) {
	f.StringVarP(output, "output", "o", "short", "output format: short, json or yaml")
	f.StringVar(&filter.FQDN, "fqdn", "", "clusters: only this service hostname (reviews, reviews.default or the full FQDN)")
	f.IntVar(&filter.Port, "port", 0, "clusters, listeners, endpoints: only this port")
	f.StringVar(&filter.Subset, "subset", "", "clusters: only this DestinationRule subset")
	f.StringVar(&filter.Direction, "direction", "", "clusters: only inbound or outbound")
	f.StringVar(&filter.Name, "name", "", "routes: only the route configuration of this name (e.g. 9080)")
	f.StringVar(&filter.Cluster, "cluster", "", "endpoints: only the endpoints of this cluster")
	f.StringVar(&filter.Address, "address", "", "listeners, endpoints: only this IP address")
}
