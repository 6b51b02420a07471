package cmd

import (
	"time"

	"github.com/spf13/cobra"

	"skiff.dev/skiff/pkg/agent"
)

func newAgentIptablesCmd(e *env) *cobra.Command {
	opts := agent.IptablesOptions{}
	var logLevel string
	var logJSON bool
	c := &cobra.Command{
		Use:   "iptables",
		Short: "Redirect the pod's TCP traffic through Envoy (the istio-init container)",
		Long: `Iptables installs the rules Istio's istio-iptables installs in REDIRECT mode, with the same flags:
inbound TCP goes to Envoy's inbound port (-z) except the excluded ports (-d) and SSH, outbound TCP to
Envoy's outbound port (-p) except Envoy's own traffic (-u/-g), loopback, excluded ports (-o) and
excluded ranges (-x). The rules are piped to iptables-restore, and to ip6tables-restore when a range
is IPv6; --dry-run prints them instead. With --skip-rule-apply (CNI) nothing is applied.`,
		Example: `  # what the injected istio-init container runs
  skiff agent iptables -p 15001 -z 15006 -u 1337 -m REDIRECT -i '*' -x "" -b '*' -d 15090,15021,15020

  # print the rules for a pod that only captures the cluster's service range
  skiff agent iptables --dry-run -u 1337 -i 10.96.0.0/12 -b '*' -d 15020`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			opts.Out = e.streams.Out
			return agent.RunIptables(opts)
		},
	}
	f := c.Flags()
	f.StringVarP(&opts.ProxyPort, "envoy-port", "p", "15001", "Envoy's outbound capture port")
	f.StringVarP(&opts.InboundCapturePort, "inbound-capture-port", "z", "15006", "Envoy's inbound capture port")
	f.StringVarP(&opts.ProxyUID, "proxy-uid", "u", "1337", "Envoy's user ID, whose traffic is not captured")
	f.StringVarP(&opts.ProxyGID, "proxy-gid", "g", "", "Envoy's group ID (default: --proxy-uid)")
	f.StringVarP(&opts.Mode, "istio-inbound-interception-mode", "m", "REDIRECT", "inbound interception mode (only REDIRECT)")
	f.StringVarP(&opts.IncludeOutboundCIDRs, "istio-service-cidr", "i", "*", `outbound ranges to capture, comma separated; "*" for all`)
	f.StringVarP(&opts.ExcludeOutboundCIDRs, "istio-service-exclude-cidr", "x", "", "outbound ranges never captured")
	f.StringVarP(&opts.IncludeInboundPorts, "istio-inbound-ports", "b", "*", `inbound ports to capture; "*" for all, empty for none`)
	f.StringVarP(&opts.ExcludeInboundPorts, "istio-local-exclude-ports", "d", "", "inbound ports never captured")
	f.StringVarP(&opts.IncludeOutboundPorts, "istio-include-outbound-ports", "q", "", "outbound ports always captured")
	f.StringVarP(&opts.ExcludeOutboundPorts, "istio-local-outbound-ports-exclude", "o", "", "outbound ports never captured")
	f.StringVarP(&opts.ExcludeInterfaces, "istio-exclude-interfaces", "c", "", "interfaces whose traffic is never captured")
	f.BoolVar(&opts.DryRun, "dry-run", false, "print the rules instead of applying them")
	f.BoolVar(&opts.SkipRuleApply, "skip-rule-apply", false, "apply nothing (the CNI plugin installs the rules)")
	f.BoolVar(&opts.RunValidation, "run-validation", false, "accepted for Istio compatibility (CNI validation container); no check is run")
	logFlags(f, &logLevel, &logJSON)
	return c
}

func newAgentWaitCmd(e *env) *cobra.Command {
	opts := agent.WaitOptions{}
	c := &cobra.Command{
		Use:   "wait",
		Short: "Wait until the proxy is ready (the postStart hook that holds the app back)",
		Long: `Wait polls the agent's readiness URL until it answers 200 and exits 0, or exits 1 after --timeout.
The injector runs it as istio-proxy's postStart hook when holdApplicationUntilProxyStarts is set, so the
app's containers start only once Envoy has its configuration and certificate.`,
		Example: `  skiff agent wait
  skiff agent wait --timeout 2m --url http://localhost:15020/healthz/ready`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			opts.Out = e.streams.Out
			return agent.Wait(c.Context(), opts)
		},
	}
	c.Flags().DurationVar(&opts.Timeout, "timeout", 60*time.Second, "give up after this long")
	c.Flags().StringVar(&opts.URL, "url", "http://localhost:15020/healthz/ready", "readiness URL to poll")
	c.Flags().DurationVar(&opts.Interval, "interval", 500*time.Millisecond, "time between attempts")
	return c
}

func newAgentRequestCmd(e *env) *cobra.Command {
	opts := agent.RequestOptions{}
	c := &cobra.Command{
		Use:   "request METHOD PATH",
		Short: "Send one request to the local agent or Envoy admin and print the answer",
		Long: `Request sends METHOD PATH to localhost:--debug-port (Envoy's admin port 15000 by default, or the
agent's status port 15020) and prints the body; a non-2xx answer exits 1. The native sidecar's preStop
hook runs "request --debug-port=15020 POST drain".`,
		Example: `  # drain inbound listeners before the pod stops
  skiff agent request --debug-port=15020 POST drain

  # Envoy's clusters
  skiff agent request GET clusters`,
		Args: cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Method, opts.Path, opts.Out = args[0], args[1], e.streams.Out
			return agent.Request(c.Context(), opts)
		},
	}
	c.Flags().IntVar(&opts.DebugPort, "debug-port", 15000, "local port to send the request to")
	return c
}
