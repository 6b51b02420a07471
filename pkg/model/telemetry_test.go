package model

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	meshv1alpha1 "istio.io/api/mesh/v1alpha1"

	"skiff.dev/skiff/pkg/errs"
)

// telemetryMesh builds a mesh from a mesh config (the istio ConfigMap's "mesh" key, may be empty) and
// YAML documents holding Telemetry resources.
func telemetryMesh(t *testing.T, meshConfig, docs string) *Mesh {
	t.Helper()
	var b strings.Builder
	if meshConfig != "" {
		b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\ndata:\n  mesh: |-\n")
		for _, l := range strings.Split(meshConfig, "\n") {
			b.WriteString("    " + l + "\n")
		}
		b.WriteString("---\n")
	}
	b.WriteString(docs)
	in, err := LoadFiles(map[string][]byte{"telemetry.yaml": []byte(b.String())})
	if err != nil {
		t.Fatal(err)
	}
	return Build(in)
}

// logSummary renders access logging as "provider[filter]" or "provider:off", sorted; "legacy" when
// Telemetry configures nothing.
func logSummary(als []AccessLog) string {
	if len(als) == 0 {
		return "legacy"
	}
	var out []string
	for _, a := range als {
		s := a.Provider.GetName()
		if a.Filter != "" {
			s += "[" + a.Filter + "]"
		}
		if a.Disabled {
			s += ":off"
		}
		out = append(out, s)
	}
	return strings.Join(out, ",")
}

const twoProviders = `extensionProviders:
- name: json
  envoyFileAccessLog: {path: /dev/stdout, logFormat: {labels: {code: "%RESPONSE_CODE%"}}}
- name: otel
  opentelemetry: {service: otel.observability.svc.cluster.local, port: 4317}
- name: zipkin
  zipkin: {service: zipkin.istio-system.svc.cluster.local, port: 9411}`

func TestAccessLoggingMerge(t *testing.T) {
	web := map[string]string{"app": "web"}
	db := map[string]string{"app": "db"}
	root := "apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: {name: mesh, namespace: istio-system}\nspec:\n  accessLogging:\n  - providers: [{name: envoy}]\n---\n"
	for _, c := range []struct {
		name       string
		meshConfig string
		docs       string
		labels     map[string]string
		client     string // for mode CLIENT
		server     string // for mode SERVER
	}{
		{name: "nothing configured", client: "legacy", server: "legacy"},
		{name: "default provider only", meshConfig: "defaultProviders: {accessLogging: [envoy]}", client: "envoy", server: "envoy"},
		{name: "mesh-wide", docs: root, client: "envoy", server: "envoy"},
		{name: "namespace replaces the mesh's providers", meshConfig: twoProviders,
			docs:   root + "apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: {name: ns, namespace: shop}\nspec:\n  accessLogging:\n  - providers: [{name: json}]\n",
			client: "json", server: "json"},
		{name: "namespace without providers inherits and disables",
			docs:   root + "apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: {name: ns, namespace: shop}\nspec:\n  accessLogging:\n  - disabled: true\n",
			client: "envoy:off", server: "envoy:off"},
		{name: "workload override applies to the selected workload", labels: web,
			docs:   root + "apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: {name: web, namespace: shop}\nspec:\n  selector: {matchLabels: {app: web}}\n  accessLogging:\n  - disabled: true\n",
			client: "envoy:off", server: "envoy:off"},
		{name: "workload override leaves other workloads alone", labels: db,
			docs:   root + "apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: {name: web, namespace: shop}\nspec:\n  selector: {matchLabels: {app: web}}\n  accessLogging:\n  - disabled: true\n",
			client: "envoy", server: "envoy"},
		{name: "CLIENT only", docs: "apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: {name: ns, namespace: shop}\nspec:\n  accessLogging:\n  - providers: [{name: envoy}]\n    match: {mode: CLIENT}\n",
			client: "envoy", server: "legacy"},
		{name: "SERVER disabled below a mesh-wide provider", labels: web,
			docs:   root + "apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: {name: web, namespace: shop}\nspec:\n  selector: {matchLabels: {app: web}}\n  accessLogging:\n  - match: {mode: SERVER}\n    disabled: true\n",
			client: "envoy", server: "envoy:off"},
		{name: "filters follow the entry that enables the provider", meshConfig: twoProviders, labels: web,
			docs: "apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: {name: ns, namespace: shop}\nspec:\n  accessLogging:\n  - providers: [{name: json}]\n    filter: {expression: response.code >= 400}\n---\n" +
				"apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: {name: web, namespace: shop}\nspec:\n  selector: {matchLabels: {app: web}}\n  accessLogging:\n  - filter: {expression: response.code >= 500}\n",
			client: "json[response.code >= 500]", server: "json[response.code >= 500]"},
		{name: "two providers on one level", meshConfig: twoProviders,
			docs:   "apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: {name: ns, namespace: shop}\nspec:\n  accessLogging:\n  - providers: [{name: json}, {name: envoy}]\n",
			client: "envoy,json", server: "envoy,json"},
		{name: "undefined provider is dropped", docs: "apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: {name: ns, namespace: shop}\nspec:\n  accessLogging:\n  - providers: [{name: nope}]\n",
			client: "legacy", server: "legacy"},
		{name: "provider names are case-insensitive", docs: root + "apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: {name: ns, namespace: shop}\nspec:\n  accessLogging:\n  - providers: [{name: Envoy}]\n    match: {mode: SERVER}\n    disabled: true\n",
			client: "envoy", server: "envoy:off"},
		{name: "targetRefs are not supported and never apply",
			docs:   "apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: {name: gw, namespace: shop}\nspec:\n  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: gw}]\n  accessLogging:\n  - providers: [{name: envoy}]\n",
			client: "legacy", server: "legacy"},
		{name: "the oldest namespace-wide Telemetry wins",
			docs: "apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: {name: b-new, namespace: shop, creationTimestamp: \"2025-02-01T00:00:00Z\"}\nspec:\n  accessLogging:\n  - providers: [{name: nope}]\n---\n" +
				"apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: {name: z-old, namespace: shop, creationTimestamp: \"2025-01-01T00:00:00Z\"}\nspec:\n  accessLogging:\n  - providers: [{name: envoy}]\n",
			client: "envoy", server: "envoy"},
		{name: "a root-namespace selector only selects root-namespace workloads", labels: web,
			docs:   "apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: {name: web, namespace: istio-system}\nspec:\n  selector: {matchLabels: {app: web}}\n  accessLogging:\n  - providers: [{name: envoy}]\n",
			client: "legacy", server: "legacy"},
		{name: "v1alpha1 is read too", docs: "apiVersion: telemetry.istio.io/v1alpha1\nkind: Telemetry\nmetadata: {name: ns, namespace: shop}\nspec:\n  accessLogging:\n  - providers: [{name: envoy}]\n",
			client: "envoy", server: "envoy"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := telemetryMesh(t, c.meshConfig, c.docs)
			if got := logSummary(m.AccessLogging("shop", c.labels, TelemetryClient)); got != c.client {
				t.Errorf("CLIENT = %s, want %s", got, c.client)
			}
			if got := logSummary(m.AccessLogging("shop", c.labels, TelemetryServer)); got != c.server {
				t.Errorf("SERVER = %s, want %s", got, c.server)
			}
		})
	}
}

func traceSummary(s TracingSpec) string {
	if s.Disabled {
		return "off"
	}
	out := s.Provider.GetName()
	if s.RandomSamplingPercentage != nil {
		out += fmt.Sprintf(" %g%%", *s.RandomSamplingPercentage)
	}
	for _, k := range []string{"a", "b"} {
		if tag, ok := s.CustomTags[k]; ok {
			out += " " + k + "=" + tag.GetLiteral().GetValue()
		}
	}
	if !s.UseRequestIDForTraceSampling {
		out += " no-request-id"
	}
	return out
}

func TestTracingMerge(t *testing.T) {
	web := map[string]string{"app": "web"}
	rootZipkin := "apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: {name: mesh, namespace: istio-system}\nspec:\n  tracing:\n  - providers: [{name: zipkin}]\n    randomSamplingPercentage: 1\n    customTags: {a: {literal: {value: root}}}\n---\n"
	for _, c := range []struct {
		name           string
		meshConfig     string
		docs           string
		labels         map[string]string
		client, server string // "" means nil config (legacy)
	}{
		{name: "nothing configured"},
		{name: "default provider", meshConfig: twoProviders + "\ndefaultProviders: {tracing: [otel, zipkin]}", client: "otel", server: "otel"},
		{name: "mesh-wide", meshConfig: twoProviders, docs: rootZipkin, client: "zipkin 1% a=root", server: "zipkin 1% a=root"},
		{name: "namespace overrides fields, workload disables SERVER", meshConfig: twoProviders, labels: web,
			docs: rootZipkin + "apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: {name: ns, namespace: shop}\nspec:\n  tracing:\n  - randomSamplingPercentage: 10\n    customTags: {b: {literal: {value: ns}}}\n    useRequestIdForTraceSampling: false\n---\n" +
				"apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: {name: web, namespace: shop}\nspec:\n  selector: {matchLabels: {app: web}}\n  tracing:\n  - match: {mode: SERVER}\n    disableSpanReporting: true\n",
			client: "zipkin 10% b=ns no-request-id", server: "off"},
		{name: "CLIENT-only provider switch", meshConfig: twoProviders,
			docs:   rootZipkin + "apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: {name: ns, namespace: shop}\nspec:\n  tracing:\n  - match: {mode: CLIENT}\n    providers: [{name: otel}]\n",
			client: "otel 1% a=root", server: "zipkin 1% a=root"},
		{name: "undefined provider turns tracing off", docs: "apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: {name: ns, namespace: shop}\nspec:\n  tracing:\n  - providers: [{name: nope}]\n",
			client: "off", server: "off"},
		{name: "no provider anywhere turns tracing off", docs: "apiVersion: telemetry.istio.io/v1\nkind: Telemetry\nmetadata: {name: ns, namespace: shop}\nspec:\n  tracing:\n  - randomSamplingPercentage: 50\n",
			client: "off", server: "off"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := telemetryMesh(t, c.meshConfig, c.docs).Tracing("shop", c.labels)
			if c.client == "" {
				if cfg != nil {
					t.Fatalf("Tracing = %+v, want nil", cfg)
				}
				return
			}
			if cfg == nil {
				t.Fatal("Tracing = nil")
			}
			if got := traceSummary(cfg.Client); got != c.client {
				t.Errorf("CLIENT = %q, want %q", got, c.client)
			}
			if got := traceSummary(cfg.Server); got != c.server {
				t.Errorf("SERVER = %q, want %q", got, c.server)
			}
		})
	}
}

func TestTelemetryProvider(t *testing.T) {
	m := Build(Input{})
	p := m.TelemetryProvider("envoy")
	if p.GetEnvoyFileAccessLog().GetPath() != "/dev/stdout" {
		t.Errorf("built-in envoy provider = %v", p)
	}
	if m.TelemetryProvider("zipkin") != nil {
		t.Error("undefined provider found")
	}
	m = Build(Input{MeshConfig: &meshv1alpha1.MeshConfig{ExtensionProviders: []*meshv1alpha1.MeshConfig_ExtensionProvider{{
		Name:     "envoy",
		Provider: &meshv1alpha1.MeshConfig_ExtensionProvider_EnvoyFileAccessLog{EnvoyFileAccessLog: &meshv1alpha1.MeshConfig_ExtensionProvider_EnvoyFileAccessLogProvider{Path: "/tmp/x"}},
	}}}})
	if got := m.TelemetryProvider("ENVOY").GetEnvoyFileAccessLog().GetPath(); got != "/tmp/x" {
		t.Errorf("a defined envoy provider replaces the built-in: path %q", got)
	}
	if Build(Input{}).MeshConfig() == nil {
		t.Error("MeshConfig() is nil without input")
	}
}

func TestParseMeshConfig(t *testing.T) {
	mc, err := ParseMeshConfig([]byte("accessLogFile: /dev/stdout\nnewerIstioField: {x: 1}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if mc.GetAccessLogFile() != "/dev/stdout" || !mc.GetEnableTracing() {
		t.Errorf("parsed %v; want accessLogFile and Istio's default enableTracing", mc)
	}
	if mc, _ := ParseMeshConfig([]byte("enableTracing: false")); mc.GetEnableTracing() {
		t.Error("explicit enableTracing: false was overridden")
	}
	if mc, err := ParseMeshConfig(nil); err != nil || !mc.GetEnableTracing() {
		t.Errorf("empty mesh config: %v, %v", mc, err)
	}
	if _, err := ParseMeshConfig([]byte("accessLogFile: [1]")); err == nil {
		t.Error("wrong type accepted")
	}
	// A broken mesh config in files is unusable input, located at its document.
	bad := "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\ndata: {mesh: 'extensionProviders: 3'}\n"
	_, err = LoadFiles(map[string][]byte{"mesh.yaml": []byte(bad)})
	var be *errs.Error
	if !errors.As(err, &be) || be.Kind != errs.KindBadInput || !strings.Contains(err.Error(), "mesh.yaml:5") || !strings.Contains(err.Error(), "ConfigMap istio-system/istio") {
		t.Errorf("err = %v, want a BadInput at mesh.yaml:5 naming the ConfigMap", err)
	}
	// Other ConfigMaps are ignored.
	in, err := LoadFiles(map[string][]byte{"cm.yaml": []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other}\ndata: {mesh: 'not: [valid'}\n")})
	if err != nil || in.MeshConfig != nil {
		t.Errorf("other ConfigMap: %v, %v", in.MeshConfig, err)
	}
}
