package inject

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/kylelemons/godebug/pretty"
	"sigs.k8s.io/yaml"
)

// checkRoundTrip asserts the two properties uninject and idempotency rest on:
// uninject(inject(x)) == uninject(x) (== x when x was not injected), and inject(inject(x)) == inject(x).
func checkRoundTrip(t *testing.T, inj *Injector, name string, src []byte) {
	t.Helper()
	once, err := inj.InjectManifest(src, name)
	if err != nil {
		t.Fatalf("%s: inject: %v", name, err)
	}
	twice, err := inj.InjectManifest(once.Output, name)
	if err != nil {
		t.Fatalf("%s: inject again: %v", name, err)
	}
	if !bytes.Equal(once.Output, twice.Output) {
		t.Errorf("%s: injecting twice changed the output:\n%s", name, pretty.Compare(parseStream(t, once.Output), parseStream(t, twice.Output)))
	}
	for _, r := range twice.Records {
		if r.Verb != "" {
			t.Errorf("%s: second injection reported %s", name, r)
		}
	}

	back, err := UninjectManifest(once.Output, name)
	if err != nil {
		t.Fatalf("%s: uninject: %v", name, err)
	}
	want, err := UninjectManifest(src, name)
	if err != nil {
		t.Fatalf("%s: uninject input: %v", name, err)
	}
	if !bytes.Contains(src, []byte(AnnotationStatus)) && !bytes.Equal(want.Output, src) {
		t.Errorf("%s: uninjecting a never-injected manifest changed it", name)
	}
	if diff := pretty.Compare(parseStream(t, want.Output), parseStream(t, back.Output)); diff != "" {
		t.Errorf("%s: uninject(inject(x)) != x (-want +got):\n%s", name, diff)
	}
	again, err := UninjectManifest(back.Output, name)
	if err != nil || !bytes.Equal(again.Output, back.Output) {
		t.Errorf("%s: uninjecting twice changed the output (err %v)", name, err)
	}
}

func TestRoundTripGoldenInputs(t *testing.T) {
	for _, in := range goldenInputs(t) {
		src, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		checkRoundTrip(t, injectorFor(t, in), in, src)
	}
}

// TestRoundTripVariations generates pods mixing the features injection touches (probes of every kind,
// named ports, init containers, existing labels, opt-in annotations, values switches) and checks the
// round-trip properties on each.
func TestRoundTripVariations(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	valueSets := []map[string]any{
		nil,
		{"istio_cni": map[string]any{"enabled": true}},
		{"pilot": map[string]any{"env": map[string]any{"ENABLE_NATIVE_SIDECARS": true}}},
		{"global": map[string]any{"proxy": map[string]any{"holdApplicationUntilProxyStarts": true}, "imagePullSecrets": []any{"regcred"}}},
	}
	for vi, values := range valueSets {
		inj, err := New(Config{Values: values})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 60; i++ {
			name := fmt.Sprintf("values%d/variation%d", vi, i)
			src := generatePod(rng, i)
			if res, err := inj.InjectManifest(src, name); err != nil || len(res.Records) != 1 || res.Records[0].Verb != "injected" {
				t.Fatalf("%s: not injected: %v %v", name, err, res.Records)
			}
			checkRoundTrip(t, inj, name, src)
		}
	}
}

func generatePod(rng *rand.Rand, i int) []byte {
	pick := func() bool { return rng.IntN(2) == 0 }
	labels := map[string]any{}
	annotations := map[string]any{}
	if pick() {
		labels["app"] = fmt.Sprintf("app%d", i)
	}
	if pick() {
		labels["security.istio.io/tlsMode"] = "istio"
	}
	if pick() {
		labels["version"] = "v" + fmt.Sprint(rng.IntN(3))
	}
	for _, a := range []struct{ k, v string }{
		{"sidecar.istio.io/nativeSidecar", "true"},
		{"sidecar.istio.io/nativeSidecar", "false"},
		{"proxy.istio.io/config", "holdApplicationUntilProxyStarts: true\nconcurrency: 4\n"},
		{"traffic.sidecar.istio.io/excludeOutboundPorts", "3306"},
		{"sidecar.istio.io/rewriteAppHTTPProbers", "false"},
		{"prometheus.io/scrape", "false"},
		{"kubectl.kubernetes.io/default-container", "other"},
		{"sidecar.istio.io/proxyCPU", "10m"},
	} {
		if rng.IntN(4) == 0 {
			annotations[a.k] = a.v
		}
	}
	var containers []any
	for c := 0; c <= rng.IntN(3); c++ {
		cname := fmt.Sprintf("c%d", c)
		ctr := map[string]any{"name": cname, "image": "example/app:1",
			"ports": []any{map[string]any{"name": "http", "containerPort": 8000 + c}}}
		for _, field := range []string{"readinessProbe", "livenessProbe", "startupProbe"} {
			switch rng.IntN(6) {
			case 0:
				ctr[field] = map[string]any{"httpGet": map[string]any{"path": "/h", "port": "http"}, "timeoutSeconds": 3}
			case 1:
				ctr[field] = map[string]any{"httpGet": map[string]any{"path": "/h", "port": 8000 + c, "scheme": "HTTPS"}}
			case 2:
				ctr[field] = map[string]any{"tcpSocket": map[string]any{"port": 8000 + c}, "periodSeconds": 5}
			case 3:
				ctr[field] = map[string]any{"grpc": map[string]any{"port": 9000}}
			case 4:
				ctr[field] = map[string]any{"exec": map[string]any{"command": []any{"true"}}}
			}
		}
		containers = append(containers, ctr)
	}
	spec := map[string]any{"containers": containers}
	if pick() {
		spec["initContainers"] = []any{map[string]any{"name": "setup", "image": "example/setup:1"}}
	}
	if pick() {
		spec["volumes"] = []any{map[string]any{"name": "data", "emptyDir": map[string]any{}}}
	}
	if pick() {
		spec["imagePullSecrets"] = []any{map[string]any{"name": "regcred"}}
	}
	tmplMeta := map[string]any{}
	if len(labels) > 0 {
		tmplMeta["labels"] = labels
	}
	if len(annotations) > 0 {
		tmplMeta["annotations"] = annotations
	}
	obj := map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": fmt.Sprintf("gen-%d", i)},
		"spec":     map[string]any{"template": map[string]any{"spec": spec}},
	}
	if len(tmplMeta) > 0 { // an explicit empty `metadata: {}` is the one thing uninject normalises away
		obj["spec"].(map[string]any)["template"].(map[string]any)["metadata"] = tmplMeta
	}
	if pick() {
		obj = map[string]any{"apiVersion": "v1", "kind": "Pod",
			"metadata": mergeMaps(map[string]any{"name": fmt.Sprintf("gen-%d", i)}, tmplMeta), "spec": spec}
	}
	b, _ := yaml.Marshal(obj)
	return b
}

func mergeMaps(a, b map[string]any) map[string]any {
	for k, v := range b {
		a[k] = v
	}
	return a
}

func TestReportFormat(t *testing.T) {
	for _, tc := range []struct {
		r    Record
		want string
	}{
		{Record{Kind: "Deployment", Name: "web", Verb: "injected"}, `deployment "web" injected`},
		{Record{Kind: "Pod", Name: "x", Reason: "hostNetwork"}, `pod "x" skipped: hostNetwork`},
	} {
		if got := tc.r.String(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}
