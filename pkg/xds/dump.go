package xds

import (
	"bytes"
	"encoding/json"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"sigs.k8s.io/yaml"
)

// ToYAML renders resources as a YAML list in protojson's field names, with Any payloads expanded: the
// form of the golden files and of config dumps for humans. Sensitive fields (private keys) are redacted
// as Envoy's config_dump does; see Redact.
func ToYAML[T proto.Message](msgs []T) ([]byte, error) {
	items := make([]json.RawMessage, 0, len(msgs))
	opts := protojson.MarshalOptions{}
	for _, m := range msgs {
		b, err := opts.Marshal(Redact(m))
		if err != nil {
			return nil, err
		}
		// protojson output is deliberately unstable in whitespace; compact it so the YAML is stable.
		var buf bytes.Buffer
		if err := json.Compact(&buf, b); err != nil {
			return nil, err
		}
		items = append(items, buf.Bytes())
	}
	j, err := json.Marshal(items)
	if err != nil {
		return nil, err
	}
	return yaml.JSONToYAML(j)
}
