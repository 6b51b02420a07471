package graph

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// WriteDOT writes the graph as Graphviz DOT: one cluster per namespace, and per service with subsets a
// cluster holding the service and its subsets. The output depends only on the graph.
func WriteDOT(w io.Writer, g Graph) error {
	var b strings.Builder
	b.WriteString("digraph mesh {\n")
	b.WriteString("  rankdir=LR;\n  newrank=true;\n")
	b.WriteString("  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=11];\n")
	b.WriteString("  edge [fontname=\"Helvetica\", fontsize=9];\n")

	children := map[string][]Node{}
	byNamespace := map[string][]Node{}
	var namespaces []string
	for _, n := range g.Nodes {
		if n.Parent != "" {
			children[n.Parent] = append(children[n.Parent], n)
			continue
		}
		if _, ok := byNamespace[n.Namespace]; !ok {
			namespaces = append(namespaces, n.Namespace)
		}
		byNamespace[n.Namespace] = append(byNamespace[n.Namespace], n)
	}
	slices.Sort(namespaces)
	for _, ns := range namespaces {
		indent := "  "
		if ns != "" {
			fmt.Fprintf(&b, "  subgraph %s {\n    label=%s;\n    style=dashed;\n    color=\"#bdbdbd\";\n", quote("cluster_ns_"+ns), quote("namespace "+ns))
			indent = "    "
		}
		for _, n := range byNamespace[ns] {
			if kids := children[n.ID]; len(kids) > 0 {
				fmt.Fprintf(&b, "%ssubgraph %s {\n%s  label=\"\";\n%s  style=\"rounded\";\n%s  color=\"#d7ccc8\";\n", indent, quote("cluster_"+n.ID), indent, indent, indent)
				writeDOTNode(&b, indent+"  ", n)
				for _, k := range kids {
					writeDOTNode(&b, indent+"  ", k)
				}
				fmt.Fprintf(&b, "%s}\n", indent)
				continue
			}
			writeDOTNode(&b, indent, n)
		}
		if ns != "" {
			b.WriteString("  }\n")
		}
	}
	// Invisible edges put every subset right of its service, routed to or not.
	for _, n := range g.Nodes {
		if n.Parent != "" {
			fmt.Fprintf(&b, "  %s -> %s [style=invis];\n", quote(n.Parent), quote(n.ID))
		}
	}
	for _, e := range g.Edges {
		st := styleOf(e.TLS)
		fmt.Fprintf(&b, "  %s -> %s [label=%s, color=%s, fontcolor=%s, style=%s, penwidth=%g, tooltip=%s];\n",
			quote(e.From), quote(e.To), quote(e.Label()), quote(st.Color), quote(st.Color), st.Dot, st.Width, quote(e.Via))
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func writeDOTNode(b *strings.Builder, indent string, n Node) {
	fill, stroke := nodeFill(n.Kind)
	shape := "box"
	switch n.Kind {
	case KindGateway:
		shape = "hexagon"
	case KindSubset, KindMissing:
		shape = "ellipse"
	}
	label := n.Label
	if n.Detail != "" {
		label += "\n" + n.Detail
	}
	fmt.Fprintf(b, "%s%s [label=%s, shape=%s, fillcolor=%s, color=%s];\n", indent, quote(n.ID), quote(label), shape, quote(fill), quote(stroke))
}

// quote makes a DOT double-quoted string; newlines become DOT's centred line breaks.
func quote(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	s = strings.ReplaceAll(s, `"`, `\"`)
	s = strings.ReplaceAll(s, "\n", `\n`)
	return `"` + s + `"`
}
