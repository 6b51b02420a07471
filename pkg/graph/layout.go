package graph

import (
	"cmp"
	"slices"
	"unicode/utf8"
)

// Layout geometry of the built-in renderer, in SVG user units.
const (
	nodeHeight = 44
	rowGap     = 22
	colGap     = 190
	margin     = 24
	charWidth  = 7
	minWidth   = 110
)

// box is a placed node.
type box struct {
	Node
	X, Y, W, H float64
	Col        int
}

// layout places nodes in columns by their distance from the entry points (longest path, cycles cut), a
// subset one column right of its service, and in each column keeps subsets next to their siblings. It is
// a deliberately simple layered layout: deterministic and dependency-free, for when Graphviz is absent.
func layout(g Graph) (boxes map[string]*box, width, height float64) {
	col := map[string]int{}
	for _, n := range g.Nodes {
		col[n.ID] = 0
	}
	// Longest-path ranking by relaxation; |nodes| rounds bound it even with cycles.
	for range len(g.Nodes) {
		changed := false
		for _, e := range g.Edges {
			if e.From != e.To && col[e.To] < col[e.From]+1 && col[e.From]+1 < len(g.Nodes) {
				col[e.To] = col[e.From] + 1
				changed = true
			}
		}
		for _, n := range g.Nodes {
			if n.Parent != "" && col[n.ID] < col[n.Parent]+1 {
				col[n.ID] = col[n.Parent] + 1
				changed = true
			}
		}
		if !changed {
			break
		}
	}
	columns := map[int][]Node{}
	maxCol := 0
	for _, n := range g.Nodes {
		columns[col[n.ID]] = append(columns[col[n.ID]], n)
		maxCol = max(maxCol, col[n.ID])
	}
	sortKey := func(n Node) string {
		if n.Parent != "" {
			return n.Parent + "\x00" + n.ID
		}
		return n.ID
	}
	boxes = map[string]*box{}
	x := float64(margin)
	for c := 0; c <= maxCol; c++ {
		nodes := columns[c]
		slices.SortFunc(nodes, func(a, b Node) int { return cmp.Compare(sortKey(a), sortKey(b)) })
		w := float64(minWidth)
		for _, n := range nodes {
			w = max(w, textWidth(n.Label)+24, textWidth(n.Detail)+24)
		}
		y := float64(margin)
		for _, n := range nodes {
			boxes[n.ID] = &box{Node: n, X: x, Y: y, W: w, H: nodeHeight, Col: c}
			y += nodeHeight + rowGap
		}
		height = max(height, y)
		x += w + colGap
	}
	return boxes, x - colGap + margin, height + margin
}

func textWidth(s string) float64 { return float64(utf8.RuneCountInString(s) * charWidth) }
