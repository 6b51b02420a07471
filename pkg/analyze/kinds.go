package analyze

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/proto"
	extensions "istio.io/api/extensions/v1alpha1"
	networking "istio.io/api/networking/v1alpha3"
	networkingbeta "istio.io/api/networking/v1beta1"
	security "istio.io/api/security/v1beta1"
	telemetry "istio.io/api/telemetry/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// istioKind describes an Istio API kind: its group, the versions the CRDs serve and its spec type.
type istioKind struct {
	group    string
	kind     string
	versions []string
	newSpec  func() proto.Message
}

// istioKinds lists the Istio kinds Skiff decodes and validates, keyed by "group/Kind".
func istioKinds() map[string]istioKind {
	net := []string{"v1", "v1beta1", "v1alpha3"}
	sec := []string{"v1", "v1beta1"}
	ks := []istioKind{
		{"networking.istio.io", "VirtualService", net, func() proto.Message { return &networking.VirtualService{} }},
		{"networking.istio.io", "DestinationRule", net, func() proto.Message { return &networking.DestinationRule{} }},
		{"networking.istio.io", "Gateway", net, func() proto.Message { return &networking.Gateway{} }},
		{"networking.istio.io", "ServiceEntry", net, func() proto.Message { return &networking.ServiceEntry{} }},
		{"networking.istio.io", "Sidecar", net, func() proto.Message { return &networking.Sidecar{} }},
		{"networking.istio.io", "WorkloadEntry", net, func() proto.Message { return &networking.WorkloadEntry{} }},
		{"networking.istio.io", "WorkloadGroup", net, func() proto.Message { return &networking.WorkloadGroup{} }},
		{"networking.istio.io", "EnvoyFilter", []string{"v1alpha3"}, func() proto.Message { return &networking.EnvoyFilter{} }},
		{"networking.istio.io", "ProxyConfig", []string{"v1beta1"}, func() proto.Message { return &networkingbeta.ProxyConfig{} }},
		{"security.istio.io", "AuthorizationPolicy", sec, func() proto.Message { return &security.AuthorizationPolicy{} }},
		{"security.istio.io", "PeerAuthentication", sec, func() proto.Message { return &security.PeerAuthentication{} }},
		{"security.istio.io", "RequestAuthentication", sec, func() proto.Message { return &security.RequestAuthentication{} }},
		{"telemetry.istio.io", "Telemetry", []string{"v1", "v1alpha1"}, func() proto.Message { return &telemetry.Telemetry{} }},
		{"extensions.istio.io", "WasmPlugin", []string{"v1alpha1"}, func() proto.Message { return &extensions.WasmPlugin{} }},
	}
	m := make(map[string]istioKind, len(ks))
	for _, k := range ks {
		m[k.group+"/"+k.kind] = k
	}
	return m
}

// splitAPIVersion splits "group/version" ("v1" for the core group).
func splitAPIVersion(apiVersion string) (group, version string) {
	if i := strings.LastIndexByte(apiVersion, '/'); i >= 0 {
		return apiVersion[:i], apiVersion[i+1:]
	}
	return "", apiVersion
}

func isIstioGroup(group string) bool { return strings.HasSuffix(group, "istio.io") }

// decoder turns documents into resources; it holds the kind table so it is built once per run.
type decoder struct {
	kinds            map[string]istioKind
	defaultNamespace string
}

func newDecoder(defaultNamespace string) *decoder {
	return &decoder{kinds: istioKinds(), defaultNamespace: defaultNamespace}
}

// clusterScoped reports the common cluster-scoped kinds; every other object gets a namespace.
func clusterScoped(kind string) bool {
	switch kind {
	case "Namespace", "Node", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
		"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "PersistentVolume", "StorageClass",
		"PriorityClass", "IngressClass", "GatewayClass":
		return true
	}
	return false
}

// decode builds a resource from a document. Problems that make the document unusable are returned as
// problems; schema errors of a usable object come back as messages.
func (d *decoder) decode(doc document, origin Origin) (*Resource, []Message, *problem) {
	root := doc.root
	if root.Kind != yaml.MappingNode {
		return nil, nil, &problem{file: doc.file, line: doc.line(), text: "document is not a Kubernetes object (expected a mapping with apiVersion and kind)"}
	}
	apiVersion := scalar(mappingValue(root, "apiVersion"))
	kind := scalar(mappingValue(root, "kind"))
	meta := mappingValue(root, "metadata")
	name := scalar(mappingValue(meta, "name"))
	var missing []string
	for f, v := range map[string]string{"apiVersion": apiVersion, "kind": kind, "metadata.name": name} {
		if v == "" {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		sortStrings(missing)
		return nil, nil, &problem{file: doc.file, line: doc.line(), text: "object has no " + strings.Join(missing, ", ")}
	}
	group, version := splitAPIVersion(apiVersion)
	ns := scalar(mappingValue(meta, "namespace"))
	if clusterScoped(kind) {
		ns = ""
	} else if ns == "" {
		ns = d.defaultNamespace
	}
	origin.Line = doc.line()
	r := &Resource{
		Key:         Key{Group: group, Kind: kind, Namespace: ns, Name: name},
		APIVersion:  apiVersion,
		Labels:      stringMap(mappingValue(meta, "labels")),
		Annotations: stringMap(mappingValue(meta, "annotations")),
		Origin:      origin,
		node:        root,
		lineOffset:  doc.offset,
	}
	if origin.Cluster {
		r.Origin.File = ""
	}
	if isIstioGroup(group) {
		return r, d.decodeIstio(r, version), nil
	}
	if group == "" || group == "apps" || group == "batch" {
		if err := decodeKube(r); err != nil {
			return r, []Message{newMessage(SchemaValidationError, r, r.Origin.Line, err)}, nil
		}
	}
	return r, nil, nil
}

func (d *decoder) decodeIstio(r *Resource, version string) []Message {
	k, ok := d.kinds[r.Key.Group+"/"+r.Key.Kind]
	if !ok || !contains(k.versions, version) {
		return []Message{newMessage(UnknownIstioKind, r, r.Line("kind"), r.Key.Kind, r.APIVersion)}
	}
	var msgs []Message
	for i := 0; i+1 < len(r.node.Content); i += 2 {
		switch key := r.node.Content[i].Value; key {
		case "apiVersion", "kind", "metadata", "spec", "status":
		default:
			msgs = append(msgs, newMessage(SchemaValidationError, r, r.node.Content[i].Line+r.lineOffset,
				fmt.Sprintf("unknown field %q (an Istio object's settings belong under spec)", key)))
		}
	}
	spec := k.newSpec()
	errs := decodeSpec(mappingValue(r.node, "spec"), r.lineOffset, "spec", spec)
	for _, e := range errs {
		msgs = append(msgs, newMessage(SchemaValidationError, r, e.line, e.String()))
	}
	if len(errs) == 0 {
		r.Spec = spec
	}
	return msgs
}

// decodeKube decodes the core and apps kinds the analyzers read.
func decodeKube(r *Resource) error {
	var obj any
	switch r.Key.Kind {
	case "Service":
		obj = &corev1.Service{}
	case "Pod":
		obj = &corev1.Pod{}
	case "Namespace":
		obj = &corev1.Namespace{}
	case "Deployment":
		obj = &appsv1.Deployment{}
	case "StatefulSet":
		obj = &appsv1.StatefulSet{}
	case "DaemonSet":
		obj = &appsv1.DaemonSet{}
	case "ReplicaSet":
		obj = &appsv1.ReplicaSet{}
	case "Job":
		obj = &batchv1.Job{}
	case "Secret":
		obj = &corev1.Secret{} // gateway credentials (analyzer_gateway_secret.go)
	default:
		return nil
	}
	var buf bytes.Buffer
	nodeJSON(&buf, r.node, 0)
	if err := json.Unmarshal(buf.Bytes(), obj); err != nil {
		return fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "json: "))
	}
	r.Object = obj
	r.Template = podTemplateOf(obj)
	return nil
}

// podTemplateOf extracts the pod template of pods and workload controllers.
func podTemplateOf(obj any) *PodTemplate {
	var meta *corev1.PodTemplateSpec
	var path []any
	switch o := obj.(type) {
	case *corev1.Pod:
		meta = &corev1.PodTemplateSpec{ObjectMeta: o.ObjectMeta, Spec: o.Spec}
	case *appsv1.Deployment:
		meta, path = &o.Spec.Template, []any{"spec", "template"}
	case *appsv1.StatefulSet:
		meta, path = &o.Spec.Template, []any{"spec", "template"}
	case *appsv1.DaemonSet:
		meta, path = &o.Spec.Template, []any{"spec", "template"}
	case *appsv1.ReplicaSet:
		meta, path = &o.Spec.Template, []any{"spec", "template"}
	case *batchv1.Job:
		meta, path = &o.Spec.Template, []any{"spec", "template"}
	default:
		return nil
	}
	t := &PodTemplate{Labels: meta.Labels, Annotations: meta.Annotations, templatePath: path}
	specPath := append(append([]any{}, path...), "spec")
	if sc := meta.Spec.SecurityContext; sc != nil && sc.RunAsUser != nil && *sc.RunAsUser == 1337 {
		t.RunAsUser1337Path = append(append([]any{}, specPath...), "securityContext", "runAsUser")
	}
	for _, c := range meta.Spec.InitContainers {
		if c.Name == "istio-proxy" { // native sidecar mode
			t.ProxyInjected = true
		}
	}
	for i, c := range meta.Spec.Containers {
		t.Containers = append(t.Containers, c.Name)
		if c.Name == "istio-proxy" {
			t.ProxyInjected = true
			continue
		}
		for _, p := range c.Ports {
			t.Ports = append(t.Ports, p.ContainerPort)
		}
		if sc := c.SecurityContext; sc != nil && sc.RunAsUser != nil && *sc.RunAsUser == 1337 && t.RunAsUser1337Path == nil {
			t.RunAsUser1337Path = append(append([]any{}, specPath...), "containers", i, "securityContext", "runAsUser")
		}
	}
	return t
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
