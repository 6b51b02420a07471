package cmd

import (
	"github.com/spf13/cobra"

	"skiff.dev/skiff/pkg/describe"
	"skiff.dev/skiff/pkg/errs"
)

func newDescribeCmd(e *env) *cobra.Command {
	opts := describe.Options{}
	c := &cobra.Command{
		Use:   "describe pod|service NAME",
		Short: "Explain the routing, mTLS and policy that apply to a pod or service",
		Long: `describe explains how the mesh treats one pod or service, from the same model the control
plane serves:

  - the Services selecting the pod, their ports and protocols;
  - whether the pod has a sidecar (the sidecar.istio.io/status annotation);
  - the inbound mTLS mode per port, after PeerAuthentication precedence (port level, workload,
    namespace, mesh), and what clients send: the DestinationRule's TLS mode or auto mTLS;
  - the VirtualService rules whose destinations reach the pod, with their matches and weights;
  - the DestinationRule, its subsets (and which match the pod) and traffic policy highlights:
    load balancing, connection pool limits, outlier detection;
  - the AuthorizationPolicies selecting it, with their action and rule count.

For a service the same is shown from the service's side, with its pods per subset.

The mesh is read from files and directories given with -f, or from the cluster when there are
none. NAME may be written NAME.NAMESPACE; without -n every namespace is searched and a name found
in several of them must be qualified. Exit code 1 when the object does not exist.`,
		Example: `  # Describe a pod in the cluster
  skiff x describe pod reviews-v2-7d8f9c-x2x9k -n bookinfo

  # Describe a service from configuration files, before applying them
  skiff x describe svc reviews -f bookinfo/ -f canary.yaml`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 2 {
				return errs.Usage("expected a kind and a name, as in 'describe pod reviews-v1'; got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			opts.Global, opts.Stdin, opts.Out = e.global, e.streams.In, e.streams.Out
			opts.Kind, opts.Name = args[0], args[1]
			return describe.Run(c.Context(), opts)
		},
	}
	c.Flags().StringArrayVarP(&opts.Files, "filename", "f", nil, "read the mesh from this file or directory, - for stdin (repeatable; default: the cluster)")
	return c
}
