package cmd

import (
	"os"

	"github.com/spf13/cobra"

	"skiff.dev/skiff/pkg/controller"
)

func newControllerCmd(e *env) *cobra.Command {
	opts := controller.CommandOptions{Options: controller.Defaults()}
	c := &cobra.Command{
		Use:   "controller",
		Short: "Run the control plane: xDS for proxies and gRPC clients, and the mesh certificate authority",
		Long: `Controller is the control plane process (what istiod is to Istio). It watches Services,
EndpointSlices and Pods, and Istio's VirtualService, DestinationRule, ServiceEntry, Gateway, Sidecar
and PeerAuthentication, and after each burst of changes rebuilds the mesh model and pushes every connected
proxy its configuration over ADS (state of the world and delta).

It also runs the certificate authority: the root comes from the 'cacerts' Secret when present (Istio's
plug-in CA format), otherwise a self-signed ECDSA root is created once and kept in 'istio-ca-secret'.
Workloads get SPIFFE certificates (spiffe://<trust-domain>/ns/<namespace>/sa/<account>) by calling
IstioCertificateService with a ServiceAccount token for audience istio-ca. The root is published to
every namespace as the istio-ca-root-cert ConfigMap, and set as the caBundle of the webhook
configurations named by MUTATING_WEBHOOK and VALIDATING_WEBHOOK.

The webhook port serves sidecar injection (/inject) and configuration validation (/validate), which
refuses Istio objects with the field-level errors 'skiff analyze' reports as IST0106 (and bad regexes).

Replicas elect a leader through a Lease in the mesh namespace. Every replica serves xDS, the CA and the
webhooks; only the leader creates the self-signed root, sets the caBundles and publishes the root
ConfigMaps, and the others wait for the root it stores. When the leader stops, another takes over.

Ports: plaintext xDS (15010); xDS and the CA over TLS (15012); /ready (8080); /metrics, /version,
/debug/proxies, /debug/syncz (per-proxy xDS sync state, read by 'skiff proxy-status') and
/debug/config_dump?proxy=<node id> (15014).
Normally started by the installed Deployment, not by hand.`,
		Example: `  # what the installed Deployment runs
  skiff controller --log_output_level=default:info

  # against the current kubeconfig, for development
  skiff controller --mesh-namespace istio-system --ready-addr 127.0.0.1:8080`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			opts.Getenv = os.Getenv
			opts.Err = e.streams.Err
			return controller.RunCommand(c.Context(), e.global, opts)
		},
	}
	f := c.Flags()
	f.StringVar(&opts.XDSAddr, "xds-addr", opts.XDSAddr, "address for plaintext xDS")
	f.StringVar(&opts.SecureAddr, "secure-addr", opts.SecureAddr, "address for xDS and certificate signing over TLS")
	f.StringVar(&opts.ReadyAddr, "ready-addr", opts.ReadyAddr, "address for /ready and /version")
	f.StringVar(&opts.MonitoringAddr, "monitoring-addr", opts.MonitoringAddr, "address for /metrics and /version")
	f.StringVar(&opts.WebhookAddr, "webhook-addr", opts.WebhookAddr, "address for the admission webhooks over TLS, when a webhook handler is configured")
	f.StringVar(&opts.TrustDomain, "trust-domain", opts.TrustDomain, "SPIFFE trust domain of workload identities")
	f.StringVar(&opts.DomainSuffix, "domain-suffix", opts.DomainSuffix, "cluster DNS domain of service hostnames")
	f.StringVar(&opts.ServiceName, "service-name", opts.ServiceName, "the controller's Service, for its serving certificate (env ISTIOD_SERVICE wins)")
	f.DurationVar(&opts.WorkloadCertTTL, "workload-cert-ttl", opts.WorkloadCertTTL, "lifetime of workload certificates when the request names none")
	f.DurationVar(&opts.MaxWorkloadCertTTL, "max-workload-cert-ttl", opts.MaxWorkloadCertTTL, "longest workload certificate lifetime granted")
	f.DurationVar(&opts.Debounce, "debounce", opts.Debounce, "how long to collect changes before one rebuild and push")
	f.StringVar(&opts.LeaderElection.LeaseName, "leader-election-lease", opts.LeaderElection.LeaseName, "Lease in the mesh namespace that replicas elect a leader with; empty: this replica always leads")
	f.StringVar(&opts.LogLevel, "log_output_level", "default:info", "log level, Istio style: default:<debug|info|warn|error>")
	f.BoolVar(&opts.LogAsJSON, "log_as_json", false, "write logs as JSON")
	return c
}
