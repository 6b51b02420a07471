package analyze

import (
	"bytes"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// fastYAML parses the plain block-style subset of YAML that Kubernetes manifests almost always use (block
// mappings and sequences, single-line plain and quoted scalars, single-line flow collections) several
// times faster than yaml.v3, producing the same node tree. Anything outside that subset (anchors, tags,
// block scalars, multi-line scalars or flows, odd indentation, ambiguous scalars) makes it give up, and the
// caller falls back to yaml.v3, so behaviour, including error messages, stays yaml.v3's. A differential
// test and fuzz target hold the two parsers to the same output.
func fastYAML(data []byte) (*yaml.Node, bool) {
	p := fastParser{}
	if !p.lex(data) {
		return nil, false
	}
	if len(p.lines) == 0 {
		return nil, false
	}
	root, ok := p.block(p.lines[0].indent)
	if !ok || p.pos != len(p.lines) {
		return nil, false
	}
	return &yaml.Node{Kind: yaml.DocumentNode, Line: root.Line, Column: 1, Content: []*yaml.Node{root}}, true
}

type fastLine struct {
	num    int // 1-based
	indent int
	text   string // without indentation and comment
}

type fastParser struct {
	lines []fastLine
	pos   int
}

// lex splits data into significant lines, dropping blank and comment lines and trailing comments.
func (p *fastParser) lex(data []byte) bool {
	for i, c := range data {
		// Non-ASCII (encodings, BOMs, non-printables), control characters and bare CRs: yaml.v3 decides.
		if c >= 0x7f || c < 0x20 && c != '\n' && c != '\r' || c == '\r' && (i+1 == len(data) || data[i+1] != '\n') {
			return false
		}
	}
	num := 0
	for len(data) > 0 {
		num++
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		line = bytes.TrimRight(line, "\r")
		indent := 0
		for indent < len(line) && line[indent] == ' ' {
			indent++
		}
		text := string(line[indent:])
		if strings.HasPrefix(text, "\t") {
			return false
		}
		if i := strings.Index(text, " #"); i >= 0 || strings.HasPrefix(text, "#") {
			if strings.HasPrefix(text, "#") {
				continue
			}
			if strings.ContainsAny(text, `'"`) {
				return false // a " #" inside quotes is not a comment; leave it to yaml.v3
			}
			text = text[:i]
		}
		text = strings.TrimRight(text, " \t")
		if text == "" {
			continue
		}
		if strings.HasPrefix(text, "---") || strings.HasPrefix(text, "...") || strings.HasPrefix(text, "%") {
			return false
		}
		p.lines = append(p.lines, fastLine{num: num, indent: indent, text: text})
	}
	return true
}

func (p *fastParser) block(indent int) (*yaml.Node, bool) {
	l := p.lines[p.pos]
	if l.text == "-" || strings.HasPrefix(l.text, "- ") {
		return p.sequence(indent)
	}
	return p.mapping(indent)
}

func (p *fastParser) mapping(indent int) (*yaml.Node, bool) {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: p.lines[p.pos].num, Column: indent + 1}
	for p.pos < len(p.lines) {
		l := p.lines[p.pos]
		if l.indent < indent {
			break
		}
		if l.indent > indent || l.text == "-" || strings.HasPrefix(l.text, "- ") {
			if l.indent == indent {
				break // a sequence at the mapping's indentation ends it (handled by the caller)
			}
			return nil, false
		}
		key, rest, ok := splitKey(l.text)
		if !ok {
			return nil, false
		}
		k, ok := scalarNode(key, l.num, indent+1)
		if !ok {
			return nil, false
		}
		p.pos++
		var v *yaml.Node
		if rest != "" {
			if v, ok = inlineValue(rest, l.num, indent+1+len(l.text)-len(rest)); !ok {
				return nil, false
			}
			if p.pos < len(p.lines) && p.lines[p.pos].indent > indent {
				return nil, false // a multi-line scalar or something unusual
			}
		} else if p.pos < len(p.lines) && p.lines[p.pos].indent > indent {
			if v, ok = p.block(p.lines[p.pos].indent); !ok {
				return nil, false
			}
		} else if p.pos < len(p.lines) && p.lines[p.pos].indent == indent && (p.lines[p.pos].text == "-" || strings.HasPrefix(p.lines[p.pos].text, "- ")) {
			if v, ok = p.sequence(indent); !ok {
				return nil, false
			}
		} else {
			v = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: l.num, Column: len(l.text) + indent + 1}
		}
		n.Content = append(n.Content, k, v)
	}
	return n, true
}

func (p *fastParser) sequence(indent int) (*yaml.Node, bool) {
	n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: p.lines[p.pos].num, Column: indent + 1}
	for p.pos < len(p.lines) {
		l := p.lines[p.pos]
		if l.indent < indent || !(l.text == "-" || strings.HasPrefix(l.text, "- ")) {
			break
		}
		if l.indent > indent {
			return nil, false
		}
		item := strings.TrimLeft(l.text[1:], " ")
		col := indent + len(l.text) - len(item)
		var v *yaml.Node
		var ok bool
		switch {
		case item == "":
			p.pos++
			if p.pos < len(p.lines) && p.lines[p.pos].indent > indent {
				if v, ok = p.block(p.lines[p.pos].indent); !ok {
					return nil, false
				}
			} else {
				v = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: l.num, Column: indent + 2}
			}
		case item == "-" || strings.HasPrefix(item, "- ") || isMappingEntry(item):
			// A compact nested collection: re-read this line's remainder at its own column.
			p.lines[p.pos] = fastLine{num: l.num, indent: col, text: item}
			if v, ok = p.block(col); !ok {
				return nil, false
			}
		default:
			if v, ok = inlineValue(item, l.num, col+1); !ok {
				return nil, false
			}
			p.pos++
			if p.pos < len(p.lines) && p.lines[p.pos].indent > indent {
				return nil, false
			}
		}
		n.Content = append(n.Content, v)
	}
	return n, true
}

// isMappingEntry reports whether a sequence item starts a block mapping ("- name: x").
func isMappingEntry(s string) bool {
	if s == "" || s[0] == '{' || s[0] == '[' {
		return false
	}
	_, _, ok := splitKey(s)
	return ok
}

// splitKey splits "key: value" or "key:"; quoted keys are allowed.
func splitKey(s string) (key, rest string, ok bool) {
	if s[0] == '"' || s[0] == '\'' {
		end := closingQuote(s)
		if end < 0 || end+1 >= len(s) || s[end+1] != ':' || end+2 < len(s) && s[end+2] != ' ' {
			return "", "", false
		}
		key, rest = s[:end+1], s[end+2:]
	} else {
		i := strings.Index(s, ": ")
		switch {
		case i >= 0:
			key, rest = s[:i], s[i+2:]
		case strings.HasSuffix(s, ":"):
			key = s[:len(s)-1]
		default:
			return "", "", false
		}
		key = strings.TrimRight(key, " ")
		if strings.ContainsAny(key, "{}[],") || strings.HasPrefix(key, "? ") || strings.HasPrefix(key, "- ") {
			return "", "", false
		}
	}
	rest = strings.TrimLeft(rest, " ")
	return key, rest, key != ""
}

func closingQuote(s string) int {
	q := s[0]
	for i := 1; i < len(s); i++ {
		switch {
		case q == '\'' && s[i] == '\'':
			if i+1 < len(s) && s[i+1] == '\'' {
				i++
				continue
			}
			return i
		case q == '"' && s[i] == '\\':
			i++
		case q == '"' && s[i] == '"':
			return i
		}
	}
	return -1
}

// inlineValue parses a value that fits on its line: a flow collection or a scalar.
func inlineValue(s string, line, col int) (*yaml.Node, bool) {
	if s[0] == '{' || s[0] == '[' {
		f := flowParser{s: s, line: line, col: col}
		n, ok := f.value()
		f.space()
		return n, ok && f.i == len(s)
	}
	return scalarNode(s, line, col)
}

// isPlainInt matches [-+]?(0|[1-9][0-9]{0,17}): decimal integers that fit int64 without leading zeros.
func isPlainInt(s string) bool {
	s = strings.TrimLeft(s[:1], "+-") + s[1:]
	if s == "" || len(s) > 18 || s[0] == '0' && len(s) > 1 {
		return false
	}
	return digits(s) == len(s)
}

// isPlainFloat matches [-+]?(\.[0-9]+|[0-9]+\.[0-9]*)([eE][-+]?[0-9]+)?.
func isPlainFloat(s string) bool {
	if s[0] == '+' || s[0] == '-' {
		s = s[1:]
	}
	whole := digits(s)
	s = s[whole:]
	if s == "" || s[0] != '.' {
		return false
	}
	s = s[1:]
	frac := digits(s)
	if whole == 0 && frac == 0 {
		return false
	}
	s = s[frac:]
	if s == "" {
		return true
	}
	if s[0] != 'e' && s[0] != 'E' {
		return false
	}
	s = s[1:]
	if s != "" && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	return s != "" && digits(s) == len(s)
}

func digits(s string) int {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// scalarNode builds a scalar with yaml.v3's tag resolution for the unambiguous cases and gives up otherwise.
func scalarNode(s string, line, col int) (*yaml.Node, bool) {
	n := &yaml.Node{Kind: yaml.ScalarNode, Line: line, Column: col}
	switch s[0] {
	case '"':
		if closingQuote(s) != len(s)-1 {
			return nil, false
		}
		body := s[1 : len(s)-1]
		if strings.ContainsRune(body, '\\') {
			return nil, false
		}
		n.Tag, n.Value, n.Style = "!!str", body, yaml.DoubleQuotedStyle
		return n, true
	case '\'':
		if closingQuote(s) != len(s)-1 {
			return nil, false
		}
		n.Tag, n.Value, n.Style = "!!str", strings.ReplaceAll(s[1:len(s)-1], "''", "'"), yaml.SingleQuotedStyle
		return n, true
	case '&', '*', '!', '|', '>', '%', '@', '`', '{', '[', ']', '}', ',', '#', '?', '-', ':':
		if !(s[0] == '-' && len(s) > 1 && s[1] != ' ') {
			return nil, false
		}
	}
	if strings.Contains(s, ": ") || strings.HasSuffix(s, ":") || strings.Contains(s, " #") {
		return nil, false
	}
	n.Value = s
	switch s {
	case "~", "null", "Null", "NULL":
		n.Tag = "!!null"
		return n, true
	case "true", "True", "TRUE", "false", "False", "FALSE":
		n.Tag = "!!bool"
		return n, true
	case "<<":
		return nil, false
	}
	c := s[0]
	if c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' {
		switch {
		case isPlainInt(s):
			n.Tag = "!!int"
			return n, true
		case isPlainFloat(s):
			n.Tag = "!!float"
			return n, true
		case strings.Trim(s, "0123456789abcdefABCDEFxXoO_+-.:") == "" || strings.ContainsAny(s, " tTzZ") ||
			strings.HasPrefix(strings.TrimLeft(s, "+-"), "."):
			return nil, false // hex, octal, sexagesimal, timestamps: yaml.v3 decides
		}
	}
	n.Tag = "!!str"
	return n, true
}

// flowParser parses a single-line flow collection.
type flowParser struct {
	s    string
	i    int
	line int
	col  int
}

func (f *flowParser) space() {
	for f.i < len(f.s) && f.s[f.i] == ' ' {
		f.i++
	}
}

func (f *flowParser) value() (*yaml.Node, bool) {
	f.space()
	if f.i >= len(f.s) {
		return nil, false
	}
	switch f.s[f.i] {
	case '{':
		return f.collection('}')
	case '[':
		return f.collection(']')
	}
	return f.scalar(true)
}

func (f *flowParser) collection(end byte) (*yaml.Node, bool) {
	n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle, Line: f.line, Column: f.col + f.i}
	if end == '}' {
		n.Kind, n.Tag = yaml.MappingNode, "!!map"
	}
	f.i++
	for {
		f.space()
		if f.i >= len(f.s) {
			return nil, false
		}
		if f.s[f.i] == end {
			f.i++
			return n, true
		}
		if end == '}' {
			k, ok := f.scalar(false)
			if !ok || f.i >= len(f.s) || f.s[f.i] != ':' {
				return nil, false
			}
			f.i++
			if f.i < len(f.s) && f.s[f.i] != ' ' {
				return nil, false
			}
			v, ok := f.value()
			if !ok {
				return nil, false
			}
			n.Content = append(n.Content, k, v)
		} else {
			v, ok := f.value()
			if !ok {
				return nil, false
			}
			n.Content = append(n.Content, v)
		}
		f.space()
		if f.i < len(f.s) && f.s[f.i] == ',' {
			f.i++
			continue
		}
		if f.i < len(f.s) && f.s[f.i] == end {
			continue
		}
		return nil, false
	}
}

// scalar reads a flow scalar: quoted, or plain up to a flow indicator (and ": " for keys).
func (f *flowParser) scalar(isValue bool) (*yaml.Node, bool) {
	f.space()
	start := f.i
	if f.i < len(f.s) && (f.s[f.i] == '"' || f.s[f.i] == '\'') {
		end := closingQuote(f.s[f.i:])
		if end < 0 {
			return nil, false
		}
		f.i += end + 1
		return scalarNode(f.s[start:f.i], f.line, f.col+start)
	}
	for f.i < len(f.s) {
		c := f.s[f.i]
		if c == ',' || c == '}' || c == ']' || c == '{' || c == '[' || c == '#' {
			break
		}
		if c == ':' && (f.i+1 == len(f.s) || f.s[f.i+1] == ' ' || f.s[f.i+1] == ',' || f.s[f.i+1] == '}') {
			if isValue {
				return nil, false
			}
			break
		}
		f.i++
	}
	text := strings.TrimRight(f.s[start:f.i], " ")
	if text == "" {
		return nil, false
	}
	return scalarNode(text, f.line, f.col+start)
}
