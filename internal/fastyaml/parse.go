// Package fastyaml parses the plain block-style subset of YAML that Kubernetes manifests and rendered
// templates almost always use several times faster than yaml.v3, with exactly yaml.v3's result. Anything
// outside the subset makes it decline (ok is false) and the caller falls back to yaml.v3, so behaviour,
// including error messages, stays yaml.v3's. Differential tests and fuzz targets hold it to that.
package fastyaml

import (
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// Parse parses one document (block mappings and sequences, single-line plain and quoted scalars,
// single-line flow collections) into the node tree yaml.v3 builds, line and column numbers included.
// It declines anchors, tags, block scalars, multi-line scalars or flows, odd indentation and ambiguous
// scalars.
func Parse(data []byte) (*yaml.Node, bool) {
	root, ok := parse[*yaml.Node](string(data), &nodes{})
	if !ok {
		return nil, false
	}
	return &yaml.Node{Kind: yaml.DocumentNode, Line: root.Line, Column: 1, Content: []*yaml.Node{root}}, true
}

// Decode parses text like Parse and returns what yaml.v3's Unmarshal into an `any` returns:
// map[string]any, []any, string, int, float64, bool and nil. Besides what Parse declines, it declines
// non-string keys and duplicate keys.
func Decode(text string) (any, bool) {
	return parse[any](text, values{})
}

func parse[T any](text string, b builder[T]) (T, bool) {
	p := parser[T]{b: b}
	var zero T
	if !p.lex(text) || len(p.lines) == 0 {
		return zero, false
	}
	b.reserve(len(p.lines))
	root, ok := p.block(p.lines[0].indent)
	if !ok || p.pos != len(p.lines) {
		return zero, false
	}
	return root, true
}

type line struct {
	num    int // 1-based
	indent int
	text   string // without indentation and comment
}

type parser[T any] struct {
	lines []line
	pos   int
	b     builder[T]
}

// lex splits data into significant lines, dropping blank and comment lines and trailing comments.
func (p *parser[T]) lex(text string) bool {
	for i := 0; i < len(text); i++ {
		// Non-ASCII (encodings, BOMs, non-printables), control characters and bare CRs: yaml.v3 decides.
		if c := text[i]; c >= 0x7f || c < 0x20 && c != '\n' && c != '\r' || c == '\r' && (i+1 == len(text) || text[i+1] != '\n') {
			return false
		}
	}
	p.lines = make([]line, 0, strings.Count(text, "\n")+1)
	num := 0
	for len(text) > 0 {
		num++
		var l string
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			l, text = text[:i], text[i+1:]
		} else {
			l, text = text, ""
		}
		l = strings.TrimRight(l, "\r")
		indent := 0
		for indent < len(l) && l[indent] == ' ' {
			indent++
		}
		s := l[indent:]
		if strings.HasPrefix(s, "\t") {
			return false
		}
		if strings.HasPrefix(s, "#") {
			continue
		}
		if i := strings.Index(s, " #"); i >= 0 {
			if strings.ContainsAny(s, `'"`) {
				return false // a " #" inside quotes is not a comment; leave it to yaml.v3
			}
			s = s[:i]
		}
		s = strings.TrimRight(s, " \t")
		if s == "" {
			continue
		}
		if strings.HasPrefix(s, "---") || strings.HasPrefix(s, "...") || strings.HasPrefix(s, "%") {
			return false
		}
		p.lines = append(p.lines, line{num: num, indent: indent, text: s})
	}
	return true
}

func isSeqItem(s string) bool { return s == "-" || strings.HasPrefix(s, "- ") }

func (p *parser[T]) block(indent int) (T, bool) {
	if isSeqItem(p.lines[p.pos].text) {
		return p.sequence(indent)
	}
	return p.mapping(indent)
}

func (p *parser[T]) mapping(indent int) (T, bool) {
	var zero T
	n := p.b.mapping(p.lines[p.pos].num, indent+1, 0)
	for p.pos < len(p.lines) {
		l := p.lines[p.pos]
		if l.indent < indent {
			break
		}
		if l.indent > indent || isSeqItem(l.text) {
			if l.indent == indent {
				break // a sequence at the mapping's indentation ends it (handled by the caller)
			}
			return zero, false
		}
		key, rest, ok := splitKey(l.text)
		if !ok {
			return zero, false
		}
		k, ok := scalar(p.b, key, l.num, indent+1)
		if !ok {
			return zero, false
		}
		p.pos++
		var v T
		switch {
		case rest != "":
			if v, ok = p.inlineValue(rest, l.num, indent+1+len(l.text)-len(rest)); !ok {
				return zero, false
			}
			if p.pos < len(p.lines) && p.lines[p.pos].indent > indent {
				return zero, false // a multi-line scalar or something unusual
			}
		case p.pos < len(p.lines) && p.lines[p.pos].indent > indent:
			if v, ok = p.block(p.lines[p.pos].indent); !ok {
				return zero, false
			}
		case p.pos < len(p.lines) && p.lines[p.pos].indent == indent && isSeqItem(p.lines[p.pos].text):
			if v, ok = p.sequence(indent); !ok {
				return zero, false
			}
		default:
			if v, ok = p.b.scalar("!!null", "", 0, l.num, len(l.text)+indent+1); !ok {
				return zero, false
			}
		}
		if !p.b.addPair(n, k, v) {
			return zero, false
		}
	}
	return n, true
}

func (p *parser[T]) sequence(indent int) (T, bool) {
	var zero T
	start := p.lines[p.pos].num
	var items []T
	for p.pos < len(p.lines) {
		l := p.lines[p.pos]
		if l.indent < indent || !isSeqItem(l.text) {
			break
		}
		if l.indent > indent {
			return zero, false
		}
		item := strings.TrimLeft(l.text[1:], " ")
		col := indent + len(l.text) - len(item)
		var v T
		var ok bool
		switch {
		case item == "":
			p.pos++
			if p.pos < len(p.lines) && p.lines[p.pos].indent > indent {
				if v, ok = p.block(p.lines[p.pos].indent); !ok {
					return zero, false
				}
			} else if v, ok = p.b.scalar("!!null", "", 0, l.num, indent+2); !ok {
				return zero, false
			}
		case isSeqItem(item) || isMappingEntry(item):
			// A compact nested collection: re-read this line's remainder at its own column.
			p.lines[p.pos] = line{num: l.num, indent: col, text: item}
			if v, ok = p.block(col); !ok {
				return zero, false
			}
		default:
			if v, ok = p.inlineValue(item, l.num, col+1); !ok {
				return zero, false
			}
			p.pos++
			if p.pos < len(p.lines) && p.lines[p.pos].indent > indent {
				return zero, false
			}
		}
		items = append(items, v)
	}
	return p.b.sequence(start, indent+1, 0, items), true
}

// isMappingEntry reports whether a sequence item starts a block mapping ("- name: x").
func isMappingEntry(s string) bool {
	if s == "" || s[0] == '{' || s[0] == '[' {
		return false
	}
	_, _, ok := splitKey(s)
	return ok
}

// maxKeyLen stays under YAML's 1024-character limit on implicit keys.
const maxKeyLen = 1000

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
	return key, rest, key != "" && len(key) <= maxKeyLen
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
func (p *parser[T]) inlineValue(s string, line, col int) (T, bool) {
	if s[0] == '{' || s[0] == '[' {
		f := flowParser[T]{b: p.b, s: s, line: line, col: col}
		n, ok := f.value()
		f.space()
		return n, ok && f.i == len(s)
	}
	return scalar(p.b, s, line, col)
}
