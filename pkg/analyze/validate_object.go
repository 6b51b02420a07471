package analyze

import (
	"fmt"

	yaml "go.yaml.in/yaml/v3"
)

// ValidateObject checks one object on its own, as Istio's validation webhook does: the strict schema decode
// of an Istio kind's spec and the single-object semantic rules (IST0106), plus regex syntax (IST0122).
// It accepts JSON or YAML. The messages carry no file or line. Objects of other groups, and Istio kinds
// Skiff does not know, yield no errors (an unknown kind is a warning).
func ValidateObject(raw []byte) []Message {
	var n yaml.Node
	if err := yaml.Unmarshal(raw, &n); err != nil || len(n.Content) == 0 {
		text := "empty document"
		if err != nil {
			text = yamlErrorText(err)
		}
		return []Message{{Type: InvalidDocument, Text: text}}
	}
	r, msgs, p := newDecoder("").decode(document{root: n.Content[0]}, Origin{Cluster: true})
	if p != nil {
		return []Message{{Type: InvalidDocument, Text: p.text}}
	}
	if r.Spec == nil {
		return msgs // schema errors, or not an Istio object
	}
	snap := NewSnapshot([]*Resource{r}, "")
	report := func(m Message) { msgs = append(msgs, m) }
	// Only analyzers that judge an object in isolation: the others need the rest of the mesh.
	for _, a := range []Analyzer{validationAnalyzer(), virtualServiceRegexAnalyzer()} {
		runOne(a, snap, report)
	}
	sortMessages(msgs)
	return msgs
}

// Rejects reports whether m makes Istio's validation webhook deny the object. A bad regex is only a warning
// for `skiff analyze` (Istio's analyzer reports it so), but istiod's webhook rejects it, as Envoy would.
func (m Message) Rejects() bool {
	return m.Level() == Error || m.Type.Code == InvalidRegexp.Code
}

// runOne runs one analyzer and turns a panic into an InternalError message.
func runOne(a Analyzer, s *Snapshot, report func(Message)) {
	defer func() {
		if p := recover(); p != nil {
			report(Message{Type: InternalError, Text: fmt.Sprintf(InternalError.Template, fmt.Sprintf("analyzer %s: %v", a.Name, p))})
		}
	}()
	a.Run(s, report)
}
