package install

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"skiff.dev/skiff/pkg/errs"
)

func loadOK(t *testing.T, o ProfileOptions) *Profile {
	t.Helper()
	p, err := LoadProfile(o)
	if err != nil {
		t.Fatalf("LoadProfile(%+v): %v", o, err)
	}
	return p
}

// loadFails checks that LoadProfile fails with a bad-input error containing every want.
func loadFails(t *testing.T, o ProfileOptions, wants ...string) {
	t.Helper()
	_, err := LoadProfile(o)
	if err == nil {
		t.Fatalf("LoadProfile(%+v) succeeded, want an error containing %q", o, wants)
	}
	if errs.Code(err) != errs.ExitBadInput {
		t.Errorf("exit code %d, want %d (bad input) for %v", errs.Code(err), errs.ExitBadInput, err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error spans lines: %q", err)
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}

func writeOverlay(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestBuiltinProfiles(t *testing.T) {
	if got := strings.Join(BuiltinProfileNames(), ","); got != "default,demo,empty,minimal" {
		t.Fatalf("built-in profiles %s", got)
	}
	type want struct {
		base, pilot, ingress, egress, addons bool
		sampling                             float64
	}
	for name, w := range map[string]want{
		"default": {true, true, true, false, false, 1},
		"demo":    {true, true, true, true, true, 100},
		"minimal": {true, true, false, false, false, 1},
		"empty":   {false, false, false, false, false, 1},
	} {
		t.Run(name, func(t *testing.T) {
			p := loadOK(t, ProfileOptions{Profile: name})
			c := p.Spec.Components
			a := p.Spec.AddonComponents
			got := want{c.Base.Enabled, c.Pilot.Enabled, c.IngressGateways[0].Enabled, c.EgressGateways[0].Enabled,
				a.Kiali.Enabled && a.Jaeger.Enabled && a.Prometheus.Enabled && a.Grafana.Enabled, p.Spec.Values.Pilot.TraceSampling}
			if got != w {
				t.Errorf("got %+v, want %+v", got, w)
			}
			if p.Spec.Profile != name || p.Spec.Namespace != DefaultNamespace || p.APIVersion != APIVersion || p.Kind != Kind {
				t.Errorf("profile %q namespace %q type %s/%s", p.Spec.Profile, p.Spec.Namespace, p.APIVersion, p.Kind)
			}
			if ProfileDescription(name) == "" {
				t.Errorf("no description for %s", name)
			}
		})
	}
}

func TestEmptyOptionsMeanDefault(t *testing.T) {
	p := loadOK(t, ProfileOptions{})
	if p.Spec.Profile != DefaultProfile || !p.Spec.Components.IngressGateways[0].Enabled {
		t.Fatalf("got profile %q", p.Spec.Profile)
	}
	if p.Spec.Values.Global.Hub != p.Spec.Hub || p.Spec.Values.Global.Tag != p.Spec.Tag || p.Spec.Tag == "" {
		t.Errorf("hub/tag not mirrored into values.global: %q %q %q %q", p.Spec.Hub, p.Spec.Tag, p.Spec.Values.Global.Hub, p.Spec.Values.Global.Tag)
	}
}

func TestUnknownProfileListsValidOnes(t *testing.T) {
	loadFails(t, ProfileOptions{Profile: "dmeo"}, `unknown profile "dmeo"`, "default, demo, empty, minimal")
	loadFails(t, ProfileOptions{Sets: []string{"profile=nope"}}, `unknown profile "nope"`)
	loadFails(t, ProfileOptions{Profile: "./missing.yaml"}, "missing.yaml", "no such file")
}

func TestSetPaths(t *testing.T) {
	p := loadOK(t, ProfileOptions{Sets: []string{
		"spec.components.ingressGateways[0].enabled=false",
		"components.pilot.k8s.replicaCount=3",  // istioctl's spec-less paths
		"values.global.proxy.logLevel=debug",   // string
		"values.pilot.traceSampling=12.5",      // float
		"spec.tag=1.20",                        // stays a string, not the number 1.2
		"meshConfig.accessLogFile=/dev/stdout", // meshConfig by the proto schema
		"meshConfig.defaultConfig.holdApplicationUntilProxyStarts=true",
		"values.sidecarInjectorWebhook.injectedAnnotations.example\\.com/team=payments", // escaped dot in a key
		"components.egressGateways[name:istio-egressgateway].enabled=true",              // select by name
		"components.ingressGateways[1].name=internal-gateway",                           // [len] appends
		"components.ingressGateways[name:internal-gateway].enabled=true",
		"components.pilot.k8s.resources.requests.cpu=250m",
		"components.pilot.k8s.env[0].name=FOO",
		"components.pilot.k8s.env[0].value=true", // a string field keeps "true"
	}})
	c := p.Spec.Components
	if c.IngressGateways[0].Enabled || !c.EgressGateways[0].Enabled {
		t.Errorf("gateway switches not applied: ingress %v egress %v", c.IngressGateways[0].Enabled, c.EgressGateways[0].Enabled)
	}
	if len(c.IngressGateways) != 2 || c.IngressGateways[1].Name != "internal-gateway" || !c.IngressGateways[1].Enabled {
		t.Errorf("appended gateway: %+v", c.IngressGateways)
	}
	if c.Pilot.K8s.ReplicaCount != 3 || c.Pilot.K8s.Resources.Requests.Cpu().String() != "250m" {
		t.Errorf("pilot k8s: %+v", c.Pilot.K8s)
	}
	if e := c.Pilot.K8s.Env; len(e) != 1 || e[0].Name != "FOO" || e[0].Value != "true" {
		t.Errorf("env: %+v", e)
	}
	v := p.Spec.Values
	if v.Global.Proxy.LogLevel != "debug" || v.Pilot.TraceSampling != 12.5 || p.Spec.Tag != "1.20" || v.Global.Tag != "1.20" {
		t.Errorf("values: logLevel %q traceSampling %v tag %q", v.Global.Proxy.LogLevel, v.Pilot.TraceSampling, p.Spec.Tag)
	}
	if v.SidecarInjectorWebhook.InjectedAnnotations["example.com/team"] != "payments" {
		t.Errorf("injectedAnnotations: %v", v.SidecarInjectorWebhook.InjectedAnnotations)
	}
	mc, err := p.Spec.MeshConfigProto()
	if err != nil {
		t.Fatal(err)
	}
	if mc.GetAccessLogFile() != "/dev/stdout" || !mc.GetDefaultConfig().GetHoldApplicationUntilProxyStarts().GetValue() {
		t.Errorf("meshConfig: %v", mc)
	}
}

func TestSpecAndGlobalValuesAreOneSetting(t *testing.T) {
	p := loadOK(t, ProfileOptions{Sets: []string{"values.global.hub=docker.io/istio", "values.global.tag=1.2.3", "values.global.istioNamespace=mesh"}})
	if p.Spec.Hub != "docker.io/istio" || p.Spec.Tag != "1.2.3" || p.Spec.Namespace != "mesh" {
		t.Errorf("istioctl-style values.global settings ignored: hub %q tag %q namespace %q", p.Spec.Hub, p.Spec.Tag, p.Spec.Namespace)
	}
	p = loadOK(t, ProfileOptions{Sets: []string{"values.global.hub=a", "hub=b", "namespace=spec-ns", "values.global.istioNamespace=values-ns"}})
	if p.Spec.Hub != "b" || p.Spec.Values.Global.Hub != "b" || p.Spec.Namespace != "spec-ns" || p.Spec.Values.Global.IstioNamespace != "spec-ns" {
		t.Errorf("spec must win over values.global: hub %q/%q namespace %q/%q", p.Spec.Hub, p.Spec.Values.Global.Hub, p.Spec.Namespace, p.Spec.Values.Global.IstioNamespace)
	}
}

func TestIstioGatewayValues(t *testing.T) {
	p := loadOK(t, ProfileOptions{Profile: "demo", Sets: []string{
		"values.gateways.istio-ingressgateway.type=NodePort",
		"values.gateways.istio-ingressgateway.serviceAnnotations.example\\.com/lb=internal",
		"values.gateways.istio-egressgateway.env.FOO=bar",
	}})
	in, eg := p.Spec.Components.IngressGateways[0], p.Spec.Components.EgressGateways[0]
	if in.K8s.Service.Type != "NodePort" || in.K8s.ServiceAnnotations["example.com/lb"] != "internal" {
		t.Errorf("ingress gateway k8s: %+v", in.K8s)
	}
	if len(eg.K8s.Env) != 1 || eg.K8s.Env[0].Name != "FOO" || eg.K8s.Env[0].Value != "bar" {
		t.Errorf("egress gateway env: %+v", eg.K8s.Env)
	}
	if p.Spec.Values.Gateways != nil {
		t.Errorf("values.gateways not folded into the components: %v", p.Spec.Values.Gateways)
	}
	loadFails(t, ProfileOptions{Sets: []string{"values.gateways.nope.type=NodePort"}}, "spec.values.gateways.nope", "no gateway named")
	loadFails(t, ProfileOptions{Sets: []string{"values.gateways.istio-ingressgateway.autoscaleEnabled=true"}}, "spec.values.gateways.istio-ingressgateway.autoscaleEnabled: unknown field")
}

func TestSetProfileSelectsBase(t *testing.T) {
	p := loadOK(t, ProfileOptions{Profile: "default", Sets: []string{"profile=demo"}})
	if p.Spec.Profile != "demo" || !p.Spec.AddonComponents.Kiali.Enabled {
		t.Fatalf("--set profile=demo gave %q", p.Spec.Profile)
	}
}

func TestBadSetNamesThePath(t *testing.T) {
	for raw, wants := range map[string][]string{
		"spec.values.global.hbu=1":                               {"spec.values.global.hbu: unknown field"},
		"values.global.hbu=1":                                    {"spec.values.global.hbu: unknown field"},
		"components.pilot.enabled=yes":                           {"spec.components.pilot.enabled", "want true or false"},
		"components.pilot.k8s.replicaCount=two":                  {"spec.components.pilot.k8s.replicaCount", "want an integer"},
		"components.ingressGateways[5].enabled=false":            {"spec.components.ingressGateways[5].enabled: index 5 is out of range", "1 items"},
		"components.ingressGateways.enabled=false":               {"spec.components.ingressGateways.enabled"},
		"components.pilot[0].enabled=true":                       {"spec.components.pilot is not a list"},
		"meshConfig.accessLogFil=x":                              {"spec.meshConfig.accessLogFil: unknown field"},
		"meshConfig.outboundTrafficPolicy.mode=SOMETIMES":        {"spec.meshConfig.outboundTrafficPolicy.mode", "ALLOW_ANY"},
		"components.pilot.k8s.resources.requests.cpu=lots":       {"spec.components.pilot.k8s.resources.requests.cpu"},
		"components.pilot.enabled":                               {"want path=value"},
		"components..pilot=1":                                    {"empty field name"},
		"components.ingressGateways[x].enabled=true":             {"bad list index [x]"},
		"namespace=Not_A_Name":                                   {"spec.namespace", "not a valid name"},
		"values.pilot.traceSampling=250":                         {"spec.values.pilot.traceSampling", "percentage"},
		"components.egressGateways[0].name=istio-ingressgateway": {"already defined"},
	} {
		t.Run(raw, func(t *testing.T) {
			loadFails(t, ProfileOptions{Sets: []string{raw}}, append(wants, "")...)
		})
	}
}

func TestOverlaysMergeInOrder(t *testing.T) {
	first := writeOverlay(t, "first.yaml", `apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
spec:
  components:
    ingressGateways:
    - name: istio-ingressgateway
      k8s:
        replicaCount: 3
    - name: internal-gateway
      enabled: true
      label:
        istio: internal
  values:
    global:
      proxy:
        logLevel: debug
`)
	second := writeOverlay(t, "second.yaml", `spec:
  values:
    global:
      proxy:
        logLevel: info
        resources: null   # null removes a default
  meshConfig:
    defaultConfig:
      tracing:
        sampling: 50
`)
	p := loadOK(t, ProfileOptions{Overlays: []string{first, second}, Sets: []string{"values.global.proxy.logLevel=error"}})
	gws := p.Spec.Components.IngressGateways
	if len(gws) != 2 || gws[0].Name != "istio-ingressgateway" || !gws[0].Enabled || gws[0].K8s.ReplicaCount != 3 ||
		gws[0].K8s.Service.Type != "LoadBalancer" || gws[1].Name != "internal-gateway" || gws[1].Label["istio"] != "internal" {
		t.Errorf("gateways not merged by name: %+v", gws)
	}
	if got := p.Spec.Values.Global.Proxy.LogLevel; got != "error" {
		t.Errorf("logLevel %q: --set must win over overlays, the later overlay over the earlier", got)
	}
	if p.Spec.Values.Global.Proxy.Resources != nil {
		t.Errorf("null did not remove proxy resources: %+v", p.Spec.Values.Global.Proxy.Resources)
	}
	if p.Spec.MeshConfig["enablePrometheusMerge"] != true {
		t.Errorf("overlay replaced meshConfig instead of merging: %v", p.Spec.MeshConfig)
	}
}

func TestOverlayNamesProfile(t *testing.T) {
	f := writeOverlay(t, "o.yaml", "spec:\n  profile: minimal\n")
	if p := loadOK(t, ProfileOptions{Overlays: []string{f}}); p.Spec.Profile != "minimal" {
		t.Errorf("overlay's spec.profile ignored: %q", p.Spec.Profile)
	}
	if p := loadOK(t, ProfileOptions{Profile: "default", Overlays: []string{f}}); p.Spec.Profile != "default" {
		t.Errorf("an explicit --profile default must win over the overlay's spec.profile, got %q", p.Spec.Profile)
	}
	if p := loadOK(t, ProfileOptions{Profile: "demo", Overlays: []string{f}}); p.Spec.Profile != "demo" {
		t.Errorf("--profile demo must win over the overlay's spec.profile, got %q", p.Spec.Profile)
	}
}

func TestProfileFile(t *testing.T) {
	f := writeOverlay(t, "mine.yaml", `apiVersion: install.skiff.dev/v1alpha1
kind: SkiffOperator
spec:
  profile: demo
  namespace: mesh
  revision: canary
`)
	p := loadOK(t, ProfileOptions{Profile: f})
	if p.Spec.Namespace != "mesh" || p.Spec.Revision != "canary" || !p.Spec.AddonComponents.Grafana.Enabled || p.Installation() != "canary" {
		t.Errorf("profile file: %+v", p.Spec)
	}
	if p.Spec.Values.Global.IstioNamespace != "mesh" || p.Spec.Values.Revision != "canary" {
		t.Errorf("values not completed: %+v", p.Spec.Values)
	}
	loop := filepath.Join(t.TempDir(), "loop.yaml")
	if err := os.WriteFile(loop, []byte("spec:\n  profile: "+loop+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	loadFails(t, ProfileOptions{Profile: loop}, "layered on itself")
}

func TestMalformedOverlayNamesFileAndLine(t *testing.T) {
	cases := map[string]struct {
		content string
		wants   []string
	}{
		"unknown field": {"spec:\n  values:\n    global:\n      hbu: x\n", []string{"bad.yaml:4: spec.values.global.hbu: unknown field"}},
		"yaml syntax":   {"spec:\n  hub: [\n  tag: x\n", []string{"bad.yaml:"}},
		"tab indent":    {"spec:\n\thub: x\n", []string{"bad.yaml:2"}},
		"wrong type": {"spec:\n  components:\n    pilot:\n      enabled: maybe\n",
			[]string{"bad.yaml:4: spec.components.pilot.enabled: want true or false"}},
		"list expected": {"spec:\n  components:\n    ingressGateways:\n      name: x\n",
			[]string{"bad.yaml:4: spec.components.ingressGateways: want a list"}},
		"meshConfig field": {"spec:\n  meshConfig:\n    defaultConfig:\n      tracing:\n        sampleing: 1\n",
			[]string{"bad.yaml:5: spec.meshConfig.defaultConfig.tracing.sampleing: unknown field"}},
		"k8s type field": {"spec:\n  components:\n    pilot:\n      k8s:\n        env:\n        - name: A\n          valu: b\n",
			[]string{"bad.yaml:7: spec.components.pilot.k8s.env[0].valu: unknown field"}},
		"quantity": {"spec:\n  components:\n    pilot:\n      k8s:\n        resources:\n          limits:\n            memory: lots\n",
			[]string{"bad.yaml:7: spec.components.pilot.k8s.resources.limits.memory"}},
		"wrong kind":     {"apiVersion: apps/v1\nkind: Deployment\n", []string{"bad.yaml:1", "apiVersion \"apps/v1\""}},
		"two documents":  {"spec:\n  hub: a\n---\nspec:\n  hub: b\n", []string{"bad.yaml:4: only one profile document"}},
		"duplicate key":  {"spec:\n  hub: a\n  hub: b\n", []string{"bad.yaml:3"}},
		"not an object":  {"just a string\n", []string{"bad.yaml:1: want an object"}},
		"meshConfig dur": {"spec:\n  meshConfig:\n    connectTimeout: soon\n", []string{"bad.yaml:3: spec.meshConfig.connectTimeout: invalid google.protobuf.Duration value \"soon\""}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			loadFails(t, ProfileOptions{Overlays: []string{writeOverlay(t, "bad.yaml", c.content)}}, c.wants...)
		})
	}
	loadFails(t, ProfileOptions{Overlays: []string{"/nonexistent/overlay.yaml"}}, "/nonexistent/overlay.yaml", "no such file")
}

func TestEmptyValueChangesNothing(t *testing.T) {
	// everything under spec.components commented out: the components must stay as the profile has them
	f := writeOverlay(t, "o.yaml", "spec:\n  components:\n    # pilot:\n    #   enabled: false\n  values:\n    global:\n      proxy:\n        resources: ~\n")
	p := loadOK(t, ProfileOptions{Overlays: []string{f}})
	if !p.Spec.Components.Pilot.Enabled || !p.Spec.Components.IngressGateways[0].Enabled {
		t.Errorf("an empty components: disabled components: %+v", p.Spec.Components)
	}
	if p.Spec.Values.Global.Proxy.Resources != nil {
		t.Errorf("~ (explicit null) did not remove proxy resources")
	}
}

func TestEmptyOverlayIsNoOp(t *testing.T) {
	a := loadOK(t, ProfileOptions{Profile: "demo"})
	b := loadOK(t, ProfileOptions{Profile: "demo", Overlays: []string{writeOverlay(t, "empty.yaml", "# nothing\n")}})
	ta, _ := profileTree(ProfileOptions{Profile: "demo"})
	tb, _ := profileTree(ProfileOptions{Profile: "demo", Overlays: []string{writeOverlay(t, "empty.yaml", "")}})
	if d := DiffTrees(ta, tb); len(d) > 0 || a.Spec.Profile != b.Spec.Profile {
		t.Errorf("empty overlay changed the profile: %v", d)
	}
}
