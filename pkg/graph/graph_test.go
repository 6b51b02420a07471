package graph

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"skiff.dev/skiff/pkg/config"
	"skiff.dev/skiff/pkg/describe"
	"skiff.dev/skiff/pkg/errs"
	"skiff.dev/skiff/pkg/model"
)

// testFiles: the describe package's bookinfo (90/10 canary on reviews, STRICT namespace, ratings with TLS
// disabled) plus a VirtualService for ratings and one routing details to an undefined subset.
var testFiles = []string{filepath.Join("..", "describe", "testdata", "bookinfo"), filepath.Join("testdata", "extra.yaml")}

func load(t *testing.T) model.Input {
	t.Helper()
	in, err := describe.Source{Files: testFiles}.Load(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func TestBuild(t *testing.T) {
	in := load(t)
	g := Build(model.Build(in), in)
	const (
		reviews = "service:reviews.bookinfo.svc.cluster.local"
		v1      = "subset:reviews.bookinfo.svc.cluster.local/v1"
		v2      = "subset:reviews.bookinfo.svc.cluster.local/v2"
		ratings = "service:ratings.bookinfo.svc.cluster.local"
		missing = "subset:details.bookinfo.svc.cluster.local/v9"
		gateway = "gateway:bookinfo/bookinfo-gateway"
		product = "service:productpage.bookinfo.svc.cluster.local"
	)
	var got []string
	for _, e := range g.Edges {
		got = append(got, e.From+" -> "+e.To+" ["+e.Label()+"]")
	}
	want := []string{
		"gateway:bookinfo/bookinfo-gateway -> " + product + " [uri =/productpage or uri prefix /static | mTLS]",
		ratings + " -> " + ratings + " [conflict]",
		"service:details.bookinfo.svc.cluster.local -> " + missing + " []",
		reviews + " -> " + v1 + " [90% | mTLS]",
		reviews + " -> " + v2 + " [header end-user =jason | mTLS]",
		reviews + " -> " + v2 + " [10% | mTLS]",
		"service:api.payments.example -> service:api.payments.example [port 443, sni api.payments.example]",
	}
	slices.Sort(got)
	slices.Sort(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("edges:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	for id, kind := range map[string]NodeKind{reviews: KindService, v1: KindSubset, missing: KindMissing, gateway: KindGateway, "service:api.payments.example": KindExternal} {
		n, ok := g.Node(id)
		if !ok || n.Kind != kind {
			t.Errorf("node %s: %+v, want kind %s", id, n, kind)
		}
	}
	if n, _ := g.Node(v2); n.Parent != reviews || n.Detail != "version=v2" {
		t.Errorf("subset v2 = %+v, want parent %s and its labels", n, reviews)
	}
	if n, _ := g.Node(reviews); n.Detail != "inbound STRICT" {
		t.Errorf("reviews detail %q, want the STRICT PeerAuthentication", n.Detail)
	}
}

// TestDeterministic builds from the same objects in reverse order: the outputs must not change.
func TestDeterministic(t *testing.T) {
	in := load(t)
	var first bytes.Buffer
	if err := WriteDOT(&first, Build(model.Build(in), in)); err != nil {
		t.Fatal(err)
	}
	slices.Reverse(in.Services)
	slices.Reverse(in.Pods)
	slices.Reverse(in.VirtualServices)
	slices.Reverse(in.DestinationRules)
	for range 3 {
		var again bytes.Buffer
		if err := WriteDOT(&again, Build(model.Build(in), in)); err != nil {
			t.Fatal(err)
		}
		if again.String() != first.String() {
			t.Fatalf("DOT output changed between runs:\n%s\n---\n%s", first.String(), again.String())
		}
	}
}

func TestRunErrors(t *testing.T) {
	cases := []struct {
		name string
		o    Options
		code int
		msg  string
	}{
		{"format", Options{Format: "png"}, errs.ExitUsage, `unknown output format "png"`},
		{"renderer", Options{Format: "svg", Renderer: "magic"}, errs.ExitUsage, `unknown renderer "magic"`},
		{"files and cluster", Options{Format: "dot", UseKube: true, Source: describe.Source{Files: testFiles}}, errs.ExitUsage, "not both"},
		{"missing file", Options{Format: "dot", Source: describe.Source{Files: []string{"testdata/absent.yaml"}}}, errs.ExitBadInput, "absent.yaml"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			c.o.Out = &out
			c.o.Global = config.Global{MeshNamespace: "istio-system"}
			err := Run(t.Context(), c.o)
			if errs.Code(err) != c.code || err == nil || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("error %v (exit %d), want exit %d containing %q", err, errs.Code(err), c.code, c.msg)
			}
		})
	}
}

// TestGraphviz renders through the real dot binary when it is installed; the output must be an SVG with
// a node for every service.
func TestGraphviz(t *testing.T) {
	if _, err := exec.LookPath("dot"); err != nil {
		t.Skip("Graphviz not installed")
	}
	var out bytes.Buffer
	o := Options{Source: describe.Source{Files: testFiles}, Format: FormatSVG, Renderer: RendererGraphviz, Out: &out}
	if err := Run(t.Context(), o); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if !strings.HasPrefix(s, "<svg") {
		t.Fatalf("not an SVG: %.200s", s)
	}
	for _, want := range []string{"reviews.bookinfo", "90% | mTLS", "undefined subset"} {
		if !strings.Contains(s, want) {
			t.Errorf("Graphviz SVG lacks %q", want)
		}
	}
}
