package analyze

import (
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"
)

// sampleMessages analyses a grid file with errors, warnings and infos, from a file and without an object.
func sampleMessages(t *testing.T) []Message {
	t.Helper()
	res := analyzeOptions(t, offline("testdata/grid/IST0112-IST0118.yaml", "testdata/grid/SKF0001-SKF0002-SKF0003-SKF0005.yaml"))
	if len(res.Messages) < 5 {
		t.Fatalf("expected several messages, got %d", len(res.Messages))
	}
	return res.Messages
}

func TestOutputJSONAndYAML(t *testing.T) {
	ms := sampleMessages(t)
	for _, format := range []string{FormatJSON, FormatYAML} {
		var buf bytes.Buffer
		if err := write(&buf, format, ms); err != nil {
			t.Fatal(err)
		}
		b := buf.Bytes()
		if format == FormatYAML {
			var err error
			if b, err = yaml.YAMLToJSON(b); err != nil {
				t.Fatalf("yaml output does not parse: %v", err)
			}
		}
		var got []map[string]any
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%s output does not parse: %v\n%s", format, err, buf.String())
		}
		if len(got) != len(ms) {
			t.Fatalf("%s: %d entries for %d messages", format, len(got), len(ms))
		}
		for i, m := range ms {
			g := got[i]
			if g["code"] != m.Type.Code || g["level"] != m.Level().String() || g["message"] != m.Text ||
				g["documentationUrl"] != "docs/analyzers/"+m.Type.Code+".md" || g["file"] != m.File || int(g["line"].(float64)) != m.Line {
				t.Errorf("%s entry %d = %v, message %+v", format, i, g, m)
			}
		}
	}
}

func TestOutputLog(t *testing.T) {
	var buf bytes.Buffer
	ms := sampleMessages(t)
	if err := write(&buf, FormatLog, ms); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != len(ms) {
		t.Fatalf("%d lines for %d messages:\n%s", len(lines), len(ms), buf.String())
	}
	want := "Error [IST0112] (VirtualService default/vs testdata/grid/IST0112-IST0118.yaml:24) This VirtualService routes to a service \"multi\""
	if !strings.Contains(buf.String(), want) {
		t.Errorf("log output lacks %q:\n%s", want, buf.String())
	}
	if !strings.Contains(buf.String(), "Error [SKF0001] (testdata/grid/SKF0001-SKF0002-SKF0003-SKF0005.yaml:40) YAML syntax error") {
		t.Errorf("log output lacks the parse error:\n%s", buf.String())
	}
}

func TestOutputGitHub(t *testing.T) {
	var buf bytes.Buffer
	ms := sampleMessages(t)
	if err := write(&buf, FormatGitHub, ms); err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^::(error|warning|notice) file=[^,]+,line=\d+,title=(IST|SKF)\d{4} \w+::.+$`)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != len(ms) {
		t.Fatalf("%d lines for %d messages", len(lines), len(ms))
	}
	for _, l := range lines {
		if !re.MatchString(l) {
			t.Errorf("not a workflow annotation: %q", l)
		}
	}
	if !strings.Contains(buf.String(), "::error file=testdata/grid/IST0112-IST0118.yaml,line=24,title=IST0112 VirtualServiceDestinationPortSelectorRequired::(VirtualService default/vs) This VirtualService") {
		t.Errorf("missing IST0112 annotation:\n%s", buf.String())
	}
	if got := escapeGitHubData("50%\nnext"); got != "50%25%0Anext" {
		t.Errorf("escape = %q", got)
	}
}

// TestOutputSARIF validates -o sarif against the official SARIF 2.1.0 schema and checks that results carry
// the file and line code-scanning UIs annotate.
func TestOutputSARIF(t *testing.T) {
	ms := sampleMessages(t)
	var buf bytes.Buffer
	if err := write(&buf, FormatSARIF, ms); err != nil {
		t.Fatal(err)
	}
	validateSARIF(t, buf.Bytes())

	var log sarifLog
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	results := log.Runs[0].Results
	if len(results) != len(ms) {
		t.Fatalf("%d results for %d messages", len(results), len(ms))
	}
	for i, r := range results {
		rule := log.Runs[0].Tool.Driver.Rules[r.RuleIndex]
		if rule.ID != r.RuleID {
			t.Errorf("result %d: ruleIndex points at %s, ruleId is %s", i, rule.ID, r.RuleID)
		}
		pl := r.Locations[0].PhysicalLocation
		if pl == nil || pl.ArtifactLocation.URI != ms[i].File || pl.Region == nil || pl.Region.StartLine != ms[i].Line {
			t.Errorf("result %d location = %+v, want %s:%d", i, pl, ms[i].File, ms[i].Line)
		}
	}

	// Cluster objects have no file: the result keeps a logical location and still validates.
	buf.Reset()
	if err := write(&buf, FormatSARIF, []Message{{Type: PodMissingProxy, Text: "x", Key: Key{Kind: "Pod", Namespace: "a", Name: "b"}}}); err != nil {
		t.Fatal(err)
	}
	validateSARIF(t, buf.Bytes())
	if !strings.Contains(buf.String(), `"fullyQualifiedName": "Pod a/b"`) {
		t.Errorf("missing logical location:\n%s", buf.String())
	}
}

func validateSARIF(t *testing.T, doc []byte) {
	t.Helper()
	f, err := os.Open("testdata/sarif-schema-2.1.0.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	schemaDoc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("sarif-schema-2.1.0.json", schemaDoc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("sarif-schema-2.1.0.json")
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Fatalf("SARIF output does not validate against the 2.1.0 schema: %v", err)
	}
}

// TestSARIFSchemaRejectsInvalid makes sure the schema check can fail.
func TestSARIFSchemaRejectsInvalid(t *testing.T) {
	f, _ := os.Open("testdata/sarif-schema-2.1.0.json")
	defer f.Close()
	schemaDoc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	_ = c.AddResource("s.json", schemaDoc)
	sch, err := c.Compile("s.json")
	if err != nil {
		t.Fatal(err)
	}
	bad, _ := jsonschema.UnmarshalJSON(strings.NewReader(`{"version":"2.1.0","runs":[{"tool":{"driver":{}},"results":[{"level":"fatal","message":{"text":"x"}}]}]}`))
	if sch.Validate(bad) == nil {
		t.Fatal("schema accepted an invalid SARIF log")
	}
}
