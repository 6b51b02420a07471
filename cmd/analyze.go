package cmd

import (
	"strings"

	"github.com/spf13/cobra"

	"skiff.dev/skiff/pkg/analyze"
)

func newAnalyzeCmd(e *env) *cobra.Command {
	opts := analyze.Options{}
	var useKube bool
	c := &cobra.Command{
		Use:   "analyze [files or directories...]",
		Short: "Find problems in Istio configuration, in files or in the cluster",
		Long: `Analyze Istio and Kubernetes configuration and print validation messages.

Inputs are files, directories (-R to recurse), '-' for stdin and/or the live cluster. With files,
the cluster is not read unless --use-kube is given; then the files override the cluster's copies
of the same objects, so you can check a change before applying it. Without files the cluster is
analysed; with neither files nor a kubeconfig, the command says so.

Messages use Istio's codes (IST0101 ReferencedResourceNotFound, ...) so existing suppressions and
runbooks carry over, plus Skiff's own SKF codes; each names the object, its file and line, and its
page under docs/analyzers/. Every Istio object is also decoded strictly against its API type
(IST0106 for unknown fields, wrong types, bad enum values, broken validation rules).

Exit codes, in every output format: 79 when a message is at or above --failure-threshold
(default Error, as istioctl), 65 when a document could not be parsed (the other documents are
still analysed and reported), 0 otherwise.

Suppress messages with -S "<code>=<Kind> <namespace>/<name>" ('*' matches anything; istioctl's
"<Kind> <name>.<namespace>" also works) or the galley.istio.io/analyze-suppress annotation.`,
		Example: `  # Analyze files without a cluster
  skiff analyze samples/bookinfo/networking/

  # Analyze a directory tree and annotate the pull request in GitHub Actions
  skiff analyze -R deploy/ -o github

  # Write SARIF for code scanning
  skiff analyze -R deploy/ -o sarif > analyze.sarif

  # Analyze the live cluster in all namespaces
  skiff analyze -A

  # Check a change against the cluster before applying it
  skiff analyze --use-kube reviews-vs.yaml

  # Suppress IST0102 for every namespace, and IST0103 for pods in "testing"
  skiff analyze -S "IST0102=Namespace *" -S "IST0103=Pod testing/*"

  # List the analyzers and their codes
  skiff analyze -L`,
		RunE: func(c *cobra.Command, args []string) error {
			opts.Global = e.global
			opts.In, opts.Out, opts.Err = e.streams.In, e.streams.Out, e.streams.Err
			opts.Paths = args
			if c.Flags().Changed("use-kube") {
				opts.UseKube = &useKube
			}
			return analyze.Run(c.Context(), opts)
		},
	}
	f := c.Flags()
	f.BoolVarP(&opts.Recursive, "recursive", "R", false, "process directories recursively")
	f.BoolVarP(&opts.AllNamespaces, "all-namespaces", "A", false, "report on all namespaces (default: the selected namespace when reading the cluster)")
	f.BoolVarP(&useKube, "use-kube", "k", false, "read the live cluster (default: true when no files are given)")
	f.StringVarP(&opts.Output, "output", "o", analyze.FormatLog, "output format: "+strings.Join(analyze.Formats(), "|"))
	f.StringVar(&opts.FailureThreshold, "failure-threshold", "Error", "lowest level that makes the exit code 79: Error|Warning|Info")
	f.StringVar(&opts.OutputThreshold, "output-threshold", "Info", "lowest level printed: Error|Warning|Info")
	f.StringArrayVarP(&opts.Suppress, "suppress", "S", nil, `suppress a code on matching objects: "<code>=<Kind> <namespace>/<name>", '*' as wildcard (repeatable)`)
	f.BoolVarP(&opts.ListAnalyzers, "list-analyzers", "L", false, "list the analyzers and their message codes, then exit")
	return c
}
