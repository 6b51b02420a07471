package xds

import (
	"testing"

	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	telemetryapi "istio.io/api/telemetry/v1alpha1"
	telemetryv1 "istio.io/client-go/pkg/apis/telemetry/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"skiff.dev/skiff/pkg/model"
)

// BenchmarkGenerateTelemetry measures what mesh-wide access logs and Zipkin tracing add to a sidecar's
// translation: 1,000 services, half of them TCP (a listener each, so 500 TCP proxies with access logs).
func BenchmarkGenerateTelemetry(b *testing.B) {
	in := largeInput(1000)
	for i, s := range in.Services {
		if i%2 == 0 {
			s.Spec.Ports[0].Name = "tcp"
		}
	}
	proxy := &model.Proxy{Namespace: "ns-0", IP: "10.1.0.1", Labels: map[string]string{"app": "svc-0"}}
	b.Run("off", func(b *testing.B) {
		mesh := model.Build(in)
		b.ReportAllocs()
		for b.Loop() {
			Generate(mesh, proxy)
		}
	})
	b.Run("on", func(b *testing.B) {
		on := in
		on.MeshConfig = &meshv1alpha1.MeshConfig{ExtensionProviders: []*meshv1alpha1.MeshConfig_ExtensionProvider{{Name: "zipkin",
			Provider: &meshv1alpha1.MeshConfig_ExtensionProvider_Zipkin{Zipkin: &meshv1alpha1.MeshConfig_ExtensionProvider_ZipkinTracingProvider{Service: "zipkin.istio-system", Port: 9411}}}}}
		on.Telemetries = []*telemetryv1.Telemetry{{ObjectMeta: metav1.ObjectMeta{Name: "mesh", Namespace: "istio-system"}, Spec: telemetryapi.Telemetry{
			AccessLogging: []*telemetryapi.AccessLogging{{Providers: []*telemetryapi.ProviderRef{{Name: "envoy"}}}},
			Tracing:       []*telemetryapi.Tracing{{Providers: []*telemetryapi.ProviderRef{{Name: "zipkin"}}}},
		}}}
		mesh := model.Build(on)
		if err := Generate(mesh, proxy).Validate(); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			Generate(mesh, proxy)
		}
	})
}
