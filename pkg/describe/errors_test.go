package describe

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"skiff.dev/skiff/pkg/config"
	"skiff.dev/skiff/pkg/errs"
)

func TestDescribeErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bad := write("bad.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\n")
	badType := write("type.yaml", "# a comment\napiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  ports: oops\n")
	twice := write("twice.yaml", `apiVersion: v1
kind: Pod
metadata: {name: web, namespace: a}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: b}
`)
	bookinfo := filepath.Join("testdata", "bookinfo")
	cases := []struct {
		name       string
		kind, obj  string
		files      []string
		namespace  string
		kubeconfig string
		code       int
		message    string
	}{
		{name: "unknown kind", kind: "deployment", obj: "x", files: []string{bookinfo}, code: errs.ExitUsage, message: `cannot describe "deployment": the kinds are pod (po) and service (svc)`},
		{name: "not found", kind: "pod", obj: "nope", files: []string{bookinfo}, code: 1, message: `pod "nope" not found in any namespace`},
		{name: "not in namespace", kind: "svc", obj: "reviews", files: []string{bookinfo}, namespace: "other", code: 1, message: `service "reviews" not found in namespace other`},
		{name: "ambiguous", kind: "pod", obj: "web", files: []string{twice}, code: errs.ExitUsage, message: `pod "web" is in several namespaces (a, b): choose one with -n or write web.<namespace>`},
		{name: "bad yaml", kind: "pod", obj: "x", files: []string{bad}, code: errs.ExitBadInput, message: bad + ":8: did not find expected ',' or ']'"},
		{name: "wrong type", kind: "pod", obj: "x", files: []string{badType}, code: errs.ExitBadInput, message: badType + ":1: "},
		{name: "missing file", kind: "pod", obj: "x", files: []string{filepath.Join(dir, "absent.yaml")}, code: errs.ExitBadInput, message: "absent.yaml: no such file or directory"},
		{name: "no kubeconfig", kind: "pod", obj: "x", kubeconfig: filepath.Join(dir, "no-kubeconfig"), code: 1, message: "no usable kubeconfig"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("KUBECONFIG", filepath.Join(dir, "no-kubeconfig"))
			var out bytes.Buffer
			err := Run(t.Context(), Options{
				Source: Source{Files: c.files, Global: config.Global{Namespace: c.namespace, Kubeconfig: c.kubeconfig}},
				Kind:   c.kind, Name: c.obj, Out: &out,
			})
			if err == nil {
				t.Fatalf("no error; output:\n%s", out.String())
			}
			if got := errs.Code(err); got != c.code {
				t.Errorf("exit code %d, want %d (%v)", got, c.code, err)
			}
			if !strings.Contains(err.Error(), c.message) {
				t.Errorf("error %q does not contain %q", err, c.message)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}
