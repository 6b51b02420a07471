package install

import (
	"reflect"
	"testing"

	"sigs.k8s.io/yaml"
)

func obj(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDrift(t *testing.T) {
	want := obj(t, `
metadata: {name: istiod, resourceVersion: "7", generation: 2, labels: {app: istiod}}
spec:
  replicas: 1
  template: {spec: {containers: [{name: discovery, image: skiff:1, imagePullPolicy: IfNotPresent}]}}
status: {replicas: 1}`)
	same := obj(t, `
metadata: {name: istiod, resourceVersion: "6", generation: 1, labels: {app: istiod}, managedFields: [{manager: skiff}]}
spec:
  replicas: 1
  template: {spec: {containers: [{name: discovery, image: skiff:1, imagePullPolicy: IfNotPresent}]}}
status: {replicas: 0}`)
	if d := drift(want, same); len(d) != 0 {
		t.Fatalf("server-maintained metadata and status are not drift, got %v", d)
	}
	changed := obj(t, `
metadata: {name: istiod, labels: {app: istiod, extra: x}}
spec:
  replicas: 3
  template: {spec: {containers: [{name: discovery, image: other:2, imagePullPolicy: IfNotPresent}]}}`)
	got := drift(want, changed)
	wantDiffs := []string{
		`spec.replicas: 3, want 1`,
		`spec.template.spec.containers[0].image: "other:2", want "skiff:1"`,
		`metadata.labels.extra: "x", want unset`,
	}
	if !reflect.DeepEqual(got, wantDiffs) {
		t.Fatalf("drift:\n got %q\nwant %q", got, wantDiffs)
	}
	missingList := obj(t, `{metadata: {labels: {app: istiod}}, spec: {replicas: 1, template: {spec: {containers: []}}}}`)
	if got := drift(want, missingList); !reflect.DeepEqual(got, []string{"spec.template.spec.containers: 0 items, want 1 items"}) {
		t.Fatalf("list length drift: %q", got)
	}
	cm := func(data string) map[string]any {
		return map[string]any{"data": map[string]any{"mesh": data}}
	}
	got = drift(cm("accessLogFile: /dev/stdout\ndefaultConfig: {}\n"), cm("accessLogFile: /dev/null\ndefaultConfig: {}\n"))
	if !reflect.DeepEqual(got, []string{`data.mesh line 1: "accessLogFile: /dev/null", want "accessLogFile: /dev/stdout"`}) {
		t.Fatalf("multi-line drift: %q", got)
	}
	got = drift(cm("a\nb"), cm("a"))
	if !reflect.DeepEqual(got, []string{`data.mesh line 2: unset, want "b"`}) {
		t.Fatalf("missing line: %q", got)
	}
}

func TestContains(t *testing.T) {
	live := obj(t, `{metadata: {name: a, uid: x}, spec: {replicas: 1, ports: [{port: 80, protocol: TCP}]}}`)
	for want, ok := range map[string]bool{
		`{metadata: {name: a}, spec: {ports: [{port: 80}]}}`:        true,
		`{metadata: {name: a}, spec: {ports: [{port: 81}]}}`:        false,
		`{spec: {ports: [{port: 80}, {port: 443}]}}`:                false,
		`{spec: {replicas: 2}}`:                                     false,
		`{spec: {paused: false}}`:                                   false,
		`{metadata: {labels: {app: a}}}`:                            false,
		`{spec: {replicas: 1, ports: [{port: 80, protocol: TCP}]}}`: true,
	} {
		if got := contains(live, obj(t, want)); got != ok {
			t.Errorf("contains(live, %s) = %v, want %v", want, got, ok)
		}
	}
}
