package cmd

import (
	"os"
	"time"

	"github.com/spf13/cobra"

	"skiff.dev/skiff/pkg/agent"
)

func newAgentProxyCmd(e *env) *cobra.Command {
	opts := agent.ProxyOptions{}
	c := &cobra.Command{
		Use:   "proxy sidecar|router",
		Short: "Run Envoy with its certificates, bootstrap and the status port (the istio-proxy container)",
		Long: `Proxy is what the injected istio-proxy container (sidecar) and gateway Deployments (router) run.
It writes Envoy's bootstrap (--envoy-bootstrap), keeps the workload certificate renewed and served to
Envoy over SDS, starts --envoy-binary, and serves the status port (--status-port, 15020):

  /healthz/ready                 ready once Envoy's admin /ready answers and the certificate exists
  /app-health/<container>/<kind> runs the app's original probe from ISTIO_KUBE_APP_PROBERS, so the
                                 kubelet's probes work when inbound traffic requires mTLS
  POST /drain                    drains Envoy's inbound listeners (the native sidecar's preStop hook)
  POST /quitquitquit             drains and stops the proxy (for Jobs whose app has finished)
  /stats/prometheus              Envoy's metrics (where prometheus.io/port points with metrics merging)

On SIGTERM it drains inbound listeners for --termination-drain-duration, then stops Envoy. If Envoy
exits on its own the agent exits with an error so the kubelet restarts the container. The pod comes
from POD_NAME, POD_NAMESPACE and INSTANCE_IP, the CA from CA_ADDR unless --ca-addr is given.`,
		Example: `  # what the injected istio-proxy container runs (the image's entrypoint is "skiff agent")
  skiff agent proxy sidecar --domain default.svc.cluster.local

  # an ingress gateway
  skiff agent proxy router --domain istio-system.svc.cluster.local --proxyLogLevel=info`,
		Args:      cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs),
		ValidArgs: []string{agent.ProxyTypeSidecar, agent.ProxyTypeRouter},
		RunE: func(c *cobra.Command, args []string) error {
			opts.Type = args[0]
			opts.Getenv = os.Getenv
			opts.Out, opts.Err = e.streams.Out, e.streams.Err
			return agent.RunProxy(c.Context(), opts)
		},
	}
	f := c.Flags()
	certFlags(f, &opts.Options, "", "/var/run/secrets/workload-spiffe-credentials")
	f.Lookup("ca-addr").Usage = "the controller's TLS address (default: $CA_ADDR, else istiod.istio-system.svc:15012)"
	f.StringVar(&opts.SDSSocket, "sds-socket", "/etc/istio/proxy/sds.sock", "Unix socket the certificates are served on to Envoy over SDS")
	f.StringVar(&opts.EnvoyBootstrap, "envoy-bootstrap", "/etc/istio/proxy/envoy-rev.json", "where Envoy's bootstrap is written")
	f.StringVar(&opts.EnvoyBinary, "envoy-binary", "/usr/local/bin/envoy", "the Envoy executable")
	f.StringVar(&opts.Domain, "domain", "", "the proxy's DNS domain, <namespace>.svc.<cluster domain>")
	f.StringVar(&opts.ProxyLogLevel, "proxyLogLevel", "warning", "Envoy's log level (trace, debug, info, warning, error, critical, off)")
	f.StringVar(&opts.ProxyComponentLogLevel, "proxyComponentLogLevel", "misc:error", "Envoy's per-component log levels")
	f.IntVar(&opts.Concurrency, "concurrency", 2, "Envoy worker threads (0: one per core)")
	f.DurationVar(&opts.DrainDuration, "drain-duration", 45*time.Second, "Envoy's --drain-time-s: how long connections drain on listener changes and shutdown")
	f.DurationVar(&opts.TerminationDrainDuration, "termination-drain-duration", 5*time.Second, "after SIGTERM, how long inbound listeners drain before Envoy is stopped")
	f.StringVar(&opts.LabelsFile, "pod-labels", "/etc/istio/pod/labels", "downward API file with the pod's labels (also read: $ISTIO_METAJSON_LABELS)")
	f.IntVar(&opts.StatusPort, "status-port", 15020, "the agent's status port")
	f.IntVar(&opts.AdminPort, "admin-port", 15000, "Envoy's admin port on localhost")
	logFlags(f, &opts.LogLevel, &opts.LogAsJSON)
	return c
}
