package analyze

import (
	"fmt"
	"sort"
)

// Message is one finding.
type Message struct {
	Type MessageType
	// Text is the filled-in template.
	Text string
	// Key is the object the message is about; zero for documents that are not objects.
	Key Key
	// File and Line locate the object, or the offending field when known; File is empty for cluster objects.
	File string
	Line int

	// annotations are the object's, for the galley.istio.io/analyze-suppress annotation.
	annotations map[string]string
}

// Level is the message's severity.
func (m Message) Level() Level { return m.Type.Level }

// Location is "file:line", "file" or "" when the object came from the cluster.
func (m Message) Location() string {
	switch {
	case m.File == "":
		return ""
	case m.Line > 0:
		return fmt.Sprintf("%s:%d", m.File, m.Line)
	}
	return m.File
}

func newMessage(t MessageType, r *Resource, line int, args ...any) Message {
	m := Message{Type: t, Text: fmt.Sprintf(t.Template, args...), Key: r.Key, File: r.Origin.File, Line: line, annotations: r.Annotations}
	if m.Line == 0 {
		m.Line = r.Origin.Line
	}
	if r.Origin.File == "" {
		m.Line = 0
	}
	return m
}

func problemMessage(p problem) Message {
	return Message{Type: InvalidDocument, Text: p.text, File: p.file, Line: p.line}
}

// sortMessages orders messages by file, line, code, then resource, so output is stable.
func sortMessages(ms []Message) {
	sort.SliceStable(ms, func(i, j int) bool {
		a, b := ms[i], ms[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Type.Code != b.Type.Code {
			return a.Type.Code < b.Type.Code
		}
		if a.Key.String() != b.Key.String() {
			return a.Key.String() < b.Key.String()
		}
		return a.Text < b.Text
	})
}

func sortStrings(s []string) { sort.Strings(s) }
