package xds

import (
	"cmp"
	"math"
	"net"
	"net/url"
	"slices"
	"strconv"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tracev3 "github.com/envoyproxy/go-control-plane/envoy/config/trace/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	uuidv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/request_id/uuid/v3"
	tracingv3 "github.com/envoyproxy/go-control-plane/envoy/type/tracing/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/types/known/durationpb"
	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	telemetryapi "istio.io/api/telemetry/v1alpha1"

	"skiff.dev/skiff/pkg/model"
)

const (
	zipkinTracer = "envoy.tracers.zipkin"
	otelTracer   = "envoy.tracers.opentelemetry"
	// defaultTraceSampling is Istio's PILOT_TRACE_SAMPLING default, in percent.
	defaultTraceSampling = 1.0
	// defaultOTelHTTPTimeout bounds an OTLP/HTTP export when the provider sets no timeout.
	defaultOTelHTTPTimeout = 5 * time.Second
)

// tracing builds the HTTP connection managers' tracing for one mode, as Istio does: from the merged
// Telemetry tracing, or, when no Telemetry (nor default provider) configures tracing, from the legacy mesh
// config (enableTracing with defaultConfig.tracing.zipkin.address; Skiff's bootstrap has no tracer of its
// own, so the address becomes a Zipkin provider). Sampling is randomSamplingPercentage, else
// defaultConfig.tracing.sampling, else 1%. Nil when tracing is off (disableSpanReporting, no provider, a
// provider Skiff does not support). The request ID extension is set only to turn off
// useRequestIdForTraceSampling (Envoy's default is on).
func (g *generator) tracing(mode telemetryapi.WorkloadMode, collectors map[string]collector) (*hcmv3.HttpConnectionManager_Tracing, *hcmv3.RequestIDExtension) {
	mc := g.mesh.MeshConfig()
	pc := mc.GetDefaultConfig().GetTracing()
	cfg := g.mesh.Tracing(g.proxy.Namespace, g.proxy.Labels)
	if cfg == nil {
		host, port, ok := splitHostPort(pc.GetZipkin().GetAddress())
		if !mc.GetEnableTracing() || !ok {
			return nil, nil
		}
		provider, _ := g.tracerProvider(&meshv1alpha1.MeshConfig_ExtensionProvider{Provider: &meshv1alpha1.MeshConfig_ExtensionProvider_Zipkin{
			Zipkin: &meshv1alpha1.MeshConfig_ExtensionProvider_ZipkinTracingProvider{Service: host, Port: port},
		}}, collectors)
		if provider == nil {
			return nil, nil
		}
		t := &hcmv3.HttpConnectionManager_Tracing{Provider: provider}
		setSampling(t, meshSampling(pc))
		t.CustomTags = g.customTags(nil, pc, true)
		if pc.GetMaxPathTagLength() != 0 {
			t.MaxPathTagLength = u32(pc.GetMaxPathTagLength())
		}
		return validTracing(t), nil
	}
	spec := cfg.Client
	if mode == telemetryServer {
		spec = cfg.Server
	}
	if spec.Disabled {
		return nil, nil
	}
	provider, maxTagLength := g.tracerProvider(spec.Provider, collectors)
	if provider == nil {
		return nil, nil
	}
	t := &hcmv3.HttpConnectionManager_Tracing{Provider: provider, NoContextPropagation: spec.DisableContextPropagation}
	if g.proxy.Type == model.Router {
		t.SpawnUpstreamSpan = boolTrue() // Istio's default for gateways: a span for the upstream call
	}
	sampling := meshSampling(pc)
	if spec.RandomSamplingPercentage != nil {
		sampling = *spec.RandomSamplingPercentage
	}
	setSampling(t, sampling)
	t.CustomTags = g.customTags(spec.CustomTags, pc, spec.EnableIstioTags)
	if n := cmp.Or(maxTagLength, pc.GetMaxPathTagLength()); n != 0 {
		t.MaxPathTagLength = u32(n)
	}
	var requestID *hcmv3.RequestIDExtension
	if !spec.UseRequestIDForTraceSampling {
		requestID = &hcmv3.RequestIDExtension{TypedConfig: toAny(&uuidv3.UuidRequestIdConfig{UseRequestIdForTraceSampling: boolFalse()})}
	}
	if t = validTracing(t); t == nil {
		return nil, nil
	}
	return t, requestID
}

// validTracing drops a tracing config Envoy would reject (the listener's validation does not look inside
// the packed connection manager), so that bad Telemetry costs tracing, not the listener.
func validTracing(t *hcmv3.HttpConnectionManager_Tracing) *hcmv3.HttpConnectionManager_Tracing {
	if t.ValidateAll() != nil {
		return nil
	}
	return t
}

// meshSampling is defaultConfig.tracing.sampling, as Istio reads it: unset is 1%, above 100 is 1%.
func meshSampling(pc *meshv1alpha1.Tracing) float64 {
	if s := pc.GetSampling(); s != 0 && s <= 100 {
		return s
	}
	return defaultTraceSampling
}

// setSampling traces the given percentage of requests; client (forced) and overall sampling stay at 100%.
func setSampling(t *hcmv3.HttpConnectionManager_Tracing, percent float64) {
	if math.IsNaN(percent) {
		percent = defaultTraceSampling
	}
	t.ClientSampling = &typev3.Percent{Value: 100}
	t.RandomSampling = &typev3.Percent{Value: min(max(percent, 0), 100)}
	t.OverallSampling = &typev3.Percent{Value: 100}
}

// tracerProvider builds the tracer of an extension provider, and its max tag length. Zipkin and
// OpenTelemetry (gRPC or HTTP export) are supported; other tracers (Datadog, SkyWalking, Lightstep,
// Stackdriver, OpenCensus) and the OpenTelemetry provider's samplers and resource detectors are not, and
// yield no tracing (nil).
func (g *generator) tracerProvider(p *meshv1alpha1.MeshConfig_ExtensionProvider, collectors map[string]collector) (*tracev3.Tracing_Http, uint32) {
	switch prov := p.GetProvider().(type) {
	case *meshv1alpha1.MeshConfig_ExtensionProvider_Zipkin:
		z := prov.Zipkin
		if z.GetService() == "" || z.GetPort() == 0 || z.GetPort() > 65535 {
			return nil, 0
		}
		cluster, host := g.collector(z.GetService(), z.GetPort(), false, collectors)
		zc := &tracev3.ZipkinConfig{
			CollectorCluster:         cluster,
			CollectorEndpoint:        cmp.Or(z.GetPath(), "/api/v2/spans"),
			CollectorEndpointVersion: tracev3.ZipkinConfig_HTTP_JSON,
			CollectorHostname:        host,
			TraceId_128Bit:           !z.GetEnable_64BitTraceId(),
			SharedSpanContext:        boolFalse(),
		}
		if z.GetTraceContextOption() == meshv1alpha1.MeshConfig_ExtensionProvider_ZipkinTracingProvider_USE_B3_WITH_W3C_PROPAGATION {
			zc.TraceContextOption = tracev3.ZipkinConfig_USE_B3_WITH_W3C_PROPAGATION
		}
		if zc.ValidateAll() != nil {
			return nil, 0
		}
		return &tracev3.Tracing_Http{Name: zipkinTracer, ConfigType: &tracev3.Tracing_Http_TypedConfig{TypedConfig: toAny(zc)}}, z.GetMaxTagLength()
	case *meshv1alpha1.MeshConfig_ExtensionProvider_Opentelemetry:
		o := prov.Opentelemetry
		if o.GetService() == "" || o.GetPort() == 0 || o.GetPort() > 65535 {
			return nil, 0
		}
		oc := &tracev3.OpenTelemetryConfig{ServiceName: g.canonicalService() + "." + g.proxy.Namespace}
		if h := o.GetHttp(); h != nil {
			cluster, host := g.collector(o.GetService(), o.GetPort(), false, collectors)
			uri, err := url.JoinPath(host, h.GetPath())
			if err != nil {
				return nil, 0
			}
			timeout := positiveDuration(h.GetTimeout())
			if timeout == nil {
				timeout = durationpb.New(defaultOTelHTTPTimeout)
			}
			oc.HttpService = &corev3.HttpService{
				HttpUri:             &corev3.HttpUri{Uri: uri, HttpUpstreamType: &corev3.HttpUri_Cluster{Cluster: cluster}, Timeout: timeout},
				RequestHeadersToAdd: headerOptions(h.GetHeaders()),
			}
		} else {
			cluster, host := g.collector(o.GetService(), o.GetPort(), true, collectors)
			oc.GrpcService = &corev3.GrpcService{
				TargetSpecifier: &corev3.GrpcService_EnvoyGrpc_{EnvoyGrpc: &corev3.GrpcService_EnvoyGrpc{ClusterName: cluster, Authority: host}},
				Timeout:         nonNegativeDuration(o.GetGrpc().GetTimeout()),
				InitialMetadata: providerHeaders(o.GetGrpc().GetInitialMetadata()),
			}
		}
		if oc.ValidateAll() != nil {
			return nil, 0
		}
		return &tracev3.Tracing_Http{Name: otelTracer, ConfigType: &tracev3.Tracing_Http_TypedConfig{TypedConfig: toAny(oc)}}, o.GetMaxTagLength()
	}
	return nil, 0
}

// providerHeaders and headerOptions carry a provider's literal headers; headers read from istiod's
// environment (envName) have no meaning for Skiff and are skipped.
func providerHeaders(hs []*meshv1alpha1.MeshConfig_ExtensionProvider_HttpHeader) []*corev3.HeaderValue {
	var out []*corev3.HeaderValue
	for _, h := range hs {
		if v := (&corev3.HeaderValue{Key: h.GetName(), Value: h.GetValue()}); h.GetEnvName() == "" && v.ValidateAll() == nil {
			out = append(out, v)
		}
	}
	return out
}

func headerOptions(hs []*meshv1alpha1.MeshConfig_ExtensionProvider_HttpHeader) []*corev3.HeaderValueOption {
	var out []*corev3.HeaderValueOption
	for _, v := range providerHeaders(hs) {
		out = append(out, &corev3.HeaderValueOption{Header: v})
	}
	return out
}

// customTags are Istio's: its own workload tags (unless enableIstioTags is false), then the Telemetry's
// custom tags, or the mesh config's defaultConfig.tracing.customTags when the Telemetry sets none; sorted.
func (g *generator) customTags(tags map[string]*telemetryapi.Tracing_CustomTag, pc *meshv1alpha1.Tracing, istioTags bool) []*tracingv3.CustomTag {
	var out []*tracingv3.CustomTag
	if istioTags {
		out = append(out, g.istioTags()...)
	}
	literal := func(name, v string) *tracingv3.CustomTag {
		return &tracingv3.CustomTag{Tag: name, Type: &tracingv3.CustomTag_Literal_{Literal: &tracingv3.CustomTag_Literal{Value: v}}}
	}
	env := func(name, v, def string) *tracingv3.CustomTag {
		return &tracingv3.CustomTag{Tag: name, Type: &tracingv3.CustomTag_Environment_{Environment: &tracingv3.CustomTag_Environment{Name: v, DefaultValue: def}}}
	}
	header := func(name, v, def string) *tracingv3.CustomTag {
		return &tracingv3.CustomTag{Tag: name, Type: &tracingv3.CustomTag_RequestHeader{RequestHeader: &tracingv3.CustomTag_Header{Name: v, DefaultValue: def}}}
	}
	if len(tags) > 0 {
		for name, t := range tags {
			switch tt := t.GetType().(type) {
			case *telemetryapi.Tracing_CustomTag_Literal:
				out = append(out, literal(name, tt.Literal.GetValue()))
			case *telemetryapi.Tracing_CustomTag_Environment:
				out = append(out, env(name, tt.Environment.GetName(), tt.Environment.GetDefaultValue()))
			case *telemetryapi.Tracing_CustomTag_Header:
				out = append(out, header(name, tt.Header.GetName(), tt.Header.GetDefaultValue()))
			case *telemetryapi.Tracing_CustomTag_Formatter:
				out = append(out, &tracingv3.CustomTag{Tag: name, Type: &tracingv3.CustomTag_Value{Value: tt.Formatter.GetValue()}})
			}
		}
	} else {
		for name, t := range pc.GetCustomTags() {
			switch tt := t.GetType().(type) {
			case *meshv1alpha1.Tracing_CustomTag_Literal:
				out = append(out, literal(name, tt.Literal.GetValue()))
			case *meshv1alpha1.Tracing_CustomTag_Environment:
				out = append(out, env(name, tt.Environment.GetName(), tt.Environment.GetDefaultValue()))
			case *meshv1alpha1.Tracing_CustomTag_Header:
				out = append(out, header(name, tt.Header.GetName(), tt.Header.GetDefaultValue()))
			}
		}
	}
	// A tag Envoy would reject (empty name or literal) is left out rather than costing all tracing.
	out = slices.DeleteFunc(out, func(t *tracingv3.CustomTag) bool { return t.ValidateAll() != nil })
	slices.SortStableFunc(out, func(a, b *tracingv3.CustomTag) int { return cmp.Compare(a.GetTag(), b.GetTag()) })
	return out
}

// istioTags are the workload tags Istio puts on every span.
func (g *generator) istioTags() []*tracingv3.CustomTag {
	revision := cmp.Or(g.proxy.Labels["service.istio.io/canonical-revision"], g.proxy.Labels["app.kubernetes.io/version"], g.proxy.Labels["version"], "latest")
	meshID := cmp.Or(g.mesh.MeshConfig().GetDefaultConfig().GetMeshId(), g.mesh.TrustDomain())
	var out []*tracingv3.CustomTag
	for _, kv := range [][2]string{
		{"istio.canonical_revision", revision},
		{"istio.canonical_service", g.canonicalService()},
		{"istio.cluster_id", "Kubernetes"},
		{"istio.mesh_id", meshID},
		{"istio.namespace", g.proxy.Namespace},
	} {
		out = append(out, &tracingv3.CustomTag{Tag: kv[0], Type: &tracingv3.CustomTag_Literal_{Literal: &tracingv3.CustomTag_Literal{Value: kv[1]}}})
	}
	return out
}

// canonicalService is the workload's service name as Istio's injector derives it from the pod labels.
func (g *generator) canonicalService() string {
	l := g.proxy.Labels
	return cmp.Or(l["service.istio.io/canonical-name"], l["app.kubernetes.io/name"], l["app"], "unknown")
}

func splitHostPort(addr string) (string, uint32, bool) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return "", 0, false
	}
	port, err := strconv.ParseUint(p, 10, 16)
	if err != nil || port == 0 {
		return "", 0, false
	}
	return host, uint32(port), true
}
