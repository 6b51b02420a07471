package cmd

import (
	"github.com/spf13/cobra"

	"skiff.dev/skiff/pkg/graph"
)

func newGraphCmd(e *env) *cobra.Command {
	opts := graph.Options{}
	c := &cobra.Command{
		Use:   "graph [-f FILE|DIR]... [-o dot|svg|html]",
		Short: "Draw the service topology and routing as a picture",
		Long: `graph draws the mesh for people who would rather look than read: services (with the
subsets of their DestinationRule as sub-nodes), the gateways VirtualServices bind to, and an
edge per route destination labelled with its weight and match. Edge colour and style show what
clients send, from the DestinationRule's TLS mode or auto mTLS: green mTLS, orange mTLS to
injected pods only, blue TLS origination, grey dashed plaintext, bold red plaintext to a STRICT
server (requests fail). Routes to undefined subsets end in a red node.

Output formats (-o):
  dot   Graphviz source; render it with 'dot -Tpng'. Deterministic, good for diffs.
  svg   a picture: through Graphviz when 'dot' is on PATH, else a built-in layered layout
        (--renderer picks explicitly).
  html  a self-contained page, no scripts: the picture and a table of every route.

The mesh is read from files and directories given with -f, or from the cluster (--use-kube,
the default when there are no files).`,
		Example: `  # Graphviz source from files, rendered to PNG
  skiff x graph -f bookinfo/ -o dot | dot -Tpng > mesh.png

  # A page to open in a browser, from the cluster
  skiff x graph --use-kube -o html > mesh.html

  # SVG without Graphviz
  skiff x graph -f mesh.yaml -o svg --renderer builtin > mesh.svg`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			opts.Global, opts.Stdin, opts.Out = e.global, e.streams.In, e.streams.Out
			return graph.Run(c.Context(), opts)
		},
	}
	f := c.Flags()
	f.StringArrayVarP(&opts.Files, "filename", "f", nil, "read the mesh from this file or directory, - for stdin (repeatable)")
	f.BoolVarP(&opts.UseKube, "use-kube", "k", false, "read the live cluster (the default when no files are given)")
	f.StringVarP(&opts.Format, "output", "o", graph.FormatDOT, "output format: dot|svg|html")
	f.StringVar(&opts.Renderer, "renderer", graph.RendererAuto, "how svg and html are drawn: auto|graphviz|builtin")
	return c
}
