package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/lipgloss"
)

// Section is a titled block of lines; a line's leading spaces nest it under the line above, and a line
// starting with "! " (after them) is a warning, shown in the warning colour on a terminal.
type Section struct {
	Title string
	Lines []string
}

// Sections prints blocks one after the other: on a terminal each is a rounded box with a bold title,
// otherwise the title and its lines indented by two spaces, separated by blank lines.
func (p *Printer) Sections(sections []Section) {
	for i, s := range sections {
		if i > 0 {
			fmt.Fprintln(p.w)
		}
		if !p.styled {
			fmt.Fprintln(p.w, s.Title)
			for _, l := range s.Lines {
				fmt.Fprintln(p.w, strings.TrimRight("  "+l, " "))
			}
			continue
		}
		r := lipgloss.NewRenderer(p.w)
		box := r.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(lipgloss.Color("8")).Padding(0, 1)
		title := r.NewStyle().Bold(true).Foreground(lipgloss.Color("6")).Render(s.Title)
		body := title
		for _, l := range s.Lines {
			if strings.HasPrefix(strings.TrimLeft(l, " "), "! ") {
				l = p.warn.Render(l)
			}
			body += "\n" + l
		}
		fmt.Fprintln(p.w, box.Render(body))
	}
}

// Fields aligns "key: value" pairs so the values start in one column.
func Fields(pairs [][2]string) []string {
	width := 0
	for _, kv := range pairs {
		width = max(width, len(kv[0]))
	}
	out := make([]string, 0, len(pairs))
	for _, kv := range pairs {
		out = append(out, fmt.Sprintf("%-*s  %s", width+1, kv[0]+":", kv[1]))
	}
	return out
}

// Good, Bad and Note colour a fragment by meaning (green, red, yellow); plain text when not a terminal.
func (p *Printer) Good(s string) string { return p.ok.Render(s) }
func (p *Printer) Bad(s string) string  { return p.fail.Render(s) }
func (p *Printer) Note(s string) string { return p.warn.Render(s) }
