package inject

import (
	"os"
	"strings"
	"testing"

	"skiff.dev/skiff/pkg/errs"
)

func TestBadInputKeepsEveryDocument(t *testing.T) {
	src := `apiVersion: v1
kind: Pod
metadata: {name: good}
spec:
  containers: [{name: app, image: x}]
---
apiVersion: v1
kind: Pod
metadata:
  name: broken
   spec: [
---
apiVersion: v1
kind: Pod
metadata:
  name: bad-proxy-config
  annotations:
    proxy.istio.io/config: "concurrency: lots"
spec:
  containers: [{name: app, image: x}]
---
apiVersion: v1
kind: Pod
metadata: {name: bad-spec}
spec:
  containers: "not a list"
`
	inj, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := inj.InjectManifest([]byte(src), "app.yaml")
	if errs.KindOf(err) != errs.KindBadInput {
		t.Fatalf("want a BadInput error, got %v", err)
	}
	for _, want := range []string{
		"app.yaml: document 2 (line 11): invalid YAML",
		`app.yaml: document 3 (line 13): pod "bad-proxy-config": annotation proxy.istio.io/config`,
		`app.yaml: document 4 (line 22): pod "bad-spec": invalid pod template`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	docs := splitDocuments(string(res.Output))
	if len(docs) != 4 {
		t.Fatalf("want all 4 documents in the output, got %d", len(docs))
	}
	if !strings.Contains(docs[0].text, ProxyContainer) {
		t.Error("the good pod was not injected")
	}
	in := splitDocuments(src)
	for i := 1; i < 4; i++ {
		if docs[i].text != in[i].text {
			t.Errorf("document %d was not passed through verbatim:\n%s", i+1, docs[i].text)
		}
	}
}

func TestBadResourceAnnotation(t *testing.T) {
	inj, _ := New(Config{})
	src := "kind: Pod\nmetadata:\n  name: p\n  annotations: {sidecar.istio.io/proxyMemory: lots}\nspec: {containers: [{name: a}]}\n"
	res, err := inj.InjectManifest([]byte(src), "p.yaml")
	if errs.KindOf(err) != errs.KindBadInput || !strings.Contains(err.Error(), `annotation sidecar.istio.io/proxyMemory: "lots" is not a quantity`) {
		t.Fatalf("want BadInput naming the annotation, got %v", err)
	}
	if string(res.Output) != src {
		t.Error("the document must pass through unchanged")
	}
}

// Field names are case-sensitive, as for the API server: "Containers" is not "containers".
func TestCaseSensitiveFields(t *testing.T) {
	inj, _ := New(Config{})
	res, err := inj.InjectManifest([]byte("kind: Pod\nmetadata: {name: p}\nspec: {Containers: [{name: a}]}\n"), "p.yaml")
	if err != nil || len(res.Records) != 1 || res.Records[0].Reason != "no containers" {
		t.Fatalf("want the pod skipped for having no containers, got %v %v", res.Records, err)
	}
}

func TestBadTemplate(t *testing.T) {
	if _, err := New(Config{Template: "{{ .Nope"}); errs.KindOf(err) != errs.KindBadInput {
		t.Fatalf("want BadInput for an unparsable template, got %v", err)
	}
	inj, err := New(Config{Template: "{{ omitNil .Values }}"})
	if err == nil {
		_, err = inj.InjectManifest([]byte("kind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a}]}\n"), "p.yaml")
	}
	if errs.KindOf(err) != errs.KindBadInput || !strings.Contains(err.Error(), "omitNil") {
		t.Fatalf("want BadInput naming the unknown function, got %v", err)
	}
}

func TestEmptyAndCommentOnlyInput(t *testing.T) {
	inj, _ := New(Config{})
	for _, src := range []string{"", "# just a comment\n", "---\n---\n", "- a\n- b\n", "plain scalar\n"} {
		res, err := inj.InjectManifest([]byte(src), "x")
		if err != nil || string(res.Output) != src {
			t.Errorf("%q: got %q, %v", src, res.Output, err)
		}
	}
}

func FuzzInject(f *testing.F) {
	for _, in := range goldenInputs(f) {
		if b, err := os.ReadFile(in); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("kind: Pod\nspec:\n  containers:\n  - name: a\n    readinessProbe: {httpGet: {port: nope}}\n"))
	f.Add([]byte("kind: List\nitems: [1, {kind: Pod, spec: {containers: [{}]}}]\n"))
	f.Add([]byte("kind: CronJob\nspec: {jobTemplate: 3}\n---\n--- x\n"))
	inj, err := New(Config{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := inj.InjectManifest(data, "fuzz.yaml")
		if res == nil {
			t.Fatal("no result")
		}
		if err != nil {
			return
		}
		parseStream(t, res.Output)
		again, err := inj.InjectManifest(res.Output, "fuzz.yaml")
		if err != nil {
			t.Fatalf("re-injecting our own output failed: %v", err)
		}
		if string(again.Output) != string(res.Output) {
			t.Fatal("injection is not idempotent")
		}
	})
}
