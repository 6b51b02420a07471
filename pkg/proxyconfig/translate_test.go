package proxyconfig

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"skiff.dev/skiff/pkg/errs"
	"skiff.dev/skiff/pkg/ui"
)

func TestTranslateBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Service\nmetadata: [oops\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		opts TranslateOptions
		code int
		msg  string
	}{
		{"bad YAML names file and line", TranslateOptions{Files: []string{bad}, Proxy: "x"}, 65, bad + ":7: "},
		{"missing file", TranslateOptions{Files: []string{filepath.Join(dir, "nope.yaml")}, Proxy: "x"}, 65, "nope.yaml: no such file or directory"},
		{"unknown workload lists the pods", TranslateOptions{Files: []string{"testdata/bookinfo.yaml"}, Proxy: "ghost"}, 65,
			`no pod named "ghost" or labelled app=ghost in the input (its pods: details-v1-0.default, productpage-v1-0.default,`},
		{"unknown type", TranslateOptions{Files: []string{"testdata/bookinfo.yaml"}, Proxy: "reviews", Type: "mesh"}, 64, `unknown proxy type "mesh"`},
		{"no files", TranslateOptions{Proxy: "reviews"}, 64, "no input"},
		{"no proxy", TranslateOptions{Files: []string{"testdata"}}, 64, "no proxy"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := TranslateDump(tc.opts)
			if errs.Code(err) != tc.code || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v (exit %d), want exit %d containing %q", err, errs.Code(err), tc.code, tc.msg)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

// TestTranslateResolvesWorkloads: a directory, an app label and a pod from stdin all name the same proxy.
func TestTranslateResolvesWorkloads(t *testing.T) {
	b, err := os.ReadFile("testdata/bookinfo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var outs []string
	for _, o := range []TranslateOptions{
		{Files: []string{"testdata/bookinfo.yaml"}, Proxy: "reviews-v2-0.default"},
		{Files: []string{"-"}, Proxy: "reviews-v2-0", Streams: ui.Streams{In: bytes.NewReader(b)}},
	} {
		var out bytes.Buffer
		o.Streams.Out = &out
		o.Render = RenderOptions{View: Listener}
		if err := RunTranslate(t.Context(), o); err != nil {
			t.Fatal(err)
		}
		outs = append(outs, out.String())
	}
	if outs[0] != outs[1] {
		t.Errorf("stdin and file differ:\n%s\n%s", outs[0], outs[1])
	}
	if !strings.Contains(outs[0], "15006") || !strings.Contains(outs[0], "Port: 9080") {
		t.Errorf("reviews-v2 should get an inbound chain for 9080 (its IP comes from the EndpointSlice):\n%s", outs[0])
	}
	// An app label picks that app's first pod by name, with the IP its EndpointSlice lists.
	// testdata itself also holds JSON config dumps, which are no manifests; a directory of manifests only:
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bookinfo.yaml"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	in, err := loadInput([]string{dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := resolveProxy(in, "reviews", "", nil)
	if err != nil || p.ID != "sidecar~10.1.1.2~reviews-v1-0.default~default.svc.cluster.local" || p.Labels["version"] != "v1" {
		t.Fatalf("reviews resolved to %+v, %v", p, err)
	}
	gw, err := resolveProxy(in, "istio-ingressgateway.istio-system", "", map[string]string{"istio": "ingressgateway"})
	if err != nil || gw.ID != "router~~istio-ingressgateway.istio-system~istio-system.svc.cluster.local" {
		t.Fatalf("gateway resolved to %+v, %v", gw, err)
	}
}
