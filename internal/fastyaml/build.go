package fastyaml

import (
	"strconv"

	yaml "go.yaml.in/yaml/v3"
)

// builder turns what the parser reads into a result: yaml.v3 nodes for Parse, plain Go values for Decode.
// Building values directly, rather than converting a node tree, keeps Decode (injection's hot path) as
// cheap as a parser written for it alone. Any method may decline by returning false.
type builder[T any] interface {
	reserve(lines int) // room for a document of that many significant lines
	scalar(tag, value string, style yaml.Style, line, col int) (T, bool)
	mapping(line, col int, style yaml.Style) T
	addPair(mapping, key, value T) bool
	// sequence gets its items at the end: collecting them in a []T spares the boxing of a growing []any.
	sequence(line, col int, style yaml.Style, items []T) T
}

// nodes builds yaml.v3's node tree, allocating nodes in slabs: the first sized for the document (a block
// line rarely holds more than two nodes), then small ones for what flow collections add.
type nodes struct {
	slab []yaml.Node
}

func (b *nodes) reserve(lines int) { b.slab = make([]yaml.Node, 2*lines) }

func (b *nodes) node(n yaml.Node) *yaml.Node {
	if len(b.slab) == 0 {
		b.slab = make([]yaml.Node, 16)
	}
	p := &b.slab[0]
	*p = n
	b.slab = b.slab[1:]
	return p
}

func (b *nodes) scalar(tag, value string, style yaml.Style, line, col int) (*yaml.Node, bool) {
	return b.node(yaml.Node{Kind: yaml.ScalarNode, Style: style, Tag: tag, Value: value, Line: line, Column: col}), true
}

func (b *nodes) mapping(line, col int, style yaml.Style) *yaml.Node {
	return b.node(yaml.Node{Kind: yaml.MappingNode, Style: style, Tag: "!!map", Line: line, Column: col})
}

func (b *nodes) sequence(line, col int, style yaml.Style, items []*yaml.Node) *yaml.Node {
	return b.node(yaml.Node{Kind: yaml.SequenceNode, Style: style, Tag: "!!seq", Line: line, Column: col, Content: items})
}

func (b *nodes) addPair(m, k, v *yaml.Node) bool {
	m.Content = append(m.Content, k, v)
	return true
}

// values builds what yaml.v3's Unmarshal into an `any` returns. It declines what Unmarshal decodes
// differently from the common case (non-string keys make a map[any]any) or rejects (duplicate keys).
type values struct{}

func (values) scalar(tag, value string, _ yaml.Style, _, _ int) (any, bool) {
	switch tag {
	case "!!str":
		return value, true
	case "!!null":
		return nil, true
	case "!!bool":
		return value[0] == 't' || value[0] == 'T', true
	case "!!int":
		i, err := strconv.ParseInt(value, 10, 0)
		return int(i), err == nil
	case "!!float":
		f, err := strconv.ParseFloat(value, 64)
		return f, err == nil
	}
	return nil, false
}

func (values) reserve(int) {}

func (values) mapping(int, int, yaml.Style) any { return map[string]any{} }

func (values) sequence(_, _ int, _ yaml.Style, items []any) any {
	if items == nil {
		return []any{}
	}
	return items
}

func (values) addPair(m, k, v any) bool {
	key, ok := k.(string)
	if !ok {
		return false
	}
	out := m.(map[string]any)
	if _, dup := out[key]; dup {
		return false
	}
	out[key] = v
	return true
}
