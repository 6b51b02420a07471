package fastyaml

import (
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// flowParser parses a single-line flow collection.
type flowParser[T any] struct {
	b    builder[T]
	s    string
	i    int
	line int
	col  int
}

func (f *flowParser[T]) space() {
	for f.i < len(f.s) && f.s[f.i] == ' ' {
		f.i++
	}
}

func (f *flowParser[T]) value() (T, bool) {
	var zero T
	f.space()
	if f.i >= len(f.s) {
		return zero, false
	}
	switch f.s[f.i] {
	case '{':
		return f.collection('}')
	case '[':
		return f.collection(']')
	}
	return f.scalar(true)
}

func (f *flowParser[T]) collection(end byte) (T, bool) {
	var zero T
	col := f.col + f.i
	var n T // the mapping
	var items []T
	if end == '}' {
		n = f.b.mapping(f.line, col, yaml.FlowStyle)
	}
	f.i++
	for {
		f.space()
		if f.i >= len(f.s) {
			return zero, false
		}
		if f.s[f.i] == end {
			f.i++
			if end == ']' {
				n = f.b.sequence(f.line, col, yaml.FlowStyle, items)
			}
			return n, true
		}
		if end == '}' {
			k, ok := f.scalar(false)
			if !ok || f.i >= len(f.s) || f.s[f.i] != ':' {
				return zero, false
			}
			f.i++
			if f.i < len(f.s) && f.s[f.i] != ' ' {
				return zero, false
			}
			v, ok := f.value()
			if !ok {
				return zero, false
			}
			if !f.b.addPair(n, k, v) {
				return zero, false
			}
		} else {
			v, ok := f.value()
			if !ok {
				return zero, false
			}
			items = append(items, v)
		}
		f.space()
		if f.i < len(f.s) && f.s[f.i] == ',' {
			f.i++
			continue
		}
		if f.i < len(f.s) && f.s[f.i] == end {
			continue
		}
		return zero, false
	}
}

// scalar reads a flow scalar: quoted, or plain up to a flow indicator (and ": " for keys).
func (f *flowParser[T]) scalar(isValue bool) (T, bool) {
	var zero T
	f.space()
	start := f.i
	if f.i < len(f.s) && (f.s[f.i] == '"' || f.s[f.i] == '\'') {
		end := closingQuote(f.s[f.i:])
		if end < 0 {
			return zero, false
		}
		f.i += end + 1
		return scalar(f.b, f.s[start:f.i], f.line, f.col+start)
	}
	for f.i < len(f.s) {
		c := f.s[f.i]
		if c == ',' || c == '}' || c == ']' || c == '{' || c == '[' || c == '#' {
			break
		}
		if c == ':' && (f.i+1 == len(f.s) || f.s[f.i+1] == ' ' || f.s[f.i+1] == ',' || f.s[f.i+1] == '}') {
			if isValue {
				return zero, false
			}
			break
		}
		f.i++
	}
	text := strings.TrimRight(f.s[start:f.i], " ")
	if text == "" {
		return zero, false
	}
	return scalar(f.b, text, f.line, f.col+start)
}
