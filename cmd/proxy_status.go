package cmd

import (
	"github.com/spf13/cobra"

	"skiff.dev/skiff/pkg/proxystatus"
)

func newProxyStatusCmd(e *env) *cobra.Command {
	opts := proxystatus.Options{}
	c := &cobra.Command{
		Use:     "proxy-status [pod[.namespace] | node-id]",
		Aliases: []string{"ps"},
		Short:   "Show whether each proxy has applied the newest configuration (CDS, LDS, EDS, RDS)",
		Long: `Reads the controller's /debug/syncz (port 15014 of every ready istiod pod in the mesh namespace,
through port-forwards via the Kubernetes API server) and prints one row per connected proxy, like
'istioctl proxy-status': NAME, one column per xDS type (CDS, LDS, EDS, RDS; SDS when served), the
ISTIOD pod the proxy is connected to, and the proxy VERSION.

Each type is one of:
  SYNCED     the proxy acknowledged the last configuration sent
  STALE      the last configuration sent is not acknowledged yet, or the proxy rejected it (NACK)
  NOT SENT   nothing of that type was sent (the proxy did not ask, or waits for it)

With a proxy (pod name, pod.namespace or node ID) it shows that proxy's detail: per type the
version and nonce sent and acknowledged, when, and the error message of a rejection.

proxy-status is informational: it exits 0 even when proxies are STALE ('skiff check' fails on
them). It exits non-zero only when it cannot read the status: the cluster is unreachable, no ready
controller is installed, or the named proxy is not connected.`,
		Example: `  skiff proxy-status
  skiff ps productpage-v1-7d4d9bb8c4-x2x7q.bookinfo
  skiff proxy-status productpage-v1-7d4d9bb8c4-x2x7q -n bookinfo

  # machine-readable, the /debug/syncz document of every replica merged:
  # {"controller","proxies":[{"id","cluster","namespace","pod","version","controller",
  #   "sync":{"CDS":"SYNCED",...},"types":{"CDS":{"typeUrl","protocol","status","sentVersion",
  #   "sentNonce","sentAt","ackedVersion","ackedNonce","ackedAt","error","lastNack"},...}}]}
  skiff proxy-status -o json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Global, opts.Streams = e.global, e.streams
			if len(args) == 1 {
				opts.Proxy = args[0]
			}
			return proxystatus.Run(c.Context(), opts)
		},
	}
	c.Flags().StringVarP(&opts.Output, "output", "o", proxystatus.OutputShort, "output format: short (a table) or json (the /debug/syncz document)")
	return c
}
