package analyze

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"skiff.dev/skiff/pkg/analyze/internal/benchdata"
)

// TestReflectionDecodeMatchesProtojson decodes every valid Istio spec in testdata both with the schema
// walker (protobuf reflection) and with protojson, and requires the same message.
func TestReflectionDecodeMatchesProtojson(t *testing.T) {
	dir := t.TempDir()
	if _, err := benchdata.Write(dir, 40); err != nil {
		t.Fatal(err)
	}
	var inputs []input
	for _, pattern := range []string{"testdata/grid/*.yaml", "testdata/bookinfo/*.yaml", filepath.Join(dir, "*.yaml")} {
		files, _ := filepath.Glob(pattern)
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			inputs = append(inputs, input{name: f, data: b})
		}
	}
	dec := newDecoder("default")
	resources, _, _ := parseInputs(inputs, dec)
	compared := 0
	for _, r := range resources {
		if r.Spec == nil || mappingValue(r.node, "spec") == nil {
			continue
		}
		var buf bytes.Buffer
		nodeJSON(&buf, mappingValue(r.node, "spec"), 0)
		want := r.Spec.ProtoReflect().New().Interface()
		if err := protojson.Unmarshal(buf.Bytes(), want); err != nil {
			continue // protojson rejects durations like "1m" that Istio accepts
		}
		compared++
		if !proto.Equal(r.Spec, want) {
			t.Errorf("%s: reflection decode differs from protojson:\n got %v\nwant %v", r.Key, r.Spec, want)
		}
	}
	if compared < 20 {
		t.Fatalf("only %d specs compared", compared)
	}
}

func TestSchemaErrors(t *testing.T) {
	cases := map[string]string{
		"spec:\n  hosts: [a]\n  http: [{route: [{destination: {host: a, port: {number: 70000}}}]}]\n": "spec.http[0].route[0].destination.port.number: port number 70000 must be between 1 and 65535",
		"spec:\n  hosts: a\n": "spec.hosts: expected a list, got string",
		"spec:\n  hosts: [a]\n  http: [{match: [{uri: {exact: a, prefix: b}}], route: [{destination: {host: a}}]}]\n": `spec.http[0].match[0].uri.prefix: only one of "exact" and "prefix" may be set`,
		"spec:\n  hosts: [a]\n  export_to: [.]\n":                                           `spec.export_to: unknown field "export_to" (did you mean "exportTo"?)`,
		"spec:\n  hosts: [a]\n  http: [{timeout: 10, route: [{destination: {host: a}}]}]\n": `spec.http[0].timeout: expected a duration like "5s" or "1m", got "10"`,
	}
	for doc, want := range cases {
		o := offline("-")
		o.In = bytes.NewBufferString("apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: x}\n" + doc)
		ms := analyzeOptions(t, o).Messages
		found := false
		for _, m := range ms {
			if m.Type.Code == SchemaValidationError.Code && m.Text == "Schema validation error: "+want {
				found = true
			}
		}
		if !found {
			t.Errorf("want %q, got:\n%s", want, fullText(ms))
		}
	}
}
