package graph

// edgeStyle is how an edge's TLS class is drawn, shared by the DOT and SVG renderers so both agree.
type edgeStyle struct {
	Color string
	// Dash is an SVG stroke-dasharray; empty for a solid line.
	Dash  string
	Width float64
	// Dot is the Graphviz style attribute.
	Dot string
}

func styleOf(tls string) edgeStyle {
	switch tls {
	case TLSMutual:
		return edgeStyle{Color: "#2e7d32", Width: 2, Dot: "solid"}
	case TLSOrigin:
		return edgeStyle{Color: "#1565c0", Width: 2, Dot: "solid"}
	case TLSPartial:
		return edgeStyle{Color: "#ef6c00", Dash: "6 3", Width: 2, Dot: "dashed"}
	case TLSConflict:
		return edgeStyle{Color: "#c62828", Width: 3, Dot: "bold"}
	case TLSPlain:
		return edgeStyle{Color: "#757575", Dash: "6 3", Width: 1.5, Dot: "dashed"}
	}
	return edgeStyle{Color: "#9e9e9e", Dash: "2 3", Width: 1.5, Dot: "dotted"}
}

// legendOrder lists the edge classes in the order the legends show them.
func legendOrder() []string { return []string{TLSMutual, TLSPartial, TLSOrigin, TLSPlain, TLSConflict} }

// legendText explains a class in a few words.
func legendText(tls string) string {
	switch tls {
	case TLSMutual:
		return "mTLS"
	case TLSPartial:
		return "mTLS to injected pods only"
	case TLSOrigin:
		return "TLS origination"
	case TLSPlain:
		return "plaintext"
	case TLSConflict:
		return "plaintext to a STRICT server: fails"
	}
	return tls
}

// nodeFill colours a node by kind.
func nodeFill(k NodeKind) (fill, stroke string) {
	switch k {
	case KindGateway:
		return "#e3f2fd", "#1565c0"
	case KindSubset:
		return "#f1f8e9", "#558b2f"
	case KindExternal:
		return "#fafafa", "#9e9e9e"
	case KindMissing:
		return "#ffebee", "#c62828"
	}
	return "#fffde7", "#5d4037"
}
