package analyze

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// fieldError is one schema problem at a field.
type fieldError struct {
	path string
	line int
	text string
}

func (e fieldError) String() string {
	if e.path == "" {
		return e.text
	}
	return e.path + ": " + e.text
}

// schemaWalker checks a YAML node tree strictly against a proto message descriptor, the way the API server's
// structural schema and protojson would, but with the line of every offending field. It also builds the
// JSON-ready value tree that protojson then decodes, normalising the few YAML spellings protojson does not
// accept (durations like "1m").
type schemaWalker struct {
	offset int
	errs   []fieldError
}

func (w *schemaWalker) fail(n *yaml.Node, path, format string, args ...any) {
	w.errs = append(w.errs, fieldError{path: path, line: n.Line + w.offset, text: fmt.Sprintf(format, args...)})
}

// decodeSpec checks node against msg's descriptor and fills msg directly through protobuf reflection.
func decodeSpec(node *yaml.Node, offset int, path string, msg proto.Message) []fieldError {
	if node == nil {
		return nil
	}
	w := &schemaWalker{offset: offset}
	w.message(node, msg.ProtoReflect(), path)
	return w.errs
}

func (w *schemaWalker) message(n *yaml.Node, m protoreflect.Message, path string) bool {
	md := m.Descriptor()
	switch md.FullName() {
	case "google.protobuf.Duration":
		d, ok := w.duration(n, path)
		if ok {
			m.Set(md.Fields().ByName("seconds"), protoreflect.ValueOfInt64(int64(d/time.Second)))
			m.Set(md.Fields().ByName("nanos"), protoreflect.ValueOfInt32(int32(d%time.Second)))
		}
		return ok
	case "google.protobuf.Timestamp":
		t, err := time.Parse(time.RFC3339Nano, n.Value)
		if n.Kind != yaml.ScalarNode || err != nil {
			w.fail(n, path, "expected an RFC 3339 timestamp, got %q", n.Value)
			return false
		}
		m.Set(md.Fields().ByName("seconds"), protoreflect.ValueOfInt64(t.Unix()))
		m.Set(md.Fields().ByName("nanos"), protoreflect.ValueOfInt32(int32(t.Nanosecond())))
		return true
	case "google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue", "google.protobuf.Any":
		// Free-form values: let protojson read them.
		if md.FullName() == "google.protobuf.Struct" && n.Kind != yaml.MappingNode {
			w.fail(n, path, "expected an object, got %s", nodeKind(n))
			return false
		}
		var buf bytes.Buffer
		nodeJSON(&buf, n, 0)
		if err := protojson.Unmarshal(buf.Bytes(), m.Interface()); err != nil {
			w.fail(n, path, "%s", strings.TrimPrefix(err.Error(), "proto: "))
			return false
		}
		return true
	}
	if strings.HasPrefix(string(md.FullName()), "google.protobuf.") && strings.HasSuffix(string(md.FullName()), "Value") {
		// Wrapper types (BoolValue, UInt32Value, ...) are written as their bare value.
		fd := md.Fields().ByName("value")
		v, ok := w.scalar(n, fd, path)
		if ok {
			m.Set(fd, v)
		}
		return ok
	}
	if n.Kind != yaml.MappingNode {
		w.fail(n, path, "expected an object, got %s", nodeKind(n))
		return false
	}
	var oneofs map[protoreflect.FullName]string
	ok := true
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolveAlias(n.Content[i+1])
		fd := md.Fields().ByJSONName(k.Value)
		if fd == nil {
			fpath := joinPath(path, k.Value)
			if alt := md.Fields().ByName(protoreflect.Name(k.Value)); alt != nil {
				w.fail(k, fpath, "unknown field %q (did you mean %q?)", k.Value, alt.JSONName())
			} else {
				w.fail(k, fpath, "unknown field %q", k.Value)
			}
			ok = false
			continue
		}
		if v.Tag == "!!null" {
			continue
		}
		if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() {
			if prev, dup := oneofs[od.FullName()]; dup {
				w.fail(k, joinPath(path, k.Value), "only one of %q and %q may be set", prev, k.Value)
				ok = false
				continue
			}
			if oneofs == nil {
				oneofs = map[protoreflect.FullName]string{}
			}
			oneofs[od.FullName()] = k.Value
		}
		if !w.field(v, m, fd, path, k.Value) {
			ok = false
		}
	}
	return ok
}

// field decodes n into field fd of m. The path is only built when there is an error to report.
func (w *schemaWalker) field(n *yaml.Node, m protoreflect.Message, fd protoreflect.FieldDescriptor, parent, key string) bool {
	path := joinPath(parent, key)
	switch {
	case fd.IsMap():
		if n.Kind != yaml.MappingNode {
			w.fail(n, path, "expected a map, got %s", nodeKind(n))
			return false
		}
		mp := m.Mutable(fd).Map()
		ok := true
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], resolveAlias(n.Content[i+1])
			mk, kok := w.mapKey(k, fd.MapKey(), path)
			if !kok {
				ok = false
				continue
			}
			if fd.MapValue().Kind() == protoreflect.MessageKind {
				val := mp.NewValue()
				if !w.message(v, val.Message(), joinPath(path, k.Value)) {
					ok = false
				}
				mp.Set(mk, val)
				continue
			}
			val, vok := w.scalar(v, fd.MapValue(), joinPath(path, k.Value))
			if !vok {
				ok = false
				continue
			}
			mp.Set(mk, val)
		}
		return ok
	case fd.IsList():
		if n.Kind != yaml.SequenceNode {
			w.fail(n, path, "expected a list, got %s", nodeKind(n))
			return false
		}
		lst := m.Mutable(fd).List()
		ok := true
		for i, e := range n.Content {
			e = resolveAlias(e)
			if fd.Kind() == protoreflect.MessageKind {
				el := lst.NewElement()
				if !w.message(e, el.Message(), fmt.Sprintf("%s[%d]", path, i)) {
					ok = false
				}
				lst.Append(el)
				continue
			}
			val, eok := w.scalar(e, fd, fmt.Sprintf("%s[%d]", path, i))
			if !eok {
				ok = false
				continue
			}
			lst.Append(val)
		}
		return ok
	case fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind:
		return w.message(n, m.Mutable(fd).Message(), path)
	}
	val, ok := w.scalar(n, fd, path)
	if ok {
		m.Set(fd, val)
	}
	return ok
}

func (w *schemaWalker) mapKey(k *yaml.Node, fd protoreflect.FieldDescriptor, path string) (protoreflect.MapKey, bool) {
	if fd.Kind() == protoreflect.StringKind {
		return protoreflect.ValueOfString(k.Value).MapKey(), true
	}
	// Integer and bool keys are written as strings or plain scalars.
	key := *k
	if fd.Kind() != protoreflect.BoolKind {
		key.Tag = "!!int"
	}
	v, ok := w.scalar(&key, fd, joinPath(path, k.Value))
	if !ok {
		return protoreflect.MapKey{}, false
	}
	return v.MapKey(), true
}

func (w *schemaWalker) scalar(n *yaml.Node, fd protoreflect.FieldDescriptor, path string) (protoreflect.Value, bool) {
	var zero protoreflect.Value
	if n.Kind != yaml.ScalarNode {
		w.fail(n, path, "expected %s, got %s", kindName(fd), nodeKind(n))
		return zero, false
	}
	switch fd.Kind() {
	case protoreflect.StringKind:
		if n.Tag != "!!str" {
			w.fail(n, path, "expected a string, got %s %s (quote it)", nodeKind(n), n.Value)
			return zero, false
		}
		return protoreflect.ValueOfString(n.Value), true
	case protoreflect.BytesKind:
		b, err := base64.StdEncoding.DecodeString(n.Value)
		if err != nil {
			w.fail(n, path, "expected base64 data: %v", err)
			return zero, false
		}
		return protoreflect.ValueOfBytes(b), true
	case protoreflect.BoolKind:
		if n.Tag != "!!bool" {
			w.fail(n, path, "expected true or false, got %q", n.Value)
			return zero, false
		}
		return protoreflect.ValueOfBool(strings.EqualFold(n.Value, "true")), true
	case protoreflect.EnumKind:
		if v := fd.Enum().Values().ByName(protoreflect.Name(n.Value)); v != nil {
			return protoreflect.ValueOfEnum(v.Number()), true
		}
		if i, err := strconv.Atoi(n.Value); err == nil && fd.Enum().Values().ByNumber(protoreflect.EnumNumber(i)) != nil {
			return protoreflect.ValueOfEnum(protoreflect.EnumNumber(i)), true
		}
		w.fail(n, path, "invalid value %q (want one of %s)", n.Value, enumNames(fd.Enum()))
		return zero, false
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		f, err := strconv.ParseFloat(n.Value, 64)
		if err != nil || (n.Tag != "!!int" && n.Tag != "!!float") {
			w.fail(n, path, "expected a number, got %q", n.Value)
			return zero, false
		}
		if fd.Kind() == protoreflect.FloatKind {
			return protoreflect.ValueOfFloat32(float32(f)), true
		}
		return protoreflect.ValueOfFloat64(f), true
	}
	// Integer kinds.
	if n.Tag != "!!int" && n.Tag != "!!str" {
		w.fail(n, path, "expected an integer, got %q", n.Value)
		return zero, false
	}
	i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
	if err != nil {
		w.fail(n, path, "expected an integer, got %q", n.Value)
		return zero, false
	}
	lo, hi := intRange(fd.Kind())
	if i < lo || i > hi {
		w.fail(n, path, "%d is out of range [%d, %d]", i, lo, hi)
		return zero, false
	}
	switch fd.Kind() {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(int32(i)), true
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(uint32(i)), true
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(uint64(i)), true
	}
	return protoreflect.ValueOfInt64(i), true
}

func (w *schemaWalker) duration(n *yaml.Node, path string) (time.Duration, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		w.fail(n, path, "expected a duration like \"5s\" or \"1m\", got %q", n.Value)
		return 0, false
	}
	d, err := time.ParseDuration(n.Value)
	if err != nil {
		w.fail(n, path, "invalid duration %q (want a number with a unit, like \"500ms\", \"5s\" or \"1m\")", n.Value)
		return 0, false
	}
	if d < 0 {
		w.fail(n, path, "duration %q must not be negative", n.Value)
		return 0, false
	}
	return d, true
}

func intRange(k protoreflect.Kind) (int64, int64) {
	switch k {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return math.MinInt32, math.MaxInt32
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return 0, math.MaxUint32
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return 0, math.MaxInt64
	}
	return math.MinInt64, math.MaxInt64
}

func kindName(fd protoreflect.FieldDescriptor) string {
	switch fd.Kind() {
	case protoreflect.StringKind:
		return "a string"
	case protoreflect.BoolKind:
		return "true or false"
	case protoreflect.EnumKind:
		return "one of " + enumNames(fd.Enum())
	}
	return "a number"
}

func enumNames(ed protoreflect.EnumDescriptor) string {
	vals := ed.Values()
	names := make([]string, 0, vals.Len())
	for i := 0; i < vals.Len(); i++ {
		names = append(names, string(vals.Get(i).Name()))
	}
	return strings.Join(names, ", ")
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "an object"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!int", "!!float":
			return "number"
		case "!!bool":
			return "boolean"
		case "!!null":
			return "null"
		}
		return "string"
	}
	return "unknown node"
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
