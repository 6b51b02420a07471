package check

import (
	"encoding/json"
	"fmt"
	"io"

	"skiff.dev/skiff/pkg/errs"
	"skiff.dev/skiff/pkg/ui"
)

// Document is what -o json prints; field names and status strings are stable.
type Document struct {
	Checks   []Result `json:"checks"`
	Errors   int      `json:"errors"`
	Warnings int      `json:"warnings"`
}

// Report prints the results grouped (or as JSON) and returns errs.Failure when any check errored;
// warnings alone succeed.
func Report(w io.Writer, output string, results []Result) error {
	doc := Document{Checks: results}
	for _, r := range results {
		switch r.Status {
		case StatusError:
			doc.Errors++
		case StatusWarning:
			doc.Warnings++
		}
	}
	if output == "json" {
		b, _ := json.MarshalIndent(doc, "", "  ")
		fmt.Fprintln(w, string(b))
	} else {
		printLines(ui.NewPrinter(w), doc)
	}
	if doc.Errors > 0 {
		return errs.Failure("%d of %d checks failed", doc.Errors, len(results))
	}
	return nil
}

func printLines(p *ui.Printer, doc Document) {
	group := ""
	for _, r := range doc.Checks {
		if r.Group != group {
			if group != "" {
				p.Plain("")
			}
			group = r.Group
			p.Plain("%s", p.Bold(group))
			p.Plain("%s", p.Faint(dashes(len(group))))
		}
		switch r.Status {
		case StatusOK:
			p.Success("%s: %s", r.Name, r.Message)
		case StatusWarning:
			p.Warning("%s: %s", r.Name, r.Message)
		default:
			p.Failure("%s: %s", r.Name, r.Message)
		}
		if r.Status != StatusOK {
			hint := "see " + r.Docs
			if r.Hint != "" {
				hint = r.Hint + "; " + hint
			}
			p.Plain("    %s", p.Faint(hint))
		}
	}
	p.Plain("")
	switch {
	case doc.Errors > 0:
		p.Failure("Status check results: %s, %s", count(doc.Errors, "error", "errors"), count(doc.Warnings, "warning", "warnings"))
	case doc.Warnings > 0:
		p.Warning("Status check results: no errors, %s", count(doc.Warnings, "warning", "warnings"))
	default:
		p.Success("Status check results: all %d checks passed", len(doc.Checks))
	}
}

func dashes(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = '-'
	}
	return string(b)
}
