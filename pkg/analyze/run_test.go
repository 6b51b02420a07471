package analyze

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"skiff.dev/skiff/pkg/errs"
)

// TestExitCodes checks that issues at the failure threshold give 79 in every output format, that parse
// errors give 65 after the other documents are reported, and that a clean analysis gives 0.
func TestExitCodes(t *testing.T) {
	cases := []struct {
		name      string
		paths     []string
		threshold string
		want      int
	}{
		{"errors", []string{"testdata/grid/IST0101-gateway.yaml"}, "Error", errs.ExitIssuesFound},
		{"warnings below threshold", []string{"testdata/grid/IST0104.yaml"}, "Error", errs.ExitOK},
		{"warnings at threshold", []string{"testdata/grid/IST0104.yaml"}, "Warning", errs.ExitIssuesFound},
		{"info at threshold", []string{"testdata/grid/IST0102-IST0103.yaml"}, "Info", errs.ExitIssuesFound},
		{"bad documents", []string{"testdata/grid/SKF0001-SKF0002-SKF0003-SKF0005.yaml"}, "Error", errs.ExitBadInput},
		{"clean", []string{"testdata/grid/clean.yaml"}, "Error", errs.ExitOK},
	}
	for _, c := range cases {
		for _, format := range Formats() {
			t.Run(c.name+"/"+format, func(t *testing.T) {
				o := offline(c.paths...)
				o.Output, o.FailureThreshold = format, c.threshold
				err := Run(context.Background(), o)
				if got := errs.Code(err); got != c.want {
					t.Fatalf("exit code %d (%v), want %d", got, err, c.want)
				}
			})
		}
	}
}

func TestBadDocumentDoesNotHideOthers(t *testing.T) {
	o := offline("testdata/grid/SKF0001-SKF0002-SKF0003-SKF0005.yaml")
	err := Run(context.Background(), o)
	if errs.Code(err) != errs.ExitBadInput {
		t.Fatalf("want bad input, got %v", err)
	}
	out := o.Out.(*bytes.Buffer).String()
	for _, want := range []string{"[SKF0001]", "[SKF0002]", "[SKF0003]"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	for name, mutate := range map[string]func(*Options){
		"format":     func(o *Options) { o.Output = "xml" },
		"threshold":  func(o *Options) { o.FailureThreshold = "fatal" },
		"output thr": func(o *Options) { o.OutputThreshold = "loud" },
		"suppress":   func(o *Options) { o.Suppress = []string{"IST0102"} },
		"no input":   func(o *Options) { o.Paths = nil },
	} {
		t.Run(name, func(t *testing.T) {
			o := offline("testdata/grid/clean.yaml")
			mutate(&o)
			if err := Run(context.Background(), o); errs.Code(err) != errs.ExitUsage {
				t.Fatalf("want usage error, got %v", err)
			}
		})
	}
}

func TestUnreadableInput(t *testing.T) {
	err := Run(context.Background(), offline("testdata/does-not-exist.yaml"))
	if errs.Code(err) != errs.ExitBadInput || !strings.Contains(err.Error(), "does-not-exist.yaml") {
		t.Fatalf("want a bad-input error naming the file, got %v", err)
	}
}

func TestStdinAndOutputThreshold(t *testing.T) {
	o := offline("-")
	o.In = strings.NewReader("apiVersion: v1\nkind: Namespace\nmetadata: {name: plain}\n---\n" +
		"apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: gw}\nspec:\n  selector: {istio: ingressgateway}\n" +
		"  servers: [{port: {number: 81, name: http, protocol: HTTP}, hosts: ['*']}]\n")
	o.OutputThreshold = "Warning"
	if err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	out := o.Out.(*bytes.Buffer).String()
	if !strings.Contains(out, "[IST0104] (Gateway default/gw -:10)") || strings.Contains(out, "IST0102") {
		t.Errorf("want only the warning, from stdin line 10:\n%s", out)
	}
}

func TestNoKubeconfigIsClearError(t *testing.T) {
	t.Setenv("KUBECONFIG", "/nonexistent/kubeconfig")
	t.Setenv("HOME", t.TempDir())
	o := offline()
	o.UseKube = nil
	err := Run(context.Background(), o)
	if errs.Code(err) != errs.ExitUsage || !strings.Contains(err.Error(), "nothing to analyze") {
		t.Fatalf("want a usage error explaining there is no input, got %v", err)
	}
}

func TestListAnalyzers(t *testing.T) {
	o := offline()
	o.ListAnalyzers = true
	o.Paths = []string{"x"}
	if err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	out := o.Out.(*bytes.Buffer).String()
	for _, a := range Analyzers() {
		if !strings.Contains(out, a.Name) {
			t.Errorf("-L lacks %s", a.Name)
		}
	}
}

func TestMessagesAreCatalogued(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Catalogue() {
		if seen[c.Code] {
			t.Errorf("duplicate code %s", c.Code)
		}
		seen[c.Code] = true
	}
	for _, a := range Analyzers() {
		for _, c := range a.Codes {
			if !seen[c.Code] {
				t.Errorf("analyzer %s reports uncatalogued %s", a.Name, c.Code)
			}
		}
	}
}

func TestDirectoriesAndLists(t *testing.T) {
	dir := t.TempDir()
	ns := func(name string) string {
		return "apiVersion: v1\nkind: Namespace\nmetadata: {name: " + name + "}\n"
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "sub"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "top.yaml"), []byte(ns("top")), 0o644))
	must(os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not yaml: ["), 0o644))
	must(os.WriteFile(filepath.Join(dir, "sub", "nested.yml"), []byte(ns("nested")), 0o644))
	// kubectl get -o json output: a List, in JSON.
	must(os.WriteFile(filepath.Join(dir, "sub", "list.json"), []byte(`{"apiVersion": "v1", "kind": "List", "items": [
  {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "listed"}}]}`), 0o644))

	names := func(recursive bool) string {
		o := offline(dir)
		o.Recursive = recursive
		var got []string
		for _, m := range analyzeOptions(t, o).Messages {
			got = append(got, m.Key.Name)
		}
		sort.Strings(got)
		return strings.Join(got, ",")
	}
	if got := names(false); got != "top" {
		t.Errorf("without -R: namespaces reported %q, want top", got)
	}
	if got := names(true); got != "listed,nested,top" {
		t.Errorf("with -R: namespaces reported %q, want listed,nested,top", got)
	}
}
