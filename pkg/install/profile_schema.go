package install

import (
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
)

// schemaKind is what a position in a profile document may hold.
type schemaKind int

const (
	kindObject schemaKind = iota // known fields only (a Go struct or a proto message)
	kindMap                      // any string keys, values of one schema
	kindList
	kindString
	kindBool
	kindInt
	kindFloat
	kindOpaque // a Go type with its own JSON decoding (Quantity, IntOrString): checked by decoding into it
	kindAny    // free-form (proto well-known types such as Duration, Struct); checked by the final protojson decode
)

// schema describes one position of the profile document, from the Go types or, under spec.meshConfig, from
// the MeshConfig proto descriptor. It exists so that strict decoding can name the full path of a bad field.
type fieldSchema struct {
	kind   schemaKind
	goType reflect.Type                   // Go-typed positions
	msg    protoreflect.MessageDescriptor // proto message positions (kindObject)
	enum   protoreflect.EnumDescriptor    // proto enum positions (kindString)
	wkt    protoreflect.MessageDescriptor // proto well-known types (kindAny): checked by protojson
	elem   *fieldSchema                   // proto list and map elements
}

// protoSchemaTag marks a Go field whose content is checked against a proto message instead of its Go type.
const protoSchemaTag = "protoschema"

func profileSchema() fieldSchema { return goSchema(reflect.TypeFor[Profile]()) }

func goSchema(t reflect.Type) fieldSchema {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if pt := reflect.PointerTo(t); pt.Implements(reflect.TypeFor[json.Unmarshaler]()) || pt.Implements(reflect.TypeFor[encoding.TextUnmarshaler]()) {
		return fieldSchema{kind: kindOpaque, goType: t}
	}
	switch t.Kind() {
	case reflect.Struct:
		return fieldSchema{kind: kindObject, goType: t}
	case reflect.Map:
		return fieldSchema{kind: kindMap, goType: t}
	case reflect.Slice, reflect.Array:
		return fieldSchema{kind: kindList, goType: t}
	case reflect.String:
		return fieldSchema{kind: kindString, goType: t}
	case reflect.Bool:
		return fieldSchema{kind: kindBool, goType: t}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return fieldSchema{kind: kindInt, goType: t}
	case reflect.Float32, reflect.Float64:
		return fieldSchema{kind: kindFloat, goType: t}
	default:
		return fieldSchema{kind: kindAny, goType: t}
	}
}

// field returns the schema of the named field of an object, false when there is no such field.
func (s fieldSchema) field(name string) (fieldSchema, bool) {
	if s.msg != nil {
		fd := s.msg.Fields().ByJSONName(name)
		if fd == nil {
			fd = s.msg.Fields().ByName(protoreflect.Name(name))
		}
		if fd == nil {
			return fieldSchema{}, false
		}
		return protoFieldSchema(fd), true
	}
	return goField(s.goType, name)
}

func goField(t reflect.Type, name string) (fieldSchema, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && tag == "" {
			if s, ok := goField(f.Type, name); ok {
				return s, true
			}
			continue
		}
		if !f.IsExported() || tag == "-" {
			continue
		}
		if tag == "" {
			tag = f.Name
		}
		if tag != name {
			continue
		}
		if f.Tag.Get(protoSchemaTag) == "MeshConfig" {
			return fieldSchema{kind: kindObject, msg: (&meshv1alpha1.MeshConfig{}).ProtoReflect().Descriptor()}, true
		}
		return goSchema(f.Type), true
	}
	return fieldSchema{}, false
}

// element returns the schema of a list's items or a map's values.
func (s fieldSchema) element() fieldSchema {
	if s.elem != nil {
		return *s.elem
	}
	return goSchema(s.goType.Elem())
}

func protoFieldSchema(fd protoreflect.FieldDescriptor) fieldSchema {
	switch {
	case fd.IsMap():
		v := protoValueSchema(fd.MapValue())
		return fieldSchema{kind: kindMap, elem: &v}
	case fd.IsList():
		v := protoValueSchema(fd)
		return fieldSchema{kind: kindList, elem: &v}
	}
	return protoValueSchema(fd)
}

func protoValueSchema(fd protoreflect.FieldDescriptor) fieldSchema {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return fieldSchema{kind: kindBool}
	case protoreflect.StringKind, protoreflect.BytesKind:
		return fieldSchema{kind: kindString}
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		return fieldSchema{kind: kindFloat}
	case protoreflect.EnumKind:
		return fieldSchema{kind: kindString, enum: fd.Enum()}
	case protoreflect.MessageKind, protoreflect.GroupKind:
		if strings.HasPrefix(string(fd.Message().FullName()), "google.protobuf.") {
			return fieldSchema{kind: kindAny, wkt: fd.Message()} // special JSON forms ("10s", 3, {...})
		}
		return fieldSchema{kind: kindObject, msg: fd.Message()}
	default:
		return fieldSchema{kind: kindInt}
	}
}

// fieldError is a problem at a path of a profile document, with the line when it came from a file.
type fieldError struct {
	Line int
	Path string
	Msg  string
}

func (e *fieldError) Error() string { return e.Path + ": " + e.Msg }

func joinPath(path, key string) string {
	key = showArg(key)
	if path == "" {
		return key
	}
	return path + "." + key
}

// decodeNode checks n against s and returns its generic value (maps, lists, scalars), with scalars already
// converted to the type the schema wants (a string field keeps "1.20" as written).
func decodeNode(n *yaml.Node, s fieldSchema, path string) (any, error) {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return nil, nil
		}
		return decodeNode(n.Content[0], s, path)
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil, nil
	}
	bad := func(format string, args ...any) error {
		return &fieldError{Line: n.Line, Path: path, Msg: fmt.Sprintf(format, args...)}
	}
	switch s.kind {
	case kindObject, kindMap:
		if n.Kind != yaml.MappingNode {
			return nil, bad("want an object, got %s", describeNode(n))
		}
		out := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if v.Kind == yaml.ScalarNode && v.Tag == "!!null" && v.Value == "" {
				// "key:" with nothing after it (its content commented out) changes nothing; only an
				// explicit null removes a value when merged
				continue
			}
			key := k.Value
			kpath := joinPath(path, key)
			if _, dup := out[key]; dup {
				return nil, &fieldError{Line: k.Line, Path: kpath, Msg: "duplicate field"}
			}
			var fs fieldSchema
			if s.kind == kindMap {
				fs = s.element()
			} else {
				var ok bool
				if fs, ok = s.field(key); !ok {
					return nil, &fieldError{Line: k.Line, Path: kpath, Msg: "unknown field"}
				}
			}
			val, err := decodeNode(v, fs, kpath)
			if err != nil {
				return nil, err
			}
			out[key] = val
		}
		return out, nil
	case kindList:
		if n.Kind != yaml.SequenceNode {
			return nil, bad("want a list, got %s", describeNode(n))
		}
		out := make([]any, 0, len(n.Content))
		for i, item := range n.Content {
			val, err := decodeNode(item, s.element(), fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			out = append(out, val)
		}
		return out, nil
	}
	if n.Kind != yaml.ScalarNode && s.kind != kindOpaque && s.kind != kindAny {
		return nil, bad("want a %s, got %s", kindName(s.kind), describeNode(n))
	}
	switch s.kind {
	case kindString:
		if s.enum != nil && s.enum.Values().ByName(protoreflect.Name(n.Value)) == nil {
			return nil, bad("unknown value %q (want one of %s)", n.Value, enumNames(s.enum))
		}
		return n.Value, nil
	case kindBool:
		var b bool
		if n.Tag != "!!bool" || n.Decode(&b) != nil {
			return nil, bad("want true or false, got %s", describeNode(n))
		}
		return b, nil
	case kindInt:
		var i int64
		if n.Tag != "!!int" || n.Decode(&i) != nil {
			return nil, bad("want an integer, got %s", describeNode(n))
		}
		return i, nil
	case kindFloat:
		var f float64
		if (n.Tag != "!!int" && n.Tag != "!!float") || n.Decode(&f) != nil {
			return nil, bad("want a number, got %s", describeNode(n))
		}
		return f, nil
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, bad("%v", err)
	}
	v = jsonCompatible(v)
	if err := checkOpaque(v, s); err != nil {
		return nil, bad("%s", err)
	}
	return v, nil
}

func kindName(k schemaKind) string {
	switch k {
	case kindString:
		return "string"
	case kindBool:
		return "boolean"
	case kindInt:
		return "integer"
	case kindFloat:
		return "number"
	}
	return "value"
}

func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "an object"
	case yaml.SequenceNode:
		return "a list"
	}
	return fmt.Sprintf("%q", n.Value)
}

func enumNames(e protoreflect.EnumDescriptor) string {
	names := make([]string, 0, e.Values().Len())
	for i := range e.Values().Len() {
		names = append(names, string(e.Values().Get(i).Name()))
	}
	return strings.Join(names, ", ")
}

// jsonCompatible turns YAML's map[any]any (non-string keys) into map[string]any so the tree marshals to JSON.
func jsonCompatible(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = jsonCompatible(x)
		}
		return t
	case map[any]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[fmt.Sprint(k)] = jsonCompatible(x)
		}
		return out
	case []any:
		for i, x := range t {
			t[i] = jsonCompatible(x)
		}
		return t
	}
	return v
}

// checkOpaque decodes v the way the final decoders will, so a bad Quantity or Duration names its path.
func checkOpaque(v any, s fieldSchema) error {
	if s.kind != kindOpaque && s.wkt == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if s.wkt != nil {
		if err := protojson.Unmarshal(b, dynamicpb.NewMessage(s.wkt)); err != nil {
			msg := err.Error()
			if i := strings.Index(msg, "): "); i >= 0 { // drop protojson's "proto: (line 1:2): " position prefix
				msg = msg[i+3:]
			}
			return errors.New(msg)
		}
		return nil
	}
	if err := json.Unmarshal(b, reflect.New(s.goType).Interface()); err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}
