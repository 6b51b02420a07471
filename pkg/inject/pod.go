package inject

import (
	"encoding/json"
	"fmt"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"skiff.dev/skiff/pkg/errs"
)

// templateData is what the sidecar template sees. Field names follow Istio's template data where they
// overlap; the derived booleans save templates from re-implementing the engine's rules.
type templateData struct {
	TypeMeta         metav1.TypeMeta
	DeploymentMeta   metav1.ObjectMeta
	ObjectMeta       metav1.ObjectMeta
	Spec             corev1.PodSpec
	ProxyConfig      *meshv1alpha1.ProxyConfig // meshConfig.defaultConfig with the pod's override merged in
	ProxyConfigJSON  string                    // the pod's proxy.istio.io/config override alone, as JSON
	MeshConfig       *meshv1alpha1.MeshConfig
	Values           map[string]any
	Revision         string
	ProxyImage       string
	ProxyInitImage   string
	ProxyUID         int64
	ProxyGID         int64
	InterceptionMode string
	StatusPort       int32
	TrustDomain      string
	CAAddress        string
	AppContainers    []string
	PodPortsJSON     string
	CNI              bool
	NativeSidecar    bool
	HoldApplication  bool
	PrometheusMerge  bool
}

// InjectTemplate injects the data plane into pod, a pod or pod template as a JSON-shaped map (keys
// "metadata" and "spec"), in place. Untouched parts of the map are left exactly as they were, so callers
// can diff or re-serialise without noise. An error means the pod template itself is unusable.
func (inj *Injector) InjectTemplate(w Workload, pod map[string]any) (Outcome, error) {
	spec, _ := pod["spec"].(map[string]any)
	if spec == nil {
		return skipped("no pod spec"), nil
	}
	var typed corev1.PodTemplateSpec
	if err := convert(map[string]any{"metadata": pod["metadata"], "spec": spec}, &typed); err != nil {
		return Outcome{}, errs.BadInput("invalid pod template: %v", err)
	}
	if out, skip := inj.precheck(&typed); skip {
		return out, nil
	}
	data, err := inj.templateData(w, &typed)
	if err != nil {
		return Outcome{}, err
	}
	r, err := inj.render(data)
	if err != nil {
		return Outcome{}, err
	}
	meta, _ := pod["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
		pod["metadata"] = meta
	}
	apply(meta, spec, r, data, inj.rewriteProbes(typed.Annotations))
	return Outcome{Injected: true}, nil
}

// precheck decides whether a pod template is skipped, and why.
func (inj *Injector) precheck(t *corev1.PodTemplateSpec) (Outcome, bool) {
	switch {
	case len(t.Spec.Containers) == 0:
		return skipped("no containers"), true
	case t.Spec.HostNetwork:
		return skipped("hostNetwork"), true
	case t.Annotations[AnnotationInject] == "false" || t.Labels[AnnotationInject] == "false":
		return skipped(`%s is "false"`, AnnotationInject), true
	}
	if s, ok := t.Annotations[AnnotationStatus]; ok {
		st, err := parseStatus(s)
		if err != nil {
			return skipped("%v", err), true
		}
		if rev := revisionName(st.Revision); rev != inj.Revision() {
			return skipped("already injected by revision %q (this is %q); run 'skiff x uninject' first", rev, inj.Revision()), true
		}
		return skipped("already injected"), true
	}
	for _, c := range append(append([]corev1.Container{}, t.Spec.InitContainers...), t.Spec.Containers...) {
		if c.Name == ProxyContainer || c.Name == InitContainer || c.Name == ValidationContainer {
			return skipped("already has a container named %q but no %s annotation", c.Name, AnnotationStatus), true
		}
	}
	return Outcome{}, false
}

func (inj *Injector) templateData(w Workload, t *corev1.PodTemplateSpec) (*templateData, error) {
	if err := checkResourceAnnotations(t.Annotations); err != nil {
		return nil, err
	}
	pc, override, err := proxyConfigFor(inj.mesh, t.Annotations)
	if err != nil {
		return nil, err
	}
	overrideJSON, err := protoToJSON(override)
	if err != nil {
		return nil, err
	}
	d := &templateData{
		TypeMeta:        metav1.TypeMeta{Kind: w.Kind, APIVersion: w.APIVersion},
		DeploymentMeta:  metav1.ObjectMeta{Name: w.Name, Namespace: w.Namespace},
		ObjectMeta:      t.ObjectMeta,
		Spec:            t.Spec,
		ProxyConfig:     pc,
		ProxyConfigJSON: overrideJSON,
		MeshConfig:      inj.mesh,
		Values:          inj.values,
		Revision:        inj.revision,
		ProxyUID:        proxyUID,
		ProxyGID:        proxyGID,
		StatusPort:      pc.GetStatusPort(),
		CAAddress:       inj.caAddress(),
		CNI:             truthy(lookup(inj.values, "istio_cni.enabled")) || truthy(lookup(inj.values, "pilot.cni.enabled")),
	}
	d.InterceptionMode = pc.GetInterceptionMode().String()
	if m, ok := t.Annotations[AnnotationInterceptMode]; ok {
		d.InterceptionMode = m
	}
	d.ProxyImage = inj.image(t.Annotations, "global.proxy.image")
	d.ProxyInitImage = inj.image(t.Annotations, "global.proxy_init.image")
	d.TrustDomain = firstNonEmpty(inj.mesh.GetTrustDomain(), str(lookup(inj.values, "global.trustDomain")), "cluster.local")
	if v, ok := t.Annotations[AnnotationNative]; ok {
		d.NativeSidecar = v == "true"
	} else {
		d.NativeSidecar = truthy(lookup(inj.values, "pilot.env.ENABLE_NATIVE_SIDECARS"))
	}
	d.HoldApplication = !d.NativeSidecar &&
		(pc.GetHoldApplicationUntilProxyStarts().GetValue() || truthy(lookup(inj.values, "global.proxy.holdApplicationUntilProxyStarts")))
	d.PrometheusMerge = prometheusMerge(inj.mesh, t.Annotations)
	var ports []corev1.ContainerPort
	for _, c := range t.Spec.Containers {
		d.AppContainers = append(d.AppContainers, c.Name)
		ports = append(ports, c.Ports...)
	}
	if ports == nil {
		ports = []corev1.ContainerPort{}
	}
	b, _ := json.Marshal(ports)
	d.PodPortsJSON = string(b)
	return d, nil
}

// caAddress is where the agent gets certificates: values.global.caAddress, else the revision's istiod.
func (inj *Injector) caAddress() string {
	if a := str(lookup(inj.values, "global.caAddress")); a != "" {
		return a
	}
	svc := "istiod"
	if inj.revision != "" && inj.revision != "default" {
		svc += "-" + inj.revision
	}
	return fmt.Sprintf("%s.%s.svc:15012", svc, firstNonEmpty(str(lookup(inj.values, "global.istioNamespace")), "istio-system"))
}

// proxyConfigFor merges the pod's proxy.istio.io/config annotation over the mesh's defaultConfig and also
// returns the override alone.
func proxyConfigFor(mesh *meshv1alpha1.MeshConfig, annotations map[string]string) (merged, override *meshv1alpha1.ProxyConfig, err error) {
	merged = proto.Clone(mesh.GetDefaultConfig()).(*meshv1alpha1.ProxyConfig)
	override = &meshv1alpha1.ProxyConfig{}
	raw, ok := annotations[AnnotationProxyConfig]
	if !ok || strings.TrimSpace(raw) == "" {
		return merged, override, nil
	}
	js, err := yaml.YAMLToJSON([]byte(raw))
	if err != nil {
		return nil, nil, errs.BadInput("annotation %s: %v", AnnotationProxyConfig, err)
	}
	if err := protojson.Unmarshal(js, override); err != nil {
		return nil, nil, errs.BadInput("annotation %s: %v", AnnotationProxyConfig, err)
	}
	proto.Merge(merged, override)
	return merged, override, nil
}

// image resolves the proxy image: the pod's sidecar.istio.io/proxyImage, a full image in values, or
// <hub>/<image>:<tag>.
func (inj *Injector) image(annotations map[string]string, valuesPath string) string {
	if img := annotations[AnnotationProxyImage]; img != "" {
		return img
	}
	img := firstNonEmpty(str(lookup(inj.values, valuesPath)), "skiff-proxy")
	if strings.Contains(img, "/") {
		return img
	}
	hub := firstNonEmpty(str(lookup(inj.values, "global.hub")), DefaultHub)
	tag := firstNonEmpty(str(lookup(inj.values, "global.tag")), DefaultTag)
	return fmt.Sprintf("%s/%s:%s", hub, img, tag)
}

// prometheusMerge reports whether to point Prometheus at the agent's merged metrics. Unlike Istio, pods
// with their own prometheus.io annotations are left alone, so injection only ever adds keys and uninject
// can reverse it exactly.
func prometheusMerge(mesh *meshv1alpha1.MeshConfig, annotations map[string]string) bool {
	if e := mesh.GetEnablePrometheusMerge(); e != nil && !e.GetValue() {
		return false
	}
	if annotations[AnnotationMergeMetrics] == "false" {
		return false
	}
	for k := range annotations {
		if strings.HasPrefix(k, "prometheus.io/") {
			return false
		}
	}
	return true
}

func (inj *Injector) rewriteProbes(annotations map[string]string) bool {
	if v, ok := annotations[AnnotationRewrite]; ok {
		return v != "false"
	}
	v := lookup(inj.values, "sidecarInjectorWebhook.rewriteAppHTTPProbe")
	return v == nil || truthy(v)
}

func str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// convert moves between JSON-shaped maps and typed structs through JSON, the form both sides agree on.
// Decoding is case-sensitive, as the API server's is: encoding/json would read "Containers" as
// "containers" and the typed view would disagree with the map injection edits.
func convert(in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return sigsjson.UnmarshalCaseSensitivePreserveInts(b, out)
}

// resourceAnnotations are the proxy resource overrides; they must be valid quantities.
var resourceAnnotations = [...]string{"sidecar.istio.io/proxyCPU", "sidecar.istio.io/proxyMemory", "sidecar.istio.io/proxyCPULimit", "sidecar.istio.io/proxyMemoryLimit"}

func checkResourceAnnotations(annotations map[string]string) error {
	for _, a := range resourceAnnotations {
		if v, ok := annotations[a]; ok {
			if _, err := resource.ParseQuantity(v); err != nil {
				return errs.BadInput("annotation %s: %q is not a quantity (e.g. 100m, 128Mi)", a, v)
			}
		}
	}
	return nil
}
