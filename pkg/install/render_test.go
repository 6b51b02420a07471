package install

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"skiff.dev/skiff/pkg/inject"
	"skiff.dev/skiff/pkg/install/crds"
	"skiff.dev/skiff/pkg/version"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/*.golden.yaml from the current output")

func renderOK(t testing.TB, o ProfileOptions) []Manifest {
	t.Helper()
	p, err := LoadProfile(o)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := Render(p)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// goldenView is the rendered output as compared with the golden files, with two parts left out that have
// their own tests: CRDs are reduced to their name and labels (crds.gen.json has a freshness test and would
// make each golden file a megabyte), and the injector template, pkg/inject's, to a placeholder.
func goldenView(t *testing.T, ms []Manifest) []byte {
	t.Helper()
	var objs []*unstructured.Unstructured
	for _, o := range AllObjects(ms) {
		if o.GetKind() == "ConfigMap" && strings.HasPrefix(o.GetName(), InjectorConfigMapName) {
			o = o.DeepCopy()
			if err := unstructured.SetNestedField(o.Object, "<inject.DefaultTemplate()>", "data", InjectorConfigKey); err != nil {
				t.Fatal(err)
			}
		}
		if o.GetKind() == "CustomResourceDefinition" {
			stub := &unstructured.Unstructured{Object: map[string]any{"apiVersion": o.GetAPIVersion(), "kind": o.GetKind()}}
			stub.SetName(o.GetName())
			stub.SetLabels(o.GetLabels())
			o = stub
		}
		objs = append(objs, o)
	}
	b, err := MarshalYAML(objs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parseDocuments(t *testing.T, data []byte) []any {
	t.Helper()
	var docs []any
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var d any
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("parsing YAML: %v", err)
		}
		if d != nil {
			docs = append(docs, d)
		}
	}
}

// keyedDocuments returns the objects' "Kind namespace/name" keys in order, and the objects by key, so that
// differences are reported as "Deployment istio-system/istiod.spec.replicas".
func keyedDocuments(t *testing.T, data []byte) ([]string, map[string]any) {
	t.Helper()
	var keys []string
	objs := map[string]any{}
	for _, d := range parseDocuments(t, data) {
		u := unstructured.Unstructured{Object: d.(map[string]any)}
		key := u.GetKind() + " " + u.GetName()
		if u.GetNamespace() != "" {
			key = u.GetKind() + " " + u.GetNamespace() + "/" + u.GetName()
		}
		keys = append(keys, key)
		objs[key] = d
	}
	return keys, objs
}

// TestGolden compares each built-in profile's rendering with testdata/<profile>.golden.yaml, semantically
// (parsed, path by path). `go test ./pkg/install -run TestGolden -update` rewrites the files.
func TestGolden(t *testing.T) {
	for _, name := range BuiltinProfileNames() {
		t.Run(name, func(t *testing.T) {
			got := goldenView(t, renderOK(t, ProfileOptions{Profile: name}))
			path := filepath.Join("testdata", name+".golden.yaml")
			if *updateGolden {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			wantKeys, wantObjs := keyedDocuments(t, want)
			gotKeys, gotObjs := keyedDocuments(t, got)
			if !slices.Equal(wantKeys, gotKeys) {
				t.Errorf("object order differs:\n golden:   %v\n rendered: %v", wantKeys, gotKeys)
			}
			diffs := DiffTrees(wantObjs, gotObjs)
			for i, d := range diffs {
				if i == 20 {
					t.Errorf("... and %d more", len(diffs)-i)
					break
				}
				t.Errorf("%s", d)
			}
			if len(diffs) > 0 {
				t.Logf("- golden, + rendered; if the change is intended, run: go test ./pkg/install -run TestGolden -update")
			}
		})
	}
}

func TestRenderIsDeterministic(t *testing.T) {
	first, err := MarshalYAML(AllObjects(renderOK(t, ProfileOptions{Profile: "demo"})))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		again, err := MarshalYAML(AllObjects(renderOK(t, ProfileOptions{Profile: "demo"})))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, again) {
			t.Fatal("two renderings of the demo profile differ")
		}
	}
}

func TestEveryObjectIsLabelled(t *testing.T) {
	for _, m := range renderOK(t, ProfileOptions{Profile: "demo", Sets: []string{"revision=canary"}}) {
		for _, o := range m.Objects {
			l := o.GetLabels()
			if l[LabelManagedBy] != ManagedByValue || l[LabelComponent] != string(m.Component) ||
				l[LabelInstallation] != "canary" || l[LabelVersion] != version.Get().Version {
				t.Errorf("%s %s in %s has labels %v", o.GetKind(), o.GetName(), m.Component, l)
			}
		}
	}
}

func TestRenderOrderAndComponents(t *testing.T) {
	ms := renderOK(t, ProfileOptions{Profile: "demo"})
	var comps []Component
	for _, m := range ms {
		comps = append(comps, m.Component)
	}
	if !slices.Equal(comps, Components) {
		t.Fatalf("demo renders components %v, want %v", comps, Components)
	}
	all := AllObjects(ms)
	kinds := func(objs []*unstructured.Unstructured) []string {
		var out []string
		for _, o := range objs {
			out = append(out, o.GetKind())
		}
		return out
	}
	k := kinds(all)
	if k[0] != "Namespace" || k[1] != "CustomResourceDefinition" || k[len(k)-2] != "MutatingWebhookConfiguration" || k[len(k)-1] != "ValidatingWebhookConfiguration" {
		t.Errorf("apply order: %v", k)
	}
	for i := 1; i < len(all); i++ {
		if applyRank(k[i-1]) > applyRank(k[i]) {
			t.Errorf("%s before %s", k[i-1], k[i])
		}
	}
	if n := strings.Count(strings.Join(k, ","), "CustomResourceDefinition"); n != len(crds.AcceptedKinds()) {
		t.Errorf("%d CRDs, want %d", n, len(crds.AcceptedKinds()))
	}

	if got := renderOK(t, ProfileOptions{Profile: "empty"}); len(got) != 0 {
		t.Errorf("empty profile renders %d manifests", len(got))
	}
	if got := renderOK(t, ProfileOptions{Profile: "minimal"}); len(got) != 2 {
		t.Errorf("minimal profile renders %d manifests, want Base and Controller", len(got))
	}
}

// find returns the object of kind and name, failing the test when absent.
func find(t *testing.T, ms []Manifest, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range AllObjects(ms) {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	t.Fatalf("no %s %s rendered", kind, name)
	return nil
}

func nested(t *testing.T, o *unstructured.Unstructured, fields ...string) any {
	t.Helper()
	v, ok, err := unstructured.NestedFieldNoCopy(o.Object, fields...)
	if !ok || err != nil {
		t.Fatalf("%s %s has no %s", o.GetKind(), o.GetName(), strings.Join(fields, "."))
	}
	return v
}

func TestRenderHonoursSettings(t *testing.T) {
	ms := renderOK(t, ProfileOptions{Profile: "demo", Sets: []string{
		"hub=registry.example.com/mesh", "tag=9.9.9", "namespace=mesh", "revision=canary",
		"components.pilot.k8s.replicaCount=2",
		"components.ingressGateways[0].k8s.service.type=NodePort",
		"components.ingressGateways[0].k8s.env[0].name=EXTRA", "components.ingressGateways[0].k8s.env[0].value=1",
		"values.pilot.env.PILOT_FOO=bar",
		"addonComponents.grafana.image=grafana/grafana:custom",
	}})
	istiod := find(t, ms, "Deployment", "istiod-canary")
	if istiod.GetNamespace() != "mesh" || nested(t, istiod, "spec", "replicas") != int64(2) {
		t.Errorf("istiod: namespace %s replicas %v", istiod.GetNamespace(), nested(t, istiod, "spec", "replicas"))
	}
	c := nested(t, istiod, "spec", "template", "spec", "containers").([]any)[0].(map[string]any)
	if c["image"] != "registry.example.com/mesh/skiff:9.9.9" || c["args"].([]any)[0] != "controller" {
		t.Errorf("controller container: %v %v", c["image"], c["args"])
	}
	if env := showValue(c["env"]); !strings.Contains(env, `"PILOT_FOO","value":"bar"`) {
		t.Errorf("pilot env: %s", env)
	}
	gw := find(t, ms, "Deployment", "istio-ingressgateway")
	gc := nested(t, gw, "spec", "template", "spec", "containers").([]any)[0].(map[string]any)
	if gc["image"] != "registry.example.com/mesh/skiff-proxy:9.9.9" || !strings.Contains(showValue(gc["env"]), `"EXTRA","value":"1"`) {
		t.Errorf("gateway container: %v", gc)
	}
	if svc := find(t, ms, "Service", "istio-ingressgateway"); nested(t, svc, "spec", "type") != "NodePort" {
		t.Errorf("gateway service type %v", nested(t, svc, "spec", "type"))
	}
	if g := find(t, ms, "Deployment", "grafana"); !strings.Contains(showValue(nested(t, g, "spec", "template")), "grafana/grafana:custom") {
		t.Error("grafana image override ignored")
	}
	find(t, ms, "ConfigMap", "istio-canary")
	find(t, ms, "ConfigMap", "istio-sidecar-injector-canary")
	find(t, ms, "ValidatingWebhookConfiguration", "istio-validator-canary-mesh")
	mwh := find(t, ms, "MutatingWebhookConfiguration", "istio-sidecar-injector-canary")
	if s := showValue(nested(t, mwh, "webhooks")); !strings.Contains(s, `"key":"istio.io/rev","operator":"In","values":["canary"]`) ||
		!strings.Contains(s, `"name":"istiod-canary","namespace":"mesh","path":"/inject"`) {
		t.Errorf("revision webhook selectors: %s", s)
	}
}

func TestMeshAndInjectorConfigMaps(t *testing.T) {
	ms := renderOK(t, ProfileOptions{Profile: "demo", Sets: []string{"meshConfig.defaultConfig.tracing.sampling=5"}})
	mesh := find(t, ms, "ConfigMap", MeshConfigMapName)
	var mc map[string]any
	if err := yaml.Unmarshal([]byte(nested(t, mesh, "data", MeshConfigKey).(string)), &mc); err != nil {
		t.Fatal(err)
	}
	dc := mc["defaultConfig"].(map[string]any)
	tr := dc["tracing"].(map[string]any)
	if mc["accessLogFile"] != "/dev/stdout" || mc["rootNamespace"] != "istio-system" || dc["discoveryAddress"] != "istiod.istio-system.svc:15012" ||
		tr["sampling"] != 5 || tr["zipkin"].(map[string]any)["address"] != "zipkin.istio-system:9411" {
		t.Errorf("mesh config: %v", mc)
	}
	inj := find(t, ms, "ConfigMap", InjectorConfigMapName)
	values := nested(t, inj, "data", InjectorValuesKey).(string)
	if !strings.Contains(values, `"hub": "ghcr.io/skiff-dev"`) || !strings.Contains(values, `"traceSampling": 100`) {
		t.Errorf("injector values: %s", values)
	}
	if got := nested(t, inj, "data", InjectorConfigKey); got != inject.DefaultTemplate() {
		t.Errorf("injector ConfigMap config is not inject.DefaultTemplate(): %.200s", got)
	}
}

func TestGenerateManifestsToDir(t *testing.T) {
	dir := t.TempDir()
	if err := GenerateManifests(GenerateOptions{Profile: ProfileOptions{Profile: "demo"}, OutputDir: dir}); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{"01-base.yaml", "02-controller.yaml", "03-ingress-gateways.yaml", "04-egress-gateways.yaml", "05-addons.yaml"}
	if !slices.Equal(names, want) {
		t.Fatalf("files %v, want %v", names, want)
	}
	var stdout bytes.Buffer
	if err := GenerateManifests(GenerateOptions{Profile: ProfileOptions{Profile: "demo"}, Out: &stdout}); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, n := range names {
		b, _ := os.ReadFile(filepath.Join(dir, n))
		total += len(parseDocuments(t, b))
	}
	if n := len(parseDocuments(t, stdout.Bytes())); n != total || n < 50 {
		t.Errorf("stdout has %d objects, the files %d", n, total)
	}
}

func TestGatewayNamespaces(t *testing.T) {
	ms := renderOK(t, ProfileOptions{Profile: "demo", Sets: []string{
		"components.ingressGateways[name:edge].enabled=true", "components.ingressGateways[name:edge].namespace=edge",
		"components.egressGateways[name:out].enabled=true", "components.egressGateways[name:out].namespace=edge",
		"components.egressGateways[name:out2].enabled=true", "components.egressGateways[name:out2].namespace=egress",
	}})
	var namespaces []string
	for _, m := range ms {
		for _, o := range m.Objects {
			if o.GetKind() == "Namespace" {
				namespaces = append(namespaces, string(m.Component)+":"+o.GetName())
			}
		}
	}
	want := []string{"Base:istio-system", "IngressGateways:edge", "EgressGateways:egress"}
	if !slices.Equal(namespaces, want) {
		t.Errorf("namespaces %v, want each once, in the first component that needs it: %v", namespaces, want)
	}
	if d := find(t, ms, "Deployment", "out"); d.GetNamespace() != "edge" || d.GetLabels()["istio"] != "egressgateway" {
		t.Errorf("egress gateway out: namespace %s labels %v", d.GetNamespace(), d.GetLabels())
	}
}
