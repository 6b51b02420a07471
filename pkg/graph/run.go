package graph

import (
	"bytes"
	"context"
	"io"
	"os/exec"
	"strings"

	"skiff.dev/skiff/pkg/describe"
	"skiff.dev/skiff/pkg/errs"
	"skiff.dev/skiff/pkg/model"
)

// Output formats.
const (
	FormatDOT  = "dot"
	FormatSVG  = "svg"
	FormatHTML = "html"
)

// Renderers for svg and html.
const (
	// RendererAuto uses Graphviz when `dot` is on PATH, the built-in layout otherwise.
	RendererAuto     = "auto"
	RendererGraphviz = "graphviz"
	RendererBuiltin  = "builtin"
)

// Options are the inputs of `skiff x graph`.
type Options struct {
	describe.Source
	// UseKube asks for the cluster explicitly; it cannot be combined with files.
	UseKube  bool
	Format   string
	Renderer string
	Out      io.Writer
}

// Run loads the mesh, builds the graph and writes it in the chosen format.
func Run(ctx context.Context, o Options) error {
	switch o.Format {
	case FormatDOT, FormatSVG, FormatHTML:
	default:
		return errs.Usage("unknown output format %q: use dot, svg or html", o.Format)
	}
	switch o.Renderer {
	case "":
		o.Renderer = RendererAuto
	case RendererAuto, RendererGraphviz, RendererBuiltin:
	default:
		return errs.Usage("unknown renderer %q: use auto, graphviz or builtin", o.Renderer)
	}
	if o.UseKube && len(o.Files) > 0 {
		return errs.Usage("give files with -f or read the cluster with --use-kube, not both")
	}
	in, err := o.Load(ctx)
	if err != nil {
		return err
	}
	in.RootNamespace = o.Global.MeshNamespace
	g := Build(model.Build(in), in)
	if o.Format == FormatDOT {
		return WriteDOT(o.Out, g)
	}
	svg, err := renderSVG(ctx, g, o.Renderer)
	if err != nil {
		return err
	}
	if o.Format == FormatSVG {
		_, err = io.WriteString(o.Out, svg)
		return err
	}
	return WriteHTML(o.Out, g, svg)
}

// renderSVG draws with Graphviz when asked or available, with the built-in layout otherwise.
func renderSVG(ctx context.Context, g Graph, renderer string) (string, error) {
	if renderer != RendererBuiltin {
		if path, err := exec.LookPath("dot"); err == nil {
			return graphviz(ctx, path, g)
		} else if renderer == RendererGraphviz {
			return "", errs.Failure("--renderer graphviz needs Graphviz's dot on PATH: %v", err)
		}
	}
	var b strings.Builder
	err := WriteSVG(&b, g)
	return b.String(), err
}

func graphviz(ctx context.Context, path string, g Graph) (string, error) {
	var src, out, stderr bytes.Buffer
	if err := WriteDOT(&src, g); err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, path, "-Tsvg")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = &src, &out, &stderr
	if err := cmd.Run(); err != nil {
		return "", errs.Failure("running %s: %v: %s", path, err, strings.TrimSpace(stderr.String()))
	}
	// Drop the XML prolog and doctype so the SVG can be inlined in HTML as well.
	s := out.String()
	if i := strings.Index(s, "<svg"); i > 0 {
		s = s[i:]
	}
	return s, nil
}
