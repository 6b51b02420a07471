package cmd

import (
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"skiff.dev/skiff/pkg/agent"
)

func newAgentCmd(e *env) *cobra.Command {
	opts := agent.CommandOptions{}
	c := &cobra.Command{
		Use:   "agent",
		Short: "Run the per-workload agent: workload certificates, SDS for Envoy, and xDS bootstraps",
		Long: `Agent runs next to a workload (what pilot-agent is to Istio). It proves the pod's identity to
the controller's certificate authority with its projected ServiceAccount token (audience istio-ca),
writes key.pem, cert-chain.pem and root-cert.pem to --output-dir, and renews them at half their
lifetime. The CA is authenticated with the mesh root from the istio-ca-root-cert ConfigMap.

With --sds-socket it serves the same certificates to the local Envoy over SDS (secrets "default"
and "ROOTCA", as the controller's xDS names them) and pushes each renewal.

With --envoy-bootstrap it writes the sidecar's Envoy bootstrap: Istio's node ID, ADS over TLS to
--ca-addr (verified with --root-cert) and the sds-grpc cluster on --sds-socket.

With --grpc-bootstrap it also writes the xDS bootstrap for proxyless gRPC applications (point
GRPC_XDS_BOOTSTRAP at it); its file_watcher certificate provider reads the agent's certificates.
The pod's name, namespace and IP come from POD_NAME, POD_NAMESPACE and INSTANCE_IP.

The proxy image's entrypoint is "skiff agent": injected pods run "proxy sidecar" in istio-proxy and
"iptables" in istio-init, gateways run "proxy router", and the lifecycle hooks call "wait" and
"request".`,
		Example: `  # proxyless gRPC pod: certificates and a bootstrap for its gRPC clients and servers
  skiff agent --output-dir /var/run/skiff/certs --grpc-bootstrap /var/run/skiff/grpc-bootstrap.json

  # sidecar pod: SDS for Envoy and its bootstrap
  skiff agent --sds-socket /var/run/secrets/workload-spiffe-uds/socket --envoy-bootstrap /etc/istio/proxy/envoy-rev.json`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			opts.Getenv = os.Getenv
			opts.Err = e.streams.Err
			return agent.RunCommand(c.Context(), opts)
		},
	}
	f := c.Flags()
	certFlags(f, &opts.Options, "istiod.istio-system.svc:15012", "/var/run/skiff/certs")
	f.StringVar(&opts.GRPCBootstrap, "grpc-bootstrap", "", "write the proxyless gRPC xDS bootstrap to this path")
	f.StringVar(&opts.SDSSocket, "sds-socket", "", "serve the certificates to Envoy over SDS on this Unix socket (Istio uses /var/run/secrets/workload-spiffe-uds/socket)")
	f.StringVar(&opts.EnvoyBootstrap, "envoy-bootstrap", "", "write the sidecar's Envoy bootstrap to this path (needs --sds-socket; xDS over TLS from --ca-addr)")
	f.StringVar(&opts.Bootstrap.XDSAddr, "xds-addr", "istiod.istio-system.svc:15010", "the controller's xDS address, for the gRPC bootstrap")
	logFlags(f, &opts.LogLevel, &opts.LogAsJSON)
	c.AddCommand(newAgentProxyCmd(e), newAgentIptablesCmd(e), newAgentWaitCmd(e), newAgentRequestCmd(e))
	return c
}

// certFlags are the certificate flags `skiff agent` and `skiff agent proxy` share.
func certFlags(f *pflag.FlagSet, o *agent.Options, caAddr, outputDir string) {
	f.StringVar(&o.CAAddr, "ca-addr", caAddr, "the controller's TLS address (certificate authority)")
	f.StringVar(&o.ServerName, "ca-server-name", "", "name the CA's certificate must carry (default: the host of --ca-addr)")
	f.StringVar(&o.RootCert, "root-cert", "/var/run/secrets/istio/root-cert.pem", "mesh root certificate (the istio-ca-root-cert ConfigMap)")
	f.StringVar(&o.TokenFile, "token", "/var/run/secrets/tokens/istio-token", "projected ServiceAccount token for audience istio-ca")
	f.StringVar(&o.OutputDir, "output-dir", outputDir, "directory for key.pem, cert-chain.pem and root-cert.pem")
	f.DurationVar(&o.CertTTL, "cert-ttl", 24*time.Hour, "requested certificate lifetime")
}

func logFlags(f *pflag.FlagSet, level *string, asJSON *bool) {
	f.StringVar(level, "log_output_level", "default:info", "log level, Istio style: default:<debug|info|warn|error>")
	f.BoolVar(asJSON, "log_as_json", false, "write logs as JSON")
}
