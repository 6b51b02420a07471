package analyze

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// nodeJSON writes a YAML node tree as JSON without building intermediate maps, so Kubernetes objects can be
// decoded into their typed structs cheaply. Aliases are followed up to a small depth (billion-laughs guard).
func nodeJSON(buf *bytes.Buffer, n *yaml.Node, depth int) {
	if n == nil || depth > 64 {
		buf.WriteString("null")
		return
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) > 0 {
			nodeJSON(buf, n.Content[0], depth+1)
			return
		}
		buf.WriteString("null")
	case yaml.AliasNode:
		if n.Alias == nil {
			buf.WriteString("null")
			return
		}
		nodeJSON(buf, n.Alias, depth+8)
	case yaml.MappingNode:
		buf.WriteByte('{')
		first := true
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Kind != yaml.ScalarNode || n.Content[i].Value == "<<" {
				continue // merge keys and complex keys have no JSON form
			}
			if !first {
				buf.WriteByte(',')
			}
			first = false
			writeJSONString(buf, n.Content[i].Value)
			buf.WriteByte(':')
			nodeJSON(buf, n.Content[i+1], depth+1)
		}
		buf.WriteByte('}')
	case yaml.SequenceNode:
		buf.WriteByte('[')
		for i, e := range n.Content {
			if i > 0 {
				buf.WriteByte(',')
			}
			nodeJSON(buf, e, depth+1)
		}
		buf.WriteByte(']')
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			buf.WriteString("null")
		case "!!bool":
			if strings.EqualFold(n.Value, "true") {
				buf.WriteString("true")
			} else {
				buf.WriteString("false")
			}
		case "!!int":
			if i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64); err == nil {
				buf.WriteString(strconv.FormatInt(i, 10))
				return
			}
			writeJSONString(buf, n.Value)
		case "!!float":
			if f, err := strconv.ParseFloat(n.Value, 64); err == nil && !strings.ContainsAny(n.Value, "nN") {
				buf.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
				return
			}
			writeJSONString(buf, n.Value)
		default:
			writeJSONString(buf, n.Value)
		}
	default:
		buf.WriteString("null")
	}
}

func writeJSONString(buf *bytes.Buffer, s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			b, _ := json.Marshal(s)
			buf.Write(b)
			return
		}
	}
	buf.WriteByte('"')
	buf.WriteString(s)
	buf.WriteByte('"')
}
