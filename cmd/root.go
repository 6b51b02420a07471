// Package cmd holds Skiff's cobra commands. Each command only maps flags into an options struct owned by
// a pkg/ package and calls it; no logic lives here.
package cmd

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"skiff.dev/skiff/pkg/config"
	"skiff.dev/skiff/pkg/errs"
	"skiff.dev/skiff/pkg/kube"
	"skiff.dev/skiff/pkg/ui"
)

// env is what every command receives: the streams and the global settings, resolved once before it runs.
type env struct {
	streams ui.Streams
	global  config.Global
}

// NewRoot builds the whole command tree.
func NewRoot(streams ui.Streams) *cobra.Command {
	e := &env{streams: streams}
	root := &cobra.Command{
		Use:   "skiff",
		Short: "Skiff: a small, fast service mesh that speaks Istio's APIs",
		Long: `Skiff installs and operates a service mesh that accepts Istio's own configuration
(VirtualService, DestinationRule, Gateway, PeerAuthentication, AuthorizationPolicy, ...),
labels and annotations, so existing Istio YAML and runbooks work unchanged.

Global settings come from flags, then SKIFF_* environment variables (SKIFF_KUBECONFIG,
SKIFF_CONTEXT, SKIFF_NAMESPACE, ...), then ~/.config/skiff/config.yaml.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(c *cobra.Command, _ []string) error {
			g, err := config.Load(c.Flags())
			e.global = g
			kube.ConfigureClientLogs(g.Verbosity)
			return err
		},
	}
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.Err)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return errs.Usage("%v", err) })
	config.AddFlags(root.PersistentFlags())
	root.CompletionOptions.HiddenDefaultCmd = true

	// One line per command keeps parallel edits apart.
	root.AddCommand(
		newVersionCmd(e),
		newDocsCmd(),
		newExperimentalCmd(e),
		newAnalyzeCmd(e),
		newInstallCmd(e),
		newUninstallCmd(e),
		newVerifyInstallCmd(e),
		newDashboardCmd(e),
		newManifestCmd(e),
		newProfileCmd(e),
		newKubeInjectCmd(e),
		newControllerCmd(e),
		newAgentCmd(e),
		newCheckCmd(e),
		newProxyConfigCmd(e),
		newProxyStatusCmd(e),
	)
	return root
}

// Execute runs the command tree with args and returns the error for main's error sink.
func Execute(ctx context.Context, streams ui.Streams, args []string) error {
	root := NewRoot(streams)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	// cobra reports unknown commands and wrong argument counts as plain errors; they are usage errors.
	if err != nil && errs.KindOf(err) == errs.KindFailure && isCobraUsageError(err) {
		return errs.Usage("%v (see 'skiff --help')", err)
	}
	return err
}

func isCobraUsageError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "accepts ", "requires at least", "requires at most", "requires exactly", "invalid argument", "unknown flag", "unknown shorthand flag"} {
		if strings.HasPrefix(msg, p) || strings.Contains(msg, " "+p) {
			return true
		}
	}
	return false
}
