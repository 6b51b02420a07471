// Package ui is the only place that styles terminal output. Everything else prints through a Printer,
// which falls back to plain text when the writer is not a terminal (pipes, files, CI logs) or NO_COLOR is set.
package ui

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// Streams are the standard streams a command reads and writes; tests pass buffers.
type Streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// StdStreams returns the process's standard streams.
func StdStreams() Streams { return Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr} }

// Printer writes styled lines to one writer.
type Printer struct {
	w      io.Writer
	styled bool
	ok     lipgloss.Style
	warn   lipgloss.Style
	fail   lipgloss.Style
	bold   lipgloss.Style
	faint  lipgloss.Style
}

// NewPrinter detects whether w is a colour terminal; anything else gets plain text.
func NewPrinter(w io.Writer) *Printer {
	r := lipgloss.NewRenderer(w)
	if _, noColor := os.LookupEnv("NO_COLOR"); noColor {
		r.SetColorProfile(termenv.Ascii)
	}
	return &Printer{
		w:      w,
		styled: r.ColorProfile() != termenv.Ascii,
		ok:     r.NewStyle().Foreground(lipgloss.Color("2")),
		warn:   r.NewStyle().Foreground(lipgloss.Color("3")),
		fail:   r.NewStyle().Foreground(lipgloss.Color("1")).Bold(true),
		bold:   r.NewStyle().Bold(true),
		faint:  r.NewStyle().Faint(true),
	}
}

// Styled reports whether output goes to a colour terminal.
func (p *Printer) Styled() bool { return p.styled }

// Writer returns the underlying writer.
func (p *Printer) Writer() io.Writer { return p.w }

// Success prints "✔ msg".
func (p *Printer) Success(format string, args ...any) { p.line(p.ok, "✔", format, args...) }

// Failure prints "✘ msg".
func (p *Printer) Failure(format string, args ...any) { p.line(p.fail, "✘", format, args...) }

// Warning prints "! msg".
func (p *Printer) Warning(format string, args ...any) { p.line(p.warn, "!", format, args...) }

// Step prints "- msg" for work in progress.
func (p *Printer) Step(format string, args ...any) { p.line(p.faint, "-", format, args...) }

// Plain prints msg with a newline.
func (p *Printer) Plain(format string, args ...any) { fmt.Fprintf(p.w, format+"\n", args...) }

// Error prints "Error: msg" the way the error sink in main reports failures.
func (p *Printer) Error(err error) {
	fmt.Fprintf(p.w, "%s %s\n", p.fail.Render("Error:"), err)
}

// Bold and Faint style a fragment for use inside a line.
func (p *Printer) Bold(s string) string  { return p.bold.Render(s) }
func (p *Printer) Faint(s string) string { return p.faint.Render(s) }

// Severity styles a level word (Error/Warning/Info, ok/fail) by its meaning.
func (p *Printer) Severity(s string) string {
	switch strings.ToLower(s) {
	case "error", "fail", "failed", "missing", "drifted", "stale":
		return p.fail.Render(s)
	case "warning", "warn", "not sent":
		return p.warn.Render(s)
	case "ok", "synced", "ready":
		return p.ok.Render(s)
	}
	return s
}

func (p *Printer) line(st lipgloss.Style, mark, format string, args ...any) {
	fmt.Fprintf(p.w, "%s %s\n", st.Render(mark), fmt.Sprintf(format, args...))
}

// Table prints rows in aligned columns, headers in bold.
func (p *Printer) Table(headers []string, rows [][]string) {
	widths := make([]int, len(headers))
	for i, h := range headers {
		widths[i] = len(h)
	}
	for _, r := range rows {
		for i, c := range r {
			if i < len(widths) && lipgloss.Width(c) > widths[i] {
				widths[i] = lipgloss.Width(c)
			}
		}
	}
	write := func(cells []string, style func(string) string) {
		var b strings.Builder
		for i, c := range cells {
			if i == len(cells)-1 {
				b.WriteString(style(c))
				break
			}
			b.WriteString(style(c))
			b.WriteString(strings.Repeat(" ", widths[i]-lipgloss.Width(c)+3))
		}
		fmt.Fprintln(p.w, strings.TrimRight(b.String(), " "))
	}
	write(headers, p.Bold)
	for _, r := range rows {
		write(r, func(s string) string { return s })
	}
}
