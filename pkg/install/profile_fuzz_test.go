package install

import (
	"strings"
	"testing"

	"skiff.dev/skiff/pkg/errs"
)

// FuzzProfileOverlay feeds arbitrary overlay files through strict decoding, merging and completion: they
// must be accepted or rejected with a one-line bad-input error, never panic.
func FuzzProfileOverlay(f *testing.F) {
	for _, seed := range []string{
		"spec:\n  components:\n    ingressGateways:\n    - name: x\n      enabled: true\n",
		"apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nspec:\n  meshConfig:\n    connectTimeout: 5s\n",
		"spec:\n  values:\n    global:\n      proxy:\n        resources: null\n",
		"spec:\n  meshConfig:\n    defaultConfig:\n      proxyMetadata: {A: b}\n  hub: &h x\n  tag: *h\n",
		"spec:\n  components:\n    pilot:\n      k8s:\n        env: [{name: A, valueFrom: {fieldRef: {fieldPath: x}}}]\n",
		"spec: [1, 2]\n", "- a\n", "{", "spec:\n  namespace: 1\n", "spec:\n  components:\n    egressGateways: []\n",
	} {
		f.Add(seed)
	}
	root := profileSchema()
	f.Fuzz(func(t *testing.T, data string) {
		d, err := parseProfileDoc("fuzz.yaml", []byte(data), root)
		if err != nil {
			checkOneLineBadInput(t, err)
			return
		}
		base, err := resolveProfile(DefaultProfile, root, 0)
		if err != nil {
			t.Fatal(err)
		}
		p, err := decodeProfile(mergeTrees(base, d.tree))
		if err == nil {
			err = p.complete()
			if err == nil {
				if _, err := Render(p); err != nil {
					t.Fatalf("a profile that loads must render: %v", err)
				}
				return
			}
			err = errs.BadInput("%v", err)
		}
		checkOneLineBadInput(t, err)
	})
}

// FuzzSet feeds arbitrary --set arguments through parsing and application.
func FuzzSet(f *testing.F) {
	for _, seed := range []string{
		"spec.components.ingressGateways[0].enabled=false", "values.global.proxy.logLevel=debug",
		"components.ingressGateways[name:x].k8s.replicaCount=2", "meshConfig.defaultConfig.tracing.sampling=5",
		"components.pilot.k8s.nodeSelector={a: b}", "a\\.b=c", "x[", "[0]=1", "components.ingressGateways[9]=1", "=",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		_, err := LoadProfile(ProfileOptions{Sets: []string{raw}})
		if err != nil {
			checkOneLineBadInput(t, err)
		}
	})
}

func checkOneLineBadInput(t *testing.T, err error) {
	t.Helper()
	if errs.Code(err) != errs.ExitBadInput {
		t.Fatalf("exit code %d for %v", errs.Code(err), err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Fatalf("multi-line error %q", err)
	}
}
