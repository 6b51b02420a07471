package xds

import (
	"path/filepath"
	"strings"
	"testing"

	accesslogv3 "github.com/envoyproxy/go-control-plane/envoy/config/accesslog/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	tracev3 "github.com/envoyproxy/go-control-plane/envoy/config/trace/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tcpproxyv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	"google.golang.org/protobuf/types/known/anypb"

	"skiff.dev/skiff/pkg/model"
)

// validator is what protoc-gen-validate generates.
type validator interface{ ValidateAll() error }

// validateAny unpacks a typed config and runs its own rules, which a listener's validation does not reach.
func validateAny(t *testing.T, where string, a *anypb.Any) {
	t.Helper()
	m, err := a.UnmarshalNew()
	if err != nil {
		t.Errorf("%s: %v", where, err)
		return
	}
	if v, ok := m.(validator); !ok {
		t.Errorf("%s: %T has no validation", where, m)
	} else if err := v.ValidateAll(); err != nil {
		t.Errorf("%s: %v", where, err)
	}
}

// telemetryOf collects, per listener filter, the access logs and tracing it carries, validating each
// packed config down to the access loggers, their filters and the tracers.
func telemetryOf(t *testing.T, ls []*listenerv3.Listener) map[string]string {
	t.Helper()
	out := map[string]string{}
	checkLogs := func(where string, als []*accesslogv3.AccessLog) {
		for _, al := range als {
			validateAny(t, where+" access log", al.GetTypedConfig())
			if f := al.GetFilter().GetExtensionFilter(); f != nil {
				validateAny(t, where+" access log filter", f.GetTypedConfig())
			}
		}
	}
	for _, l := range ls {
		for i, fc := range l.GetFilterChains() {
			for _, f := range fc.GetFilters() {
				where := l.GetName() + "/" + fc.GetName() + "#" + string(rune('0'+i))
				switch f.GetName() {
				case hcmFilter:
					hcm := &hcmv3.HttpConnectionManager{}
					if err := f.GetTypedConfig().UnmarshalTo(hcm); err != nil {
						t.Fatal(err)
					}
					if err := hcm.ValidateAll(); err != nil {
						t.Errorf("%s: %v", where, err)
					}
					checkLogs(where, hcm.GetAccessLog())
					s := "http logs=" + string(rune('0'+len(hcm.GetAccessLog())))
					if tr := hcm.GetTracing(); tr != nil {
						validateAny(t, where+" tracer", tr.GetProvider().GetTypedConfig())
						s += " tracer=" + tr.GetProvider().GetName()
					}
					out[where] = s
				case tcpProxyFilter:
					tp := &tcpproxyv3.TcpProxy{}
					if err := f.GetTypedConfig().UnmarshalTo(tp); err != nil {
						t.Fatal(err)
					}
					checkLogs(where, tp.GetAccessLog())
					out[where] = "tcp logs=" + string(rune('0'+len(tp.GetAccessLog())))
				}
			}
		}
	}
	return out
}

// TestTelemetryGoldenInputsValidateDeep checks what Validate cannot: the connection managers, access
// loggers and tracers packed inside the listeners of the Telemetry golden cases, for every proxy type.
func TestTelemetryGoldenInputsValidateDeep(t *testing.T) {
	files, _ := filepath.Glob("testdata/in/telemetry-*.yaml")
	if len(files) == 0 {
		t.Fatal("no telemetry golden inputs")
	}
	for _, file := range files {
		mesh := loadMesh(t, file)
		for _, name := range []string{"sidecar", "x-gateway", "x-grpc"} {
			res := Generate(mesh, goldenProxy(name))
			got := telemetryOf(t, res.Listeners)
			if strings.HasSuffix(name, "-grpc") {
				for where, s := range got {
					if s != "http logs=0" {
						t.Errorf("%s: proxyless gRPC listener %s got telemetry: %s", file, where, s)
					}
				}
			}
		}
	}
}

func telemetryMesh(t *testing.T, docs string) *model.Mesh {
	t.Helper()
	in, err := model.LoadFiles(map[string][]byte{"t.yaml": []byte(docs)})
	if err != nil {
		t.Fatal(err)
	}
	return model.Build(in)
}

const productpage = `apiVersion: v1
kind: Service
metadata: {name: productpage, namespace: default}
spec: {clusterIP: 10.96.0.10, ports: [{name: http, port: 9080}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: productpage, namespace: default, labels: {kubernetes.io/service-name: productpage}}
addressType: IPv4
ports: [{name: http, port: 9080}]
endpoints: [{addresses: [10.1.0.1]}]
---
apiVersion: v1
kind: Service
metadata: {name: zipkin, namespace: istio-system}
spec: {clusterIP: 10.96.0.50, ports: [{name: http, port: 9411}]}
---
`

func tracerOf(t *testing.T, res *Resources, listener string) (*hcmv3.HttpConnectionManager_Tracing, *tracev3.ZipkinConfig) {
	t.Helper()
	for _, l := range res.Listeners {
		if l.GetName() != listener {
			continue
		}
		hcm := &hcmv3.HttpConnectionManager{}
		if err := l.GetFilterChains()[0].GetFilters()[0].GetTypedConfig().UnmarshalTo(hcm); err != nil {
			t.Fatal(err)
		}
		if hcm.GetTracing() == nil {
			return nil, nil
		}
		zc := &tracev3.ZipkinConfig{}
		if err := hcm.GetTracing().GetProvider().GetTypedConfig().UnmarshalTo(zc); err != nil {
			t.Fatal(err)
		}
		return hcm.GetTracing(), zc
	}
	t.Fatalf("no listener %s", listener)
	return nil, nil
}

func cluster(res *Resources, name string) *clusterv3.Cluster {
	for _, c := range res.Clusters {
		if c.GetName() == name {
			return c
		}
	}
	return nil
}

// TestLegacyMeshTracing: without Telemetry, enableTracing with a Zipkin address in defaultConfig traces
// at defaultConfig's sampling, through the mesh service's own cluster when the short name is one.
func TestLegacyMeshTracing(t *testing.T) {
	mesh := telemetryMesh(t, productpage+`apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    defaultConfig:
      tracing: {sampling: 5, zipkin: {address: "zipkin.istio-system:9411"}, customTags: {team: {literal: {value: books}}}}
`)
	res := Generate(mesh, goldenProxy("sidecar"))
	if err := res.Validate(); err != nil {
		t.Fatal(err)
	}
	tr, zc := tracerOf(t, res, "0.0.0.0_9080")
	if tr == nil || tr.GetRandomSampling().GetValue() != 5 || zc.GetCollectorCluster() != "outbound|9411||zipkin.istio-system.svc.cluster.local" {
		t.Fatalf("tracing = %v, zipkin = %v", tr, zc)
	}
	if tags := tr.GetCustomTags(); len(tags) != 6 || tags[5].GetTag() != "team" {
		t.Errorf("custom tags = %v, want Istio's five and team", tags)
	}
	// enableTracing: false turns the legacy tracing off.
	mesh = telemetryMesh(t, productpage+"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\ndata:\n  mesh: |\n    enableTracing: false\n    defaultConfig: {tracing: {zipkin: {address: \"zipkin:9411\"}}}\n")
	if tr, _ := tracerOf(t, Generate(mesh, goldenProxy("sidecar")), "0.0.0.0_9080"); tr != nil {
		t.Errorf("enableTracing false still traces: %v", tr)
	}
}

// TestTracingCollectorCluster: a collector the proxy has no cluster for (its Sidecar does not import the
// mesh service) gets a DNS cluster of the outbound name; invalid custom tags are dropped, not the tracer.
func TestTracingCollectorCluster(t *testing.T) {
	mesh := telemetryMesh(t, productpage+`apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: default}
spec:
  egress: [{hosts: ["./*"]}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    extensionProviders:
    - {name: zipkin, zipkin: {service: istio-system/zipkin.istio-system.svc.cluster.local, port: 9411, path: /custom, enable64bitTraceId: true}}
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: mesh, namespace: istio-system}
spec:
  tracing:
  - providers: [{name: zipkin}]
    enableIstioTags: false
    customTags:
      empty: {literal: {value: ""}}
      ok: {header: {name: x-ok}}
`)
	res := Generate(mesh, goldenProxy("sidecar"))
	if err := res.Validate(); err != nil {
		t.Fatal(err)
	}
	tr, zc := tracerOf(t, res, "0.0.0.0_9080")
	if tr == nil || len(tr.GetCustomTags()) != 1 || tr.GetCustomTags()[0].GetTag() != "ok" {
		t.Fatalf("tracing = %v", tr)
	}
	if zc.GetCollectorEndpoint() != "/custom" || zc.GetTraceId_128Bit() || tr.GetRandomSampling().GetValue() != 1 {
		t.Errorf("zipkin = %v, sampling %v", zc, tr.GetRandomSampling())
	}
	c := cluster(res, "outbound|9411||zipkin.istio-system.svc.cluster.local")
	if c == nil || c.GetType() != clusterv3.Cluster_STRICT_DNS {
		t.Fatalf("collector cluster = %v", c)
	}
	// The gateway has no Sidecar scope: it reaches the collector through the service's EDS cluster.
	gw := Generate(mesh, goldenProxy("x-gateway"))
	if c := cluster(gw, "outbound|9411||zipkin.istio-system.svc.cluster.local"); c == nil || c.GetType() != clusterv3.Cluster_EDS {
		t.Errorf("gateway collector cluster = %v", c)
	}
}

// TestTelemetryWithoutConfigChangesNothing: an undefined provider and an unsupported one configure
// nothing, and leave the clusters alone.
func TestTelemetryWithoutConfigChangesNothing(t *testing.T) {
	base := Generate(telemetryMesh(t, productpage), goldenProxy("sidecar"))
	mesh := telemetryMesh(t, productpage+`apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    extensionProviders:
    - {name: dd, datadog: {service: datadog-agent.monitoring, port: 8126}}
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: mesh, namespace: istio-system}
spec:
  tracing: [{providers: [{name: dd}]}]
  accessLogging: [{providers: [{name: nope}]}]
`)
	res := Generate(mesh, goldenProxy("sidecar"))
	for where, s := range telemetryOf(t, res.Listeners) {
		if s != "http logs=0" && s != "tcp logs=0" {
			t.Errorf("%s: %s", where, s)
		}
	}
	if len(res.Clusters) != len(base.Clusters) {
		t.Errorf("%d clusters, want %d", len(res.Clusters), len(base.Clusters))
	}
}
