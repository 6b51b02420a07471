package inject

import (
	"encoding/json"
	"fmt"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	"sigs.k8s.io/yaml"
)

// Config is everything injection depends on. The CLI fills it from a profile, files or the cluster; the
// webhook from the mounted ConfigMaps. Nil/empty fields fall back to the built-in defaults.
type Config struct {
	Mesh     *meshv1alpha1.MeshConfig
	Values   map[string]any // Istio-style values (global.hub, global.proxy.*, pilot.env.*, istio_cni.enabled, ...)
	Template string         // Go text/template producing the injected metadata/containers/volumes as YAML
	Revision string         // control-plane revision recorded in the status annotation; "" means default
}

// DefaultHub and DefaultTag name the proxy image when no profile says otherwise.
const (
	DefaultHub = "ghcr.io/skiff-dev"
	DefaultTag = "0.1.0-dev"
)

// DefaultValues returns the values injection uses when none are given. Every key the default template reads
// is present, so a partial values file merged over these never leaves a template path undefined.
func DefaultValues() map[string]any {
	return map[string]any{
		"revision": "",
		"global": map[string]any{
			"hub":               DefaultHub,
			"tag":               DefaultTag,
			"imagePullPolicy":   "",
			"imagePullSecrets":  []any{},
			"istioNamespace":    "istio-system",
			"caAddress":         "",
			"pilotCertProvider": "istiod",
			"network":           "",
			"meshID":            "",
			"trustDomain":       "",
			"logAsJson":         false,
			"logging":           map[string]any{"level": "default:info"},
			"multiCluster":      map[string]any{"clusterName": "Kubernetes"},
			"sds":               map[string]any{"token": map[string]any{"aud": "istio-ca"}},
			"proxy_init":        map[string]any{"image": "skiff-proxy"},
			"proxy": map[string]any{
				"image":                           "skiff-proxy",
				"clusterDomain":                   "cluster.local",
				"logLevel":                        "warning",
				"componentLogLevel":               "misc:error",
				"privileged":                      false,
				"holdApplicationUntilProxyStarts": false,
				"includeIPRanges":                 "*",
				"excludeIPRanges":                 "",
				"includeInboundPorts":             "*",
				"excludeInboundPorts":             "",
				"includeOutboundPorts":            "",
				"excludeOutboundPorts":            "",
				"statusPort":                      15020,
				"readinessInitialDelaySeconds":    0,
				"readinessPeriodSeconds":          15,
				"readinessFailureThreshold":       4,
				"startupProbe":                    map[string]any{"enabled": true, "failureThreshold": 600},
				"resources": map[string]any{
					"requests": map[string]any{"cpu": "100m", "memory": "128Mi"},
					"limits":   map[string]any{"cpu": "2000m", "memory": "1024Mi"},
				},
			},
		},
		"istio_cni":              map[string]any{"enabled": false},
		"pilot":                  map[string]any{"cni": map[string]any{"enabled": false}, "env": map[string]any{}},
		"sidecarInjectorWebhook": map[string]any{"rewriteAppHTTPProbe": true},
	}
}

// DefaultMeshConfig mirrors Istio's mesh defaults for the fields injection reads.
func DefaultMeshConfig() *meshv1alpha1.MeshConfig {
	return &meshv1alpha1.MeshConfig{
		ProxyListenPort:        15001,
		ProxyInboundListenPort: 15006,
		TrustDomain:            "cluster.local",
		RootNamespace:          "istio-system",
		EnablePrometheusMerge:  wrapperspb.Bool(true),
		DefaultConfig: &meshv1alpha1.ProxyConfig{
			ConfigPath:             "./etc/istio/proxy",
			BinaryPath:             "/usr/local/bin/envoy",
			DrainDuration:          durationpb.New(45e9),
			DiscoveryAddress:       "istiod.istio-system.svc:15012",
			ProxyAdminPort:         15000,
			ControlPlaneAuthPolicy: meshv1alpha1.AuthenticationPolicy_MUTUAL_TLS,
			StatusPort:             15020,
		},
	}
}

// ParseMeshConfig reads a MeshConfig (YAML or JSON) and applies it over the defaults, as istioctl does.
func ParseMeshConfig(data []byte) (*meshv1alpha1.MeshConfig, error) {
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, err
	}
	parsed := &meshv1alpha1.MeshConfig{}
	if s := strings.TrimSpace(string(js)); s != "" && s != "null" {
		if err := protojson.Unmarshal(js, parsed); err != nil {
			return nil, err
		}
	}
	mesh := DefaultMeshConfig()
	proto.Merge(mesh, parsed)
	return mesh, nil
}

// ParseValues reads Istio values (YAML or JSON): the object the istio-sidecar-injector ConfigMap's "values"
// key holds.
func ParseValues(data []byte) (map[string]any, error) {
	m := map[string]any{}
	if err := yaml.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// ParseInjectConfig extracts the sidecar template from an injector config file: istioctl's format
// (`templates: {sidecar: ...}` or the older `template: ...`) or a bare template.
func ParseInjectConfig(data []byte) (string, error) {
	var cfg struct {
		Template  string            `json:"template"`
		Templates map[string]string `json:"templates"`
	}
	if err := yaml.Unmarshal(data, &cfg); err == nil {
		if t := cfg.Templates["sidecar"]; t != "" {
			return t, nil
		}
		if cfg.Template != "" {
			return cfg.Template, nil
		}
		if len(cfg.Templates) > 0 {
			return "", fmt.Errorf("injector config has no %q template", "sidecar")
		}
	}
	return string(data), nil
}

// MergeValues deep-merges override over base (maps merge, everything else replaces) into a new map.
func MergeValues(base, override map[string]any) map[string]any {
	out := make(map[string]any, len(base))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range override {
		if bm, ok := out[k].(map[string]any); ok {
			if om, ok := v.(map[string]any); ok {
				out[k] = MergeValues(bm, om)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// lookup walks a dotted path through nested maps; missing paths give nil.
func lookup(m map[string]any, path string) any {
	var cur any = m
	for _, p := range strings.Split(path, ".") {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[p]
	}
	return cur
}

// truthy interprets a values entry as a boolean: true, "true", 1.
func truthy(v any) bool {
	switch t := v.(type) {
	case bool:
		return t
	case string:
		return strings.EqualFold(t, "true")
	case float64:
		return t != 0
	case int:
		return t != 0
	case json.Number:
		return t.String() != "0"
	}
	return false
}
