package model

import (
	"maps"
	"slices"
	"strings"

	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	telemetryapi "istio.io/api/telemetry/v1alpha1"
	telemetryv1 "istio.io/client-go/pkg/apis/telemetry/v1"
)

// TelemetryClient and TelemetryServer are the sides of a request a listener sees, as Telemetry's
// match.mode names them: sidecar outbound and gateway listeners are CLIENT, sidecar inbound is SERVER.
const (
	TelemetryClient = telemetryapi.WorkloadMode_CLIENT
	TelemetryServer = telemetryapi.WorkloadMode_SERVER
)

// EnvoyAccessLogProvider is Istio's built-in provider: a file access log to /dev/stdout formatted by the
// mesh config's accessLogEncoding and accessLogFormat. An extensionProvider of the same name replaces it.
const EnvoyAccessLogProvider = "envoy"

// telemetries indexes the Telemetry resources that can apply to workloads; built once with the Mesh.
type telemetries struct {
	mesh *meshv1alpha1.MeshConfig
	root string
	// byNamespace holds each namespace's Telemetries in precedence order (oldest first).
	byNamespace map[string][]*telemetryapi.Telemetry
}

func newTelemetries(in []*telemetryv1.Telemetry, mesh *meshv1alpha1.MeshConfig, root string) *telemetries {
	if mesh == nil {
		mesh = &meshv1alpha1.MeshConfig{}
	}
	t := &telemetries{mesh: mesh, root: root, byNamespace: map[string][]*telemetryapi.Telemetry{}}
	for _, tel := range sortedConfig(in) {
		// targetRef(s) attach a Telemetry to a Gateway API gateway or a Service (waypoints); Skiff has
		// neither, so such a Telemetry never applies (rather than wrongly applying namespace-wide).
		if tel.Spec.GetTargetRef() != nil || len(tel.Spec.GetTargetRefs()) > 0 {
			continue
		}
		t.byNamespace[tel.Namespace] = append(t.byNamespace[tel.Namespace], &tel.Spec)
	}
	return t
}

// MeshConfig is the mesh-wide configuration the mesh was built with; empty (Istio's zero values) when the
// input had none. Never nil; never modify it.
func (m *Mesh) MeshConfig() *meshv1alpha1.MeshConfig { return m.telemetry.mesh }

// TelemetryProvider finds an extension provider by name, case-insensitively as Istio does, falling back to
// the built-in "envoy" provider. Nil when none has that name.
func (m *Mesh) TelemetryProvider(name string) *meshv1alpha1.MeshConfig_ExtensionProvider {
	for _, p := range m.telemetry.mesh.GetExtensionProviders() {
		if strings.EqualFold(p.GetName(), name) {
			return p
		}
	}
	if strings.EqualFold(name, EnvoyAccessLogProvider) {
		return &meshv1alpha1.MeshConfig_ExtensionProvider{
			Name: EnvoyAccessLogProvider,
			Provider: &meshv1alpha1.MeshConfig_ExtensionProvider_EnvoyFileAccessLog{
				EnvoyFileAccessLog: &meshv1alpha1.MeshConfig_ExtensionProvider_EnvoyFileAccessLogProvider{Path: "/dev/stdout"},
			},
		}
	}
	return nil
}

// appliedTelemetry is what applies to one workload, ordered root namespace, namespace, workload: later
// entries override earlier ones.
type appliedTelemetry struct {
	// logging has one entry per level whose Telemetry sets accessLogging.
	logging [][]*telemetryapi.AccessLogging
	tracing []*telemetryapi.Tracing
	// Metrics are not collected: they configure Istio's stats filter, which Skiff's Envoy lacks (see
	// pkg/xds/telemetry.go).
}

// applicable collects, as Istio does, the oldest selector-less Telemetry of the root namespace, then that
// of the workload's namespace, then every Telemetry of that namespace whose selector matches the
// workload's labels (oldest first).
func (t *telemetries) applicable(namespace string, labels map[string]string) appliedTelemetry {
	var out appliedTelemetry
	add := func(spec *telemetryapi.Telemetry) {
		if len(spec.GetAccessLogging()) > 0 {
			out.logging = append(out.logging, spec.GetAccessLogging())
		}
		out.tracing = append(out.tracing, spec.GetTracing()...)
	}
	namespaceWide := func(ns string) *telemetryapi.Telemetry {
		for _, spec := range t.byNamespace[ns] {
			if len(spec.GetSelector().GetMatchLabels()) == 0 {
				return spec
			}
		}
		return nil
	}
	if spec := namespaceWide(t.root); spec != nil {
		add(spec)
	}
	if namespace != t.root {
		if spec := namespaceWide(namespace); spec != nil {
			add(spec)
		}
	}
	for _, spec := range t.byNamespace[namespace] {
		if SelectorMatches(spec.GetSelector().GetMatchLabels(), labels) {
			add(spec)
		}
	}
	return out
}

// AccessLog is one access log provider in effect for a listener.
type AccessLog struct {
	Provider *meshv1alpha1.MeshConfig_ExtensionProvider
	// Filter is the CEL expression from filter.expression; empty logs every request or connection.
	Filter string
	// Disabled means a Telemetry turned this provider off; it still counts as configured, so the legacy
	// meshConfig.accessLogFile does not apply.
	Disabled bool
}

// AccessLogging resolves Telemetry access logging for a workload's listeners of one mode (TelemetryClient
// or TelemetryServer), merged as Istio merges it: a level that names providers replaces the parent's set,
// one that names none inherits the parent's; disabled turns the in-scope providers off; a filter applies
// to the providers of its entry. Empty means Telemetry configures nothing here, and the legacy
// meshConfig.accessLogFile applies. Sorted by provider name; providers that are not defined are dropped.
func (m *Mesh) AccessLogging(namespace string, labels map[string]string, mode telemetryapi.WorkloadMode) []AccessLog {
	t := m.telemetry
	var defaults []string
	for _, d := range t.mesh.GetDefaultProviders().GetAccessLogging() {
		defaults = append(defaults, strings.ToLower(d))
	}
	logs := t.applicable(namespace, labels).logging
	if len(logs) == 0 && len(defaults) == 0 {
		return nil
	}
	merged := mergeLogs(logs, defaults, mode)
	var out []AccessLog
	for _, name := range slices.Sorted(maps.Keys(merged)) {
		spec := merged[name]
		p := m.TelemetryProvider(name)
		if p == nil {
			continue
		}
		out = append(out, AccessLog{Provider: p, Filter: spec.filter, Disabled: spec.disabled})
	}
	return out
}

type loggingSpec struct {
	filter   string
	disabled bool
}

// mergeLogs follows Istio's mergeLogs: the providers in scope are those named by the most specific level
// that names any (for this mode), else the default providers; then each entry matching the mode, from the
// root down, enables (with its filter) or disables its providers, or its parent's when it names none.
func mergeLogs(logs [][]*telemetryapi.AccessLogging, defaults []string, mode telemetryapi.WorkloadMode) map[string]loggingSpec {
	providers := map[string]loggingSpec{}
	if len(logs) == 0 {
		for _, p := range defaults {
			providers[p] = loggingSpec{}
		}
		return providers
	}
	inScope := defaults
	for _, level := range logs {
		var names []string
		for _, al := range level {
			if logModeMatches(al.GetMatch(), mode) {
				names = append(names, providerNames(al.GetProviders())...)
			}
		}
		if len(names) > 0 {
			inScope = names
		}
	}
	parent := defaults
	for _, level := range logs {
		for _, al := range level {
			names := providerNames(al.GetProviders())
			if len(names) == 0 {
				names = parent
			}
			parent = names
			if !logModeMatches(al.GetMatch(), mode) {
				continue
			}
			for _, p := range names {
				if !slices.Contains(inScope, p) {
					continue // a more specific level chose other providers
				}
				if al.GetDisabled().GetValue() {
					providers[p] = loggingSpec{disabled: true}
				} else {
					// Istio keys filters by provider name only; an entry's own filter (or none) is
					// what a later, more specific entry overriding the provider means.
					providers[p] = loggingSpec{filter: al.GetFilter().GetExpression()}
				}
			}
		}
	}
	return providers
}

func logModeMatches(sel *telemetryapi.AccessLogging_LogSelector, mode telemetryapi.WorkloadMode) bool {
	return sel == nil || sel.GetMode() == telemetryapi.WorkloadMode_CLIENT_AND_SERVER || sel.GetMode() == mode
}

// TracingSpec is the merged tracing configuration for one mode.
type TracingSpec struct {
	// Provider is nil when no defined provider applies, which disables tracing.
	Provider *meshv1alpha1.MeshConfig_ExtensionProvider
	// Disabled is disableSpanReporting, or no provider.
	Disabled bool
	// RandomSamplingPercentage is nil when unset: the mesh config's defaultConfig.tracing.sampling applies.
	RandomSamplingPercentage *float64
	CustomTags               map[string]*telemetryapi.Tracing_CustomTag
	// UseRequestIDForTraceSampling and EnableIstioTags default to true.
	UseRequestIDForTraceSampling bool
	EnableIstioTags              bool
	DisableContextPropagation    bool
}

// TracingConfig is the tracing for a workload's outbound and gateway (Client) and inbound (Server) traffic.
type TracingConfig struct {
	Client, Server TracingSpec
}

// Tracing resolves Telemetry tracing for a workload as Istio does: the first default tracing provider, then
// each applicable tracing entry (root, namespace, workload) overriding field by field, for both modes or
// the one its match selects; only the first provider of an entry is used. Nil means no Telemetry or
// default provider configures tracing, and the legacy mesh config (enableTracing) applies.
func (m *Mesh) Tracing(namespace string, labels map[string]string) *TracingConfig {
	defaults := m.telemetry.mesh.GetDefaultProviders().GetTracing()
	entries := m.telemetry.applicable(namespace, labels).tracing
	if len(entries) == 0 && len(defaults) == 0 {
		return nil
	}
	client := TracingSpec{UseRequestIDForTraceSampling: true, EnableIstioTags: true}
	if len(defaults) > 0 {
		client.Provider = m.TelemetryProvider(defaults[0])
	}
	server := client
	for _, e := range entries {
		specs := []*TracingSpec{&client, &server}
		switch e.GetMatch().GetMode() {
		case telemetryapi.WorkloadMode_CLIENT:
			specs = specs[:1]
		case telemetryapi.WorkloadMode_SERVER:
			specs = specs[1:]
		}
		for _, s := range specs {
			if names := providerNames(e.GetProviders()); len(names) > 0 {
				s.Provider = m.TelemetryProvider(names[0])
			}
			if v := e.GetDisableSpanReporting(); v != nil {
				s.Disabled = v.GetValue()
			}
			if e.GetCustomTags() != nil {
				s.CustomTags = e.GetCustomTags() // replaced as a whole, as in Istio
			}
			if v := e.GetRandomSamplingPercentage(); v != nil {
				p := v.GetValue()
				s.RandomSamplingPercentage = &p
			}
			if v := e.GetUseRequestIdForTraceSampling(); v != nil {
				s.UseRequestIDForTraceSampling = v.GetValue()
			}
			if v := e.GetEnableIstioTags(); v != nil {
				s.EnableIstioTags = v.GetValue()
			}
			if v := e.GetDisableContextPropagation(); v != nil {
				s.DisableContextPropagation = v.GetValue()
			}
		}
	}
	for _, s := range []*TracingSpec{&client, &server} {
		if s.Provider == nil {
			s.Disabled = true
		}
	}
	return &TracingConfig{Client: client, Server: server}
}

// providerNames are lower-cased: Istio matches provider names case-insensitively, so "Envoy" and "envoy"
// are one provider, configured once.
func providerNames(refs []*telemetryapi.ProviderRef) []string {
	out := make([]string, 0, len(refs))
	for _, r := range refs {
		out = append(out, strings.ToLower(r.GetName()))
	}
	return out
}
