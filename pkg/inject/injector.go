package inject

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"text/template"

	yamlv3 "go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/proto"
	meshv1alpha1 "istio.io/api/mesh/v1alpha1"

	"skiff.dev/skiff/internal/fastyaml"
	"skiff.dev/skiff/pkg/errs"
)

// Names of what injection adds; Istio's, so existing tooling (Kiali, runbooks) recognises injected pods.
const (
	ProxyContainer      = "istio-proxy"
	InitContainer       = "istio-init"
	ValidationContainer = "istio-validation"

	AnnotationStatus        = "sidecar.istio.io/status"
	AnnotationInject        = "sidecar.istio.io/inject"
	AnnotationProxyConfig   = "proxy.istio.io/config"
	AnnotationNative        = "sidecar.istio.io/nativeSidecar"
	AnnotationProxyImage    = "sidecar.istio.io/proxyImage"
	AnnotationRewrite       = "sidecar.istio.io/rewriteAppHTTPProbers"
	AnnotationInterceptMode = "sidecar.istio.io/interceptionMode"
	AnnotationMergeMetrics  = "prometheus.istio.io/merge-metrics"
	EnvAppProbers           = "ISTIO_KUBE_APP_PROBERS"

	proxyUID = 1337
	proxyGID = 1337
)

// Injector is a compiled injection configuration; it is safe for concurrent use.
type Injector struct {
	mesh     *meshv1alpha1.MeshConfig
	values   map[string]any
	tmpl     *template.Template
	revision string
}

// New compiles cfg, filling what it leaves empty with the defaults.
func New(cfg Config) (*Injector, error) {
	mesh := cfg.Mesh
	if mesh == nil {
		mesh = DefaultMeshConfig()
	}
	if mesh.DefaultConfig == nil {
		mesh = proto.Clone(mesh).(*meshv1alpha1.MeshConfig)
		mesh.DefaultConfig = DefaultMeshConfig().DefaultConfig
	}
	values := MergeValues(DefaultValues(), cfg.Values)
	text := cfg.Template
	if strings.TrimSpace(text) == "" {
		text = DefaultTemplate()
	}
	tmpl, err := parseTemplate(text)
	if err != nil {
		return nil, errs.BadInput("injection template: %v", err)
	}
	rev := cfg.Revision
	if rev == "" {
		if r, ok := values["revision"].(string); ok {
			rev = r
		}
	}
	return &Injector{mesh: mesh, values: values, tmpl: tmpl, revision: rev}, nil
}

// Revision is the revision this injector records; "default" when none is set.
func (inj *Injector) Revision() string { return revisionName(inj.revision) }

func revisionName(r string) string {
	if r == "" {
		return "default"
	}
	return r
}

// Workload identifies the object that owns a pod template, for names, the ISTIO_META_OWNER env and reports.
type Workload struct {
	Kind       string
	APIVersion string
	Name       string
	Namespace  string
}

// Outcome says what happened to one pod template.
type Outcome struct {
	Injected bool
	Reason   string // why it was skipped, when not injected
}

func skipped(format string, args ...any) Outcome {
	return Outcome{Reason: fmt.Sprintf(format, args...)}
}

// Status is the sidecar.istio.io/status annotation: Istio's fields plus what uninject needs to reverse an
// injection exactly (the label/annotation keys injection added, and probe ports it resolved from names).
type Status struct {
	InitContainers   []string          `json:"initContainers"`
	Containers       []string          `json:"containers"`
	Volumes          []string          `json:"volumes"`
	ImagePullSecrets []string          `json:"imagePullSecrets"`
	Revision         string            `json:"revision"`
	Labels           []string          `json:"labels,omitempty"`
	Annotations      []string          `json:"annotations,omitempty"`
	ProbePorts       map[string]string `json:"probePorts,omitempty"`
}

func parseStatus(s string) (*Status, error) {
	st := &Status{}
	if err := json.Unmarshal([]byte(s), st); err != nil {
		return nil, fmt.Errorf("annotation %s is not valid JSON: %v", AnnotationStatus, err)
	}
	return st, nil
}

// rendered is the template's output: what to add to the pod template.
type rendered struct {
	Metadata struct {
		Labels      map[string]string
		Annotations map[string]string
	}
	Spec struct {
		InitContainers   []map[string]any
		Containers       []map[string]any
		Volumes          []map[string]any
		ImagePullSecrets []map[string]any
	}
}

func (inj *Injector) render(data *templateData) (*rendered, error) {
	var buf bytes.Buffer
	if err := inj.tmpl.Execute(&buf, data); err != nil {
		return nil, errs.BadInput("injection template: %v", err)
	}
	out, err := parseRendered(buf.String())
	if err != nil {
		return nil, errs.BadInput("injection template produced invalid YAML: %v", err)
	}
	for _, list := range [][]map[string]any{out.Spec.InitContainers, out.Spec.Containers, out.Spec.Volumes} {
		for _, m := range list {
			pruneNulls(m)
		}
	}
	return out, nil
}

// parseRendered reads the template's output: the fast block-YAML parser for the usual shapes, yaml.v3
// for anything else.
func parseRendered(text string) (*rendered, error) {
	doc, ok := fastyaml.Decode(text)
	if !ok {
		doc = nil
		if err := yamlv3.Unmarshal([]byte(text), &doc); err != nil {
			return nil, err
		}
	}
	root, ok := doc.(map[string]any)
	if doc != nil && !ok {
		return nil, fmt.Errorf("the template must produce a mapping with metadata and spec")
	}
	out := &rendered{}
	meta, _ := root["metadata"].(map[string]any)
	spec, _ := root["spec"].(map[string]any)
	out.Metadata.Labels = stringsOf(meta["labels"])
	out.Metadata.Annotations = stringsOf(meta["annotations"])
	for _, f := range []struct {
		key  string
		dest *[]map[string]any
	}{{"initContainers", &out.Spec.InitContainers}, {"containers", &out.Spec.Containers}, {"volumes", &out.Spec.Volumes}, {"imagePullSecrets", &out.Spec.ImagePullSecrets}} {
		items, _ := spec[f.key].([]any)
		for i, it := range items {
			m, ok := it.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("spec.%s[%d] is not a mapping", f.key, i)
			}
			*f.dest = append(*f.dest, m)
		}
	}
	return out, nil
}

func stringsOf(v any) map[string]string {
	m, _ := v.(map[string]any)
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, e := range m {
		if e == nil {
			out[k] = ""
		} else {
			out[k] = fmt.Sprint(e)
		}
	}
	return out
}

// pruneNulls drops keys whose value is null (e.g. an empty `resources:` block) so output stays clean.
func pruneNulls(m map[string]any) {
	for k, v := range m {
		switch t := v.(type) {
		case nil:
			delete(m, k)
		case map[string]any:
			pruneNulls(t)
		case []any:
			for _, e := range t {
				if em, ok := e.(map[string]any); ok {
					pruneNulls(em)
				}
			}
		}
	}
}
