package analyze

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"skiff.dev/skiff/internal/fastyaml"
)

// document is one YAML document of an input, parsed into nodes.
type document struct {
	file string
	// offset is added to node lines (which count from the document's start) to get file lines.
	offset int
	root   *yaml.Node
}

// problem is input that cannot become an object; it is reported as an InvalidDocument message.
type problem struct {
	file string
	line int
	text string
}

// chunk is the text of one YAML document and the number of lines before it in its file.
type chunk struct {
	file      string
	data      []byte
	startLine int
}

// splitChunks cuts a stream at "---" lines so each document is parsed on its own: a syntax error in one
// document does not hide the others (a single yaml.Decoder stops at the first error).
func splitChunks(file string, data []byte) []chunk {
	var out []chunk
	start, startLine, line := 0, 0, 0
	flush := func(end int) {
		if len(bytes.TrimSpace(data[start:end])) > 0 {
			out = append(out, chunk{file: file, data: data[start:end], startLine: startLine})
		}
	}
	for pos := 0; pos < len(data); {
		end := bytes.IndexByte(data[pos:], '\n')
		next := len(data)
		if end >= 0 {
			next = pos + end + 1
		}
		text := strings.TrimRight(string(data[pos:next]), "\r\n")
		if text == "---" || strings.HasPrefix(text, "--- ") || text == "..." {
			flush(pos)
			start, startLine = next, line+1
		}
		pos = next
		line++
	}
	flush(len(data))
	return out
}

// parse parses one chunk; ok is false for a chunk holding only comments.
func (c chunk) parse() (document, *problem, bool) {
	if n, ok := fastyaml.Parse(c.data); ok {
		return document{file: c.file, offset: c.startLine, root: n.Content[0]}, nil, true
	}
	var n yaml.Node
	if err := yaml.Unmarshal(c.data, &n); err != nil {
		return document{}, &problem{file: c.file, line: c.startLine + yamlErrorLine(err), text: "YAML syntax error: " + yamlErrorText(err)}, false
	}
	if n.Kind != yaml.DocumentNode || len(n.Content) == 0 {
		return document{}, nil, false
	}
	// Aliases are followed when decoding; refuse documents whose aliases expand them enormously
	// ("billion laughs"), as yaml.v3 itself does when decoding into Go values.
	if size := expandedSize(n.Content[0], map[*yaml.Node]int{}, 0); size > maxExpandedNodes {
		return document{}, &problem{file: c.file, line: c.startLine + n.Content[0].Line, text: "document contains excessive aliasing"}, false
	}
	return document{file: c.file, offset: c.startLine, root: resolveAlias(n.Content[0])}, nil, true
}

// maxExpandedNodes bounds a document's size with its aliases expanded.
const maxExpandedNodes = 1_000_000

// expandedSize counts the nodes of a tree with aliases expanded, stopping early past the limit.
func expandedSize(n *yaml.Node, memo map[*yaml.Node]int, depth int) int {
	if n == nil {
		return 0
	}
	if depth > 1000 {
		return maxExpandedNodes + 1
	}
	if v, ok := memo[n]; ok {
		return v
	}
	memo[n] = maxExpandedNodes + 1 // a cycle counts as too large
	size := 1
	if n.Kind == yaml.AliasNode {
		size += expandedSize(n.Alias, memo, depth+1)
	}
	for _, c := range n.Content {
		size += expandedSize(c, memo, depth+1)
		if size > maxExpandedNodes {
			break
		}
	}
	memo[n] = size
	return size
}

// splitDocuments parses every document of a stream.
func splitDocuments(file string, data []byte) ([]document, []problem) {
	var docs []document
	var problems []problem
	for _, c := range splitChunks(file, data) {
		d, p, ok := c.parse()
		if p != nil {
			problems = append(problems, *p)
		}
		if ok {
			docs = append(docs, d)
		}
	}
	return docs, problems
}

var yamlLineRE = regexp.MustCompile(`line (\d+): ?`)

// yamlErrorLine extracts the 1-based line from a yaml.v3 error, relative to the document (1 when unknown).
func yamlErrorLine(err error) int {
	m := yamlLineRE.FindStringSubmatch(err.Error())
	if m == nil {
		return 1
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// yamlErrorText drops the "yaml: line N:" prefix, since the message carries the line itself.
func yamlErrorText(err error) string {
	s := strings.TrimPrefix(err.Error(), "yaml: ")
	s = yamlLineRE.ReplaceAllString(s, "")
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// mappingValue returns the value node of key in a mapping node, or nil.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return resolveAlias(n.Content[i+1])
		}
	}
	return nil
}

// scalar returns a scalar node's value, "" for anything else.
func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return ""
	}
	return n.Value
}

// stringMap reads a mapping of scalars (labels, annotations, selectors).
func stringMap(n *yaml.Node) map[string]string {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	m := make(map[string]string, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		m[n.Content[i].Value] = scalar(resolveAlias(n.Content[i+1]))
	}
	return m
}

// expandLists replaces "kind: List" documents (kubectl get -o yaml) by their items.
func expandLists(docs []document) []document {
	out := docs[:0:0]
	for _, d := range docs {
		items := mappingValue(d.root, "items")
		if strings.HasSuffix(scalar(mappingValue(d.root, "kind")), "List") && items != nil && items.Kind == yaml.SequenceNode {
			for _, it := range items.Content {
				out = append(out, document{file: d.file, offset: d.offset, root: resolveAlias(it)})
			}
			continue
		}
		out = append(out, d)
	}
	return out
}

func (d document) line() int { return d.root.Line + d.offset }

func (p problem) String() string { return fmt.Sprintf("%s:%d: %s", p.file, p.line, p.text) }
