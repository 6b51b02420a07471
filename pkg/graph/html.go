package graph

import (
	"fmt"
	"html"
	"io"
	"strings"
)

// WriteHTML writes a self-contained page, without scripts or external resources: the drawing (svg, as
// WriteSVG or Graphviz made it) and the routes as a table, which stays readable when the drawing is not.
func WriteHTML(w io.Writer, g Graph, svg string) error {
	var b strings.Builder
	b.WriteString(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Skiff mesh graph</title>
<style>
body { font-family: Helvetica, Arial, sans-serif; margin: 24px; color: #212121; }
h1 { font-size: 20px; }
.graph { overflow: auto; border: 1px solid #e0e0e0; padding: 8px; }
table { border-collapse: collapse; margin-top: 16px; font-size: 13px; }
th, td { border-bottom: 1px solid #e0e0e0; padding: 4px 10px; text-align: left; }
.swatch { display: inline-block; width: 24px; height: 0; border-top: 3px solid; vertical-align: middle; margin-right: 6px; }
</style>
</head>
<body>
<h1>Mesh graph</h1>
<div class="graph">
`)
	b.WriteString(svg)
	b.WriteString("</div>\n<table>\n<thead><tr><th>From</th><th>To</th><th>Weight</th><th>Match</th><th>Clients send</th><th>Rule</th></tr></thead>\n<tbody>\n")
	name := func(id string) string {
		if n, ok := g.Node(id); ok {
			if n.Parent != "" {
				if p, ok := g.Node(n.Parent); ok {
					return p.Label + " " + n.Label
				}
			}
			return n.Label
		}
		return id
	}
	for _, e := range g.Edges {
		st := styleOf(e.TLS)
		border := "solid"
		if st.Dash != "" {
			border = "dashed"
		}
		fmt.Fprintf(&b, "<tr><td>%s</td><td>%s</td><td>%d%%</td><td>%s</td><td><span class=\"swatch\" style=\"border-top-color: %s; border-top-style: %s\"></span>%s</td><td>%s</td></tr>\n",
			html.EscapeString(name(e.From)), html.EscapeString(name(e.To)), e.Weight, html.EscapeString(e.Match), st.Color, border, html.EscapeString(cmpOr(e.TLS, "unknown")), html.EscapeString(e.Via))
	}
	b.WriteString("</tbody>\n</table>\n</body>\n</html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func cmpOr(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}
