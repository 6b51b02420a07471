package proxyconfig

import (
	"bytes"
	"encoding/json"
	"fmt"

	adminv3 "github.com/envoyproxy/go-control-plane/envoy/admin/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoregistry"

	"skiff.dev/skiff/pkg/errs"
)

const structTypeURL = "type.googleapis.com/google.protobuf.Struct"

// Decode parses Envoy's /config_dump JSON. Envoy builds carry extensions (Istio's wasm and peer metadata
// filters, ...) whose types this binary does not know; protojson would reject the whole dump for one such
// Any, so their payloads are kept as google.protobuf.Struct instead, and fields newer than these types
// are dropped.
func Decode(data []byte) (*adminv3.ConfigDump, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, errs.BadInput("config dump is not JSON: %v", err)
	}
	tree = replaceUnknownAnys(tree)
	b, err := json.Marshal(tree)
	if err != nil {
		return nil, fmt.Errorf("re-encoding config dump: %w", err)
	}
	dump := &adminv3.ConfigDump{}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, dump); err != nil {
		return nil, errs.BadInput("config dump does not decode: %v", err)
	}
	return dump, nil
}

// replaceUnknownAnys rewrites every JSON Any whose @type is not registered into a Struct Any holding the
// same fields.
func replaceUnknownAnys(v any) any {
	switch t := v.(type) {
	case map[string]any:
		if url, ok := t["@type"].(string); ok {
			if _, err := protoregistry.GlobalTypes.FindMessageByURL(url); err != nil {
				return map[string]any{"@type": structTypeURL, "value": t}
			}
		}
		for k, child := range t {
			t[k] = replaceUnknownAnys(child)
		}
		return t
	case []any:
		for i, child := range t {
			t[i] = replaceUnknownAnys(child)
		}
		return t
	default:
		return v
	}
}
