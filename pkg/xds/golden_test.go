package xds

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kylelemons/godebug/pretty"
	"google.golang.org/protobuf/proto"
	"sigs.k8s.io/yaml"

	"skiff.dev/skiff/pkg/model"
)

var update = flag.Bool("update", false, "rewrite testdata/out golden files")

// goldenProxy is the client a case is generated for: the sidecar of the productpage workload in
// namespace default; for cases named *-grpc a proxyless gRPC client there; for *-gateway and gateway-*
// the istio-ingressgateway router in istio-system.
func goldenProxy(name string) *model.Proxy {
	p := &model.Proxy{ID: "productpage-v1-abc.default", Namespace: "default", IP: "10.1.0.1", Labels: map[string]string{"app": "productpage", "version": "v1"}}
	switch {
	case strings.HasSuffix(name, "-grpc"):
		p.Type = model.ProxylessGRPC
		// As if productpage also served gRPC on 9080 and 9443 and asked for its server listeners.
		p.InboundListeners = []string{GRPCInboundPrefix + "10.1.0.1:9080", GRPCInboundPrefix + "[::]:9443", GRPCInboundPrefix + "bogus"}
	case strings.HasSuffix(name, "-gateway") || strings.HasPrefix(name, "gateway-"):
		p = &model.Proxy{ID: "istio-ingressgateway-abc.istio-system", Type: model.Router, Namespace: "istio-system", IP: "10.1.0.99",
			Labels: map[string]string{"app": "istio-ingressgateway", "istio": "ingressgateway"}}
	}
	return p
}

func loadMesh(t testing.TB, file string) *model.Mesh {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	in, err := model.LoadFiles(map[string][]byte{file: b})
	if err != nil {
		t.Fatal(err)
	}
	return model.Build(in)
}

func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/in/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			res := Generate(loadMesh(t, file), goldenProxy(name))
			if err := res.Validate(); err != nil {
				t.Fatalf("generated resources do not validate: %v", err)
			}
			compareGolden(t, name, "listeners", res.Listeners)
			compareGolden(t, name, "routes", res.Routes)
			compareGolden(t, name, "clusters", res.Clusters)
			compareGolden(t, name, "endpoints", res.Endpoints)
			// Secrets (private keys redacted by ToYAML) have a golden file when a case serves any.
			if _, err := os.Stat(filepath.Join("testdata", "out", name+".secrets.yaml")); err == nil || len(res.Secrets) > 0 {
				compareGolden(t, name, "secrets", res.Secrets)
			}
		})
	}
}

func compareGolden[T proto.Message](t *testing.T, name, kind string, got []T) {
	t.Helper()
	out, err := ToYAML(got)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "out", name+"."+kind+".yaml")
	if *update {
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./pkg/xds -update)", err)
	}
	var w, g any
	if err := yaml.Unmarshal(want, &w); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if err := yaml.Unmarshal(out, &g); err != nil {
		t.Fatal(err)
	}
	if diff := pretty.Compare(w, g); diff != "" {
		t.Errorf("%s differs from golden (-want +got):\n%s", path, diff)
	}
}
