package model

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	networkingv1alpha3 "istio.io/client-go/pkg/apis/networking/v1alpha3"
	networkingv1beta1 "istio.io/client-go/pkg/apis/networking/v1beta1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	securityv1beta1 "istio.io/client-go/pkg/apis/security/v1beta1"
	telemetryv1 "istio.io/client-go/pkg/apis/telemetry/v1"
	telemetryv1alpha1 "istio.io/client-go/pkg/apis/telemetry/v1alpha1"
	istioscheme "istio.io/client-go/pkg/clientset/versioned/scheme"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	kubescheme "k8s.io/client-go/kubernetes/scheme"

	"skiff.dev/skiff/pkg/errs"
)

// Decoder reads Kubernetes and Istio objects from YAML into an Input.
type Decoder struct {
	decode func([]byte) (runtime.Object, error)
}

// NewDecoder builds a decoder that knows the core Kubernetes and Istio API types.
func NewDecoder() (*Decoder, error) {
	scheme := runtime.NewScheme()
	if err := kubescheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := istioscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	d := serializer.NewCodecFactory(scheme).UniversalDeserializer()
	return &Decoder{decode: func(b []byte) (runtime.Object, error) {
		obj, _, err := d.Decode(b, nil, nil)
		return obj, err
	}}, nil
}

// AddYAML decodes every document of a multi-document YAML file into in. Kinds the mesh model does not use
// (Deployments, ConfigMaps other than the istio mesh config, ...) are ignored; a document that does not
// parse is an errs.BadInput naming the file and the document's first line.
func (d *Decoder) AddYAML(in *Input, file string, data []byte) error {
	for _, doc := range SplitDocuments(data) {
		if len(bytes.TrimSpace(doc.Body)) == 0 || isOnlyComments(doc.Body) {
			continue
		}
		obj, err := d.decode(doc.Body)
		if err != nil {
			if strings.Contains(err.Error(), "no kind") && strings.Contains(err.Error(), "is registered") {
				continue
			}
			return docError(file, doc, err)
		}
		if cm, ok := obj.(*corev1.ConfigMap); ok {
			if err := addMeshConfig(in, cm); err != nil {
				return docError(file, doc, err)
			}
			continue
		}
		add(in, obj)
	}
	return nil
}

// add files an object under its kind, converting older Istio API versions to v1 (the specs are identical).
func add(in *Input, obj runtime.Object) {
	switch o := obj.(type) {
	case *corev1.Service:
		in.Services = append(in.Services, o)
	case *corev1.Secret:
		in.Secrets = append(in.Secrets, o)
	case *corev1.Pod:
		in.Pods = append(in.Pods, o)
	case *discoveryv1.EndpointSlice:
		in.EndpointSlices = append(in.EndpointSlices, o)
	case *networkingv1.VirtualService:
		in.VirtualServices = append(in.VirtualServices, o)
	case *networkingv1beta1.VirtualService:
		in.VirtualServices = append(in.VirtualServices, &networkingv1.VirtualService{TypeMeta: o.TypeMeta, ObjectMeta: o.ObjectMeta, Spec: *o.Spec.DeepCopy()})
	case *networkingv1alpha3.VirtualService:
		in.VirtualServices = append(in.VirtualServices, &networkingv1.VirtualService{TypeMeta: o.TypeMeta, ObjectMeta: o.ObjectMeta, Spec: *o.Spec.DeepCopy()})
	case *networkingv1.DestinationRule:
		in.DestinationRules = append(in.DestinationRules, o)
	case *networkingv1beta1.DestinationRule:
		in.DestinationRules = append(in.DestinationRules, &networkingv1.DestinationRule{TypeMeta: o.TypeMeta, ObjectMeta: o.ObjectMeta, Spec: *o.Spec.DeepCopy()})
	case *networkingv1alpha3.DestinationRule:
		in.DestinationRules = append(in.DestinationRules, &networkingv1.DestinationRule{TypeMeta: o.TypeMeta, ObjectMeta: o.ObjectMeta, Spec: *o.Spec.DeepCopy()})
	case *networkingv1.ServiceEntry:
		in.ServiceEntries = append(in.ServiceEntries, o)
	case *networkingv1beta1.ServiceEntry:
		in.ServiceEntries = append(in.ServiceEntries, &networkingv1.ServiceEntry{TypeMeta: o.TypeMeta, ObjectMeta: o.ObjectMeta, Spec: *o.Spec.DeepCopy()})
	case *networkingv1alpha3.ServiceEntry:
		in.ServiceEntries = append(in.ServiceEntries, &networkingv1.ServiceEntry{TypeMeta: o.TypeMeta, ObjectMeta: o.ObjectMeta, Spec: *o.Spec.DeepCopy()})
	case *networkingv1.Gateway:
		in.Gateways = append(in.Gateways, o)
	case *networkingv1beta1.Gateway:
		in.Gateways = append(in.Gateways, &networkingv1.Gateway{TypeMeta: o.TypeMeta, ObjectMeta: o.ObjectMeta, Spec: *o.Spec.DeepCopy()})
	case *networkingv1alpha3.Gateway:
		in.Gateways = append(in.Gateways, &networkingv1.Gateway{TypeMeta: o.TypeMeta, ObjectMeta: o.ObjectMeta, Spec: *o.Spec.DeepCopy()})
	case *networkingv1.Sidecar:
		in.Sidecars = append(in.Sidecars, o)
	case *networkingv1beta1.Sidecar:
		in.Sidecars = append(in.Sidecars, &networkingv1.Sidecar{TypeMeta: o.TypeMeta, ObjectMeta: o.ObjectMeta, Spec: *o.Spec.DeepCopy()})
	case *networkingv1alpha3.Sidecar:
		in.Sidecars = append(in.Sidecars, &networkingv1.Sidecar{TypeMeta: o.TypeMeta, ObjectMeta: o.ObjectMeta, Spec: *o.Spec.DeepCopy()})
	case *securityv1.PeerAuthentication:
		in.PeerAuthentications = append(in.PeerAuthentications, o)
	case *securityv1beta1.PeerAuthentication:
		in.PeerAuthentications = append(in.PeerAuthentications, &securityv1.PeerAuthentication{TypeMeta: o.TypeMeta, ObjectMeta: o.ObjectMeta, Spec: *o.Spec.DeepCopy()})
	case *securityv1.AuthorizationPolicy:
		in.AuthorizationPolicies = append(in.AuthorizationPolicies, o)
	case *securityv1beta1.AuthorizationPolicy:
		in.AuthorizationPolicies = append(in.AuthorizationPolicies, &securityv1.AuthorizationPolicy{TypeMeta: o.TypeMeta, ObjectMeta: o.ObjectMeta, Spec: *o.Spec.DeepCopy()})
	case *telemetryv1.Telemetry:
		in.Telemetries = append(in.Telemetries, o)
	case *telemetryv1alpha1.Telemetry:
		in.Telemetries = append(in.Telemetries, &telemetryv1.Telemetry{TypeMeta: o.TypeMeta, ObjectMeta: o.ObjectMeta, Spec: *o.Spec.DeepCopy()})
	case *securityv1.RequestAuthentication:
		in.RequestAuthentications = append(in.RequestAuthentications, o)
	case *securityv1beta1.RequestAuthentication:
		in.RequestAuthentications = append(in.RequestAuthentications, &securityv1.RequestAuthentication{TypeMeta: o.TypeMeta, ObjectMeta: o.ObjectMeta, Spec: *o.Spec.DeepCopy()})
	}
}

// Document is one document of a YAML stream and the line of the file it starts on.
type Document struct {
	Line int
	Body []byte
}

// SplitDocuments cuts a YAML stream at "---" lines, remembering where each document starts for messages.
func SplitDocuments(data []byte) []Document {
	var docs []Document
	cur := Document{Line: 1}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if strings.HasPrefix(line, "---") && strings.TrimSpace(strings.TrimLeft(line, "-")) == "" {
			docs = append(docs, cur)
			cur = Document{Line: n + 1}
			continue
		}
		cur.Body = append(cur.Body, line...)
		cur.Body = append(cur.Body, '\n')
	}
	return append(docs, cur)
}

// yamlLine finds the YAML parser's line, which counts from the start of the document, not the file.
var yamlLine = regexp.MustCompile(`yaml: line (\d+): (.*)$`)

// docError reports a document's decoding error at its line in the file.
func docError(file string, doc Document, err error) error {
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		rel, _ := strconv.Atoi(m[1])
		return errs.BadInput("%s:%d: %s", file, doc.Line+rel-1, m[2])
	}
	return errs.BadInput("%s:%d: %v", file, doc.Line, err)
}

func isOnlyComments(b []byte) bool {
	for _, l := range strings.Split(string(b), "\n") {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
			return false
		}
	}
	return true
}

// LoadFiles is the convenience for tests and tools: decode the named YAML contents into one Input.
func LoadFiles(files map[string][]byte) (Input, error) {
	d, err := NewDecoder()
	if err != nil {
		return Input{}, fmt.Errorf("building decoder: %w", err)
	}
	var in Input
	for name, data := range files {
		if err := d.AddYAML(&in, name, data); err != nil {
			return Input{}, err
		}
	}
	return in, nil
}
