package analyze

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestValidateObjectAgreesWithAnalyze: for each object, ValidateObject finds exactly the IST0106 and IST0122
// messages `skiff analyze` reports for the same object in a file, without file and line, and accepts JSON.
func TestValidateObjectAgreesWithAnalyze(t *testing.T) {
	objects := map[string]string{
		"valid": `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  http:
  - match: [{uri: {regex: "/v[0-9]+"}}]
    route: [{destination: {host: reviews}}]
`,
		"semantic and regex": `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  http:
  - match: [{uri: {regex: "(a"}}]
    route: [{destination: {port: {number: 80}}, weight: -1}]
  - match: [{uri: {prefix: /}}]
`,
		"schema": `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: reviews
  http:
  - rout: [{destination: {host: reviews}}]
    timeout: soon
`,
		"security": `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny, namespace: shop}
spec:
  action: CUSTOM
  rules: [{when: [{key: "request.headers[x]"}]}]
`,
	}
	for name, y := range objects {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "obj.yaml")
			if err := os.WriteFile(path, []byte(y), 0o600); err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, m := range analyzeOptions(t, offline(path)).Messages {
				if m.Type.Code == SchemaValidationError.Code || m.Type.Code == InvalidRegexp.Code {
					want = append(want, m.Type.Code+" "+m.Text)
				}
			}
			js, err := yaml.YAMLToJSON([]byte(y))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range ValidateObject(js) {
				if m.File != "" || m.Line != 0 {
					t.Errorf("message carries a location: %s:%d", m.File, m.Line)
				}
				got = append(got, m.Type.Code+" "+m.Text)
			}
			slices.Sort(want)
			slices.Sort(got)
			t.Logf("%d messages:\n  %s", len(got), strings.Join(got, "\n  "))
			if !slices.Equal(got, want) {
				t.Errorf("ValidateObject:\n  %s\nskiff analyze:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
			if (name == "valid") != (len(got) == 0) {
				t.Errorf("valid=%v but got %d messages", name == "valid", len(got))
			}
		})
	}
}

func TestValidateObjectRejects(t *testing.T) {
	for _, tc := range []struct {
		obj     string
		rejects bool
	}{
		{`{"apiVersion":"networking.istio.io/v1","kind":"DestinationRule","metadata":{"name":"r"},"spec":{"host":"r"}}`, false},
		{`{"apiVersion":"networking.istio.io/v1","kind":"DestinationRule","metadata":{"name":"r"},"spec":{}}`, true},
		{`{"apiVersion":"networking.istio.io/v1","kind":"Mystery","metadata":{"name":"r"},"spec":{}}`, false},
		{`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"r"},"data":{"a":"b"}}`, false},
		{`{"apiVersion":"networking.istio.io/v1","kind":"DestinationRule","spec":{"host":"r"}}`, true}, // no name
		{`{not json`, true},
	} {
		rejects := slices.ContainsFunc(ValidateObject([]byte(tc.obj)), Message.Rejects)
		if rejects != tc.rejects {
			t.Errorf("%s: rejects=%v, want %v (%v)", tc.obj, rejects, tc.rejects, ValidateObject([]byte(tc.obj)))
		}
	}
}

// validateSeeds are admission payloads as the API server sends them (JSON), valid and broken.
var validateSeeds = []string{
	`{"apiVersion":"networking.istio.io/v1","kind":"VirtualService","metadata":{"name":"r","namespace":"shop"},"spec":{"hosts":["r"],"http":[{"match":[{"uri":{"regex":"/v[0-9]+"}}],"route":[{"destination":{"host":"r","subset":"v1"},"weight":90},{"destination":{"host":"r","subset":"v2"},"weight":10}],"timeout":"5s","retries":{"attempts":3}}]}}`,
	`{"apiVersion":"networking.istio.io/v1","kind":"VirtualService","metadata":{"name":"r"},"spec":{"hosts":"r","http":[{"match":[{"uri":{"regex":"(a"}}],"rout":[]}]}}`,
	`{"apiVersion":"security.istio.io/v1","kind":"AuthorizationPolicy","metadata":{"name":"a"},"spec":{"action":"CUSTOM","rules":[{"when":[{"key":"k"}]}]}}`,
	`{"apiVersion":"networking.istio.io/v1","kind":"Gateway","metadata":{"name":"g"},"spec":{"servers":[{"port":{"number":443,"protocol":"HTTPS"},"hosts":["*"]}]}}`,
	`{"kind":"Mystery"}`, `[]`, ``,
}

// FuzzValidateObject: whatever the API server forwards, ValidateObject answers without panicking, and an
// object it finds nothing wrong with decodes the same way again (the answer is deterministic).
func FuzzValidateObject(f *testing.F) {
	for _, s := range validateSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		first := ValidateObject(raw)
		again := ValidateObject(raw)
		if len(first) != len(again) {
			t.Fatalf("ValidateObject is not deterministic: %v then %v", first, again)
		}
		for i := range first {
			if first[i].Text != again[i].Text {
				t.Fatalf("ValidateObject is not deterministic: %v then %v", first, again)
			}
		}
	})
}

// BenchmarkValidateObject measures one webhook decision for a typical VirtualService.
func BenchmarkValidateObject(b *testing.B) {
	raw := []byte(validateSeeds[0])
	b.ReportAllocs()
	for b.Loop() {
		if ms := ValidateObject(raw); len(ms) != 0 {
			b.Fatal(ms)
		}
	}
}
