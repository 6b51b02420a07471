package proxyconfig

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"

	"skiff.dev/skiff/pkg/errs"
	"skiff.dev/skiff/pkg/ui"
)

func TestParseView(t *testing.T) {
	for in, want := range map[string]View{"cluster": Cluster, "clusters": Cluster, "LISTENERS": Listener, "r": Route, "eps": Endpoint, "secret": Secret, "all": All} {
		if got, err := ParseView(in); err != nil || got != want {
			t.Errorf("ParseView(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	_, err := ParseView("bootstrap")
	if errs.Code(err) != 64 || err.Error() != `unknown view "bootstrap" (choose one of: cluster, listener, route, endpoint, secret, all)` {
		t.Errorf("got %v (exit %d)", err, errs.Code(err))
	}
	if _, err := ParseOutput("wide"); errs.Code(err) != 64 {
		t.Errorf("ParseOutput(wide) = %v", err)
	}
}

func translated(t *testing.T) []byte {
	t.Helper()
	dump, err := TranslateDump(goldenCases[0].opts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := protojson.Marshal(dump)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func render(t *testing.T, dumpJSON []byte, o RenderOptions) string {
	t.Helper()
	dump, err := Decode(dumpJSON)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Render(&out, dump, o); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// TestDecodeKeepsUnknownExtensions feeds a dump as a real Istio Envoy writes it: with filters whose types
// this binary does not know and fields it has never heard of. The views must still come out whole.
func TestDecodeKeepsUnknownExtensions(t *testing.T) {
	plain := translated(t)
	extended := strings.Replace(string(plain), `"httpFilters":[`,
		`"httpFilters":[{"name":"istio.metadata_exchange","typedConfig":{"@type":"type.googleapis.com/io.istio.http.peer_metadata.Config","upstream_discovery":[{"istio_headers":{}}]}},`, 1)
	extended = strings.Replace(extended, `"configs":[`, `"futureField":{"x":1},"configs":[`, 1)
	if extended == string(plain) || !strings.Contains(extended, "peer_metadata") {
		t.Fatal("the dump has no HTTP filters to extend")
	}
	for _, v := range []View{Cluster, Listener, Route, Endpoint} {
		if a, b := render(t, plain, RenderOptions{View: v}), render(t, []byte(extended), RenderOptions{View: v}); a != b {
			t.Errorf("%s view changed by an unknown extension:\n%s\nvs\n%s", v, a, b)
		}
	}
	js := render(t, []byte(extended), RenderOptions{View: Listener, Output: JSON})
	if !strings.Contains(js, "io.istio.http.peer_metadata.Config") || !strings.Contains(js, "upstream_discovery") {
		t.Errorf("the unknown filter's config was lost:\n%.2000s", js)
	}
}

func TestDecodeBadInput(t *testing.T) {
	for _, in := range []string{"<html>", `{"configs":[{"@type":"type.googleapis.com/envoy.admin.v3.ClustersConfigDump","versionInfo":7}]}`} {
		if _, err := Decode([]byte(in)); errs.Code(err) != 65 {
			t.Errorf("Decode(%q) = %v, want a bad-input error", in, err)
		}
	}
}

func TestFilters(t *testing.T) {
	dump := translated(t)
	cases := []struct {
		name string
		o    RenderOptions
		want []string // the rows, each by a distinctive substring
	}{
		{"fqdn short name and subset", RenderOptions{View: Cluster, Filter: Filter{FQDN: "reviews", Subset: "v2"}},
			[]string{"reviews.default.svc.cluster.local   9080   v2       outbound"}},
		{"direction", RenderOptions{View: Cluster, Filter: Filter{Direction: "inbound"}}, []string{"9080   -        inbound     STATIC"}},
		{"fqdn is not a substring match", RenderOptions{View: Cluster, Filter: Filter{FQDN: "review"}}, nil},
		{"listener port", RenderOptions{View: Listener, Filter: Filter{Port: 15001}}, []string{"15001   ALL     Cluster: PassthroughCluster"}},
		{"route name", RenderOptions{View: Route, Filter: Filter{Name: "no-such"}}, nil},
		{"endpoints of a cluster", RenderOptions{View: Endpoint, Filter: Filter{Cluster: "outbound|9080|v3|reviews.default.svc.cluster.local"}},
			[]string{"10.1.1.4:9080   HEALTHY"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lines := strings.Split(strings.TrimSpace(render(t, dump, tc.o)), "\n")
			rows := lines[1:]
			if len(rows) != len(tc.want) {
				t.Fatalf("got %d rows, want %d:\n%s", len(rows), len(tc.want), strings.Join(lines, "\n"))
			}
			for i, w := range tc.want {
				if !strings.Contains(rows[i], w) {
					t.Errorf("row %d = %q, want it to contain %q", i, rows[i], w)
				}
			}
		})
	}
	js := render(t, dump, RenderOptions{View: Cluster, Output: JSON, Filter: Filter{FQDN: "details"}})
	var clusters []struct{ Name string }
	if err := json.Unmarshal([]byte(js), &clusters); err != nil {
		t.Fatal(err)
	}
	if len(clusters) != 1 || clusters[0].Name != "outbound|9080||details.default.svc.cluster.local" {
		t.Errorf("filtered JSON has clusters %+v", clusters)
	}
}

// TestIstioMetadataNamesConfig reads the DestinationRule and VirtualService Istio records in metadata.
func TestIstioMetadataNamesConfig(t *testing.T) {
	dump := strings.Replace(string(translated(t)), `"name":"outbound|9080|v2|reviews.default.svc.cluster.local",`,
		`"name":"outbound|9080|v2|reviews.default.svc.cluster.local","metadata":{"filterMetadata":{"istio":{"config":"/apis/networking.istio.io/v1/namespaces/default/destination-rule/reviews"}}},`, 1)
	out := render(t, []byte(dump), RenderOptions{View: Cluster, Filter: Filter{Subset: "v2"}})
	if !strings.Contains(out, "EDS    reviews.default") {
		t.Errorf("destination rule column:\n%s", out)
	}
}

// TestSavedDumpFile renders a dump saved from a proxy exactly as the translation it came from.
func TestSavedDumpFile(t *testing.T) {
	dir := t.TempDir()
	saved := filepath.Join(dir, "config_dump.json")
	if err := os.WriteFile(saved, translated(t), 0o644); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "garbage.json")
	if err := os.WriteFile(garbage, []byte("upstream connect error"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, v := range []View{Cluster, Route} {
		var fromFile, offline bytes.Buffer
		if err := RunLive(t.Context(), LiveOptions{File: saved, Streams: ui.Streams{Out: &fromFile}, Render: RenderOptions{View: v}}); err != nil {
			t.Fatal(err)
		}
		o := goldenCases[0].opts
		o.Streams, o.Render = ui.Streams{Out: &offline}, RenderOptions{View: v}
		if err := RunTranslate(t.Context(), o); err != nil {
			t.Fatal(err)
		}
		if fromFile.String() != offline.String() {
			t.Errorf("%s: saved dump renders differently:\n%s\nvs\n%s", v, fromFile.String(), offline.String())
		}
	}
	for file, want := range map[string]string{filepath.Join(dir, "nope.json"): "nope.json: no such file or directory", garbage: "garbage.json: config dump is not JSON"} {
		err := RunLive(t.Context(), LiveOptions{File: file, Streams: ui.Streams{Out: &bytes.Buffer{}}})
		if errs.Code(err) != 65 || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want exit 65 with %q", file, err, want)
		}
	}
}
