package graph

import (
	"fmt"
	"html"
	"io"
	"strings"
)

// legendHeight is the room under the graph for the legend.
const legendHeight = 30

// WriteSVG draws the graph with the built-in layered layout: boxes for services, ellipses for subsets,
// hexagon-ish boxes for gateways, curves for routes coloured and dashed by their TLS class.
func WriteSVG(w io.Writer, g Graph) error {
	boxes, width, height := layout(g)
	legendWidth := float64(2 * margin)
	for _, tls := range legendOrder() {
		legendWidth += 34 + textWidth(legendText(tls)) + 24
	}
	width = max(width, legendWidth)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" viewBox="0 0 %g %g" font-family="Helvetica, Arial, sans-serif" font-size="11">`+"\n", width, height+legendHeight, width, height+legendHeight)
	b.WriteString("<defs>\n")
	for _, tls := range append(legendOrder(), tlsUndefined) {
		st := styleOf(tls)
		fmt.Fprintf(&b, `<marker id="%s" viewBox="0 0 10 10" refX="10" refY="5" markerUnits="userSpaceOnUse" markerWidth="10" markerHeight="10" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="%s"/></marker>`+"\n", markerID(tls), st.Color)
	}
	b.WriteString("</defs>\n")
	b.WriteString(`<rect width="100%" height="100%" fill="#ffffff"/>` + "\n")

	// Subsets hang off their service with a thin connector, drawn first so routes sit on top.
	for _, n := range g.Nodes {
		if n.Parent == "" {
			continue
		}
		p, c := boxes[n.Parent], boxes[n.ID]
		fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="#d7ccc8" stroke-width="1"/>`+"\n", curve(p, c))
	}
	// Parallel edges (a header match and a weighted split to one subset) get their captions stacked.
	parallel := map[[2]string]int{}
	for _, e := range g.Edges {
		from, to := boxes[e.From], boxes[e.To]
		nth := parallel[[2]string{e.From, e.To}]
		parallel[[2]string{e.From, e.To}]++
		st := styleOf(e.TLS)
		dash := ""
		if st.Dash != "" {
			dash = fmt.Sprintf(` stroke-dasharray="%s"`, st.Dash)
		}
		fmt.Fprintf(&b, `<g class="edge"><title>%s</title><path d="%s" fill="none" stroke="%s" stroke-width="%g"%s marker-end="url(#%s)"/>`,
			html.EscapeString(e.From+" -> "+e.To+" ("+e.Via+")"), curve(from, to), st.Color, st.Width, dash, markerID(e.TLS))
		if l := e.Label(); l != "" {
			lx, ly := labelPoint(from, to)
			ly -= float64(nth * 13)
			fmt.Fprintf(&b, `<text x="%g" y="%g" text-anchor="middle" fill="%s" stroke="#ffffff" stroke-width="3" paint-order="stroke" font-size="10">%s</text>`, lx, ly, st.Color, html.EscapeString(l))
		}
		b.WriteString("</g>\n")
	}
	for _, n := range g.Nodes {
		writeSVGNode(&b, boxes[n.ID])
	}
	x := float64(margin)
	y := height + 10
	for _, tls := range legendOrder() {
		st := styleOf(tls)
		dash := ""
		if st.Dash != "" {
			dash = fmt.Sprintf(` stroke-dasharray="%s"`, st.Dash)
		}
		fmt.Fprintf(&b, `<line x1="%g" y1="%g" x2="%g" y2="%g" stroke="%s" stroke-width="%g"%s/><text x="%g" y="%g" fill="#424242">%s</text>`+"\n", x, y, x+28, y, st.Color, st.Width, dash, x+34, y+4, html.EscapeString(legendText(tls)))
		x += 34 + textWidth(legendText(tls)) + 24
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func markerID(tls string) string {
	if tls == tlsUndefined {
		return "arrow-none"
	}
	return "arrow-" + strings.ReplaceAll(tls, " ", "-")
}

func writeSVGNode(b *strings.Builder, bx *box) {
	fill, stroke := nodeFill(bx.Kind)
	fmt.Fprintf(b, `<g class="node %s"><title>%s</title>`, bx.Kind, html.EscapeString(bx.ID))
	switch bx.Kind {
	case KindSubset, KindMissing:
		fmt.Fprintf(b, `<ellipse cx="%g" cy="%g" rx="%g" ry="%g" fill="%s" stroke="%s"/>`, bx.X+bx.W/2, bx.Y+bx.H/2, bx.W/2, bx.H/2, fill, stroke)
	case KindGateway:
		c := 10.0
		fmt.Fprintf(b, `<polygon points="%g,%g %g,%g %g,%g %g,%g %g,%g %g,%g" fill="%s" stroke="%s"/>`,
			bx.X+c, bx.Y, bx.X+bx.W-c, bx.Y, bx.X+bx.W, bx.Y+bx.H/2, bx.X+bx.W-c, bx.Y+bx.H, bx.X+c, bx.Y+bx.H, bx.X, bx.Y+bx.H/2, fill, stroke)
	default:
		fmt.Fprintf(b, `<rect x="%g" y="%g" width="%g" height="%g" rx="6" fill="%s" stroke="%s"/>`, bx.X, bx.Y, bx.W, bx.H, fill, stroke)
	}
	cx := bx.X + bx.W/2
	if bx.Detail == "" {
		fmt.Fprintf(b, `<text x="%g" y="%g" text-anchor="middle" font-weight="bold">%s</text>`, cx, bx.Y+bx.H/2+4, html.EscapeString(bx.Label))
	} else {
		fmt.Fprintf(b, `<text x="%g" y="%g" text-anchor="middle" font-weight="bold">%s</text>`, cx, bx.Y+18, html.EscapeString(bx.Label))
		fmt.Fprintf(b, `<text x="%g" y="%g" text-anchor="middle" fill="#616161" font-size="10">%s</text>`, cx, bx.Y+33, html.EscapeString(bx.Detail))
	}
	b.WriteString("</g>\n")
}

// curve joins the right side of from to the left side of to; a backwards or same-column edge loops
// around underneath instead of cutting through the boxes.
func curve(from, to *box) string {
	if from == to {
		x, y := from.X+from.W, from.Y
		return fmt.Sprintf("M%g,%g C%g,%g %g,%g %g,%g", x-20, y, x+30, y-30, x+40, y+from.H/2, x, y+from.H/2+6)
	}
	if to.Col > from.Col {
		x1, y1 := from.X+from.W, from.Y+from.H/2
		x2, y2 := to.X, to.Y+to.H/2
		dx := (x2 - x1) / 2
		return fmt.Sprintf("M%g,%g C%g,%g %g,%g %g,%g", x1, y1, x1+dx, y1, x2-dx, y2, x2, y2)
	}
	x1, y1 := from.X+from.W/2, from.Y+from.H
	x2, y2 := to.X+to.W/2, to.Y+to.H
	drop := max(y1, y2) + rowGap
	return fmt.Sprintf("M%g,%g C%g,%g %g,%g %g,%g", x1, y1, x1, drop, x2, drop, x2, y2)
}

// labelPoint is where a route's caption goes: near the target so fan-outs from one service stay legible.
func labelPoint(from, to *box) (float64, float64) {
	if from == to {
		return from.X + from.W + 24, from.Y - 10
	}
	if to.Col > from.Col {
		x1, y1 := from.X+from.W, from.Y+from.H/2
		x2, y2 := to.X, to.Y+to.H/2
		return x1 + (x2-x1)*0.6, y1 + (y2-y1)*0.6 - 4
	}
	return (from.X + to.X + from.W) / 2, max(from.Y, to.Y) + from.H + rowGap
}
