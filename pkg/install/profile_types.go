package install

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// API versions and kinds a profile document may declare. IstioOperator is accepted so existing overlays work.
const (
	APIVersion      = "install.skiff.dev/v1alpha1"
	Kind            = "SkiffOperator"
	IstioAPIVersion = "install.istio.io/v1alpha1"
	IstioKind       = "IstioOperator"
)

// ProfileOptions selects a profile and customises it; install, manifest generate and kube-inject share it.
type ProfileOptions struct {
	Profile  string   // built-in profile name (default, demo, minimal, empty) or a file path; "" means default
	Overlays []string // -f files, deep-merged in order over the profile
	Sets     []string // --set path=value, applied after overlays
}

// Profile is a resolved, strictly decoded install configuration, shaped like Istio's IstioOperator so
// IstioOperator overlays and `--set` paths from runbooks keep working.
type Profile struct {
	APIVersion string      `json:"apiVersion"`
	Kind       string      `json:"kind"`
	Metadata   ProfileMeta `json:"metadata,omitzero"`
	Spec       Spec        `json:"spec"`
}

// ProfileMeta is the subset of object metadata an IstioOperator document carries.
type ProfileMeta struct {
	Name        string            `json:"name,omitempty"`
	Namespace   string            `json:"namespace,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Spec is what to install and how.
type Spec struct {
	// Profile is the profile this one is layered on; in a resolved profile, the name it was resolved from.
	Profile   string `json:"profile,omitempty"`
	Hub       string `json:"hub,omitempty"`       // image registry for Skiff's images
	Tag       string `json:"tag,omitempty"`       // image tag; empty means this skiff's version
	Namespace string `json:"namespace,omitempty"` // the mesh namespace; empty means istio-system
	Revision  string `json:"revision,omitempty"`  // control plane revision; suffixes names, as istio.io/rev does

	Components      ComponentsSpec `json:"components"`
	AddonComponents AddonsSpec     `json:"addonComponents"`
	// MeshConfig is Istio's MeshConfig (istio.io/api/mesh/v1alpha1) in its JSON form; it is checked
	// against the proto schema field by field, then decoded with protojson.
	MeshConfig map[string]any `json:"meshConfig,omitempty" protoschema:"MeshConfig"`
	Values     Values         `json:"values,omitzero"`
}

// ComponentsSpec lists the mesh's own components.
type ComponentsSpec struct {
	Base            ComponentSpec `json:"base"`
	Pilot           ComponentSpec `json:"pilot"`
	IngressGateways []GatewaySpec `json:"ingressGateways,omitempty"`
	EgressGateways  []GatewaySpec `json:"egressGateways,omitempty"`
}

// ComponentSpec switches a component on and customises its Kubernetes objects.
type ComponentSpec struct {
	Enabled bool    `json:"enabled"`
	Hub     string  `json:"hub,omitempty"`
	Tag     string  `json:"tag,omitempty"`
	K8s     K8sSpec `json:"k8s,omitzero"`
}

// GatewaySpec is one ingress or egress gateway; overlays merge gateways by name.
type GatewaySpec struct {
	Name      string            `json:"name"`
	Enabled   bool              `json:"enabled"`
	Namespace string            `json:"namespace,omitempty"` // empty means the mesh namespace
	Label     map[string]string `json:"label,omitempty"`     // pod and selector labels added to the defaults
	Hub       string            `json:"hub,omitempty"`
	Tag       string            `json:"tag,omitempty"`
	K8s       K8sSpec           `json:"k8s,omitzero"`
}

// AddonsSpec lists the observability add-ons (Istio 1.7's addonComponents).
type AddonsSpec struct {
	Kiali      AddonSpec `json:"kiali"`
	Jaeger     AddonSpec `json:"jaeger"`
	Prometheus AddonSpec `json:"prometheus"`
	Grafana    AddonSpec `json:"grafana"`
}

// AddonSpec switches an add-on on; Image overrides its public image.
type AddonSpec struct {
	Enabled bool    `json:"enabled"`
	Image   string  `json:"image,omitempty"`
	K8s     K8sSpec `json:"k8s,omitzero"`
}

// K8sSpec customises a component's Deployment and Service (IstioOperator's KubernetesResourcesSpec subset
// that Skiff honours; anything else is rejected rather than silently ignored).
type K8sSpec struct {
	ReplicaCount       int32                        `json:"replicaCount,omitempty"`
	Resources          *corev1.ResourceRequirements `json:"resources,omitempty"`
	Env                []corev1.EnvVar              `json:"env,omitempty"`
	NodeSelector       map[string]string            `json:"nodeSelector,omitempty"`
	Tolerations        []corev1.Toleration          `json:"tolerations,omitempty"`
	Affinity           *corev1.Affinity             `json:"affinity,omitempty"`
	PodAnnotations     map[string]string            `json:"podAnnotations,omitempty"`
	ServiceAnnotations map[string]string            `json:"serviceAnnotations,omitempty"`
	ImagePullPolicy    corev1.PullPolicy            `json:"imagePullPolicy,omitempty"`
	PriorityClassName  string                       `json:"priorityClassName,omitempty"`
	Strategy           *appsv1.DeploymentStrategy   `json:"strategy,omitempty"`
	Service            ServiceSpec                  `json:"service,omitzero"`
}

// ServiceSpec customises a component's Service.
type ServiceSpec struct {
	Type                     corev1.ServiceType                      `json:"type,omitempty"`
	Ports                    []corev1.ServicePort                    `json:"ports,omitempty"` // replaces the default ports
	ExternalTrafficPolicy    corev1.ServiceExternalTrafficPolicyType `json:"externalTrafficPolicy,omitempty"`
	LoadBalancerIP           string                                  `json:"loadBalancerIP,omitempty"`
	LoadBalancerSourceRanges []string                                `json:"loadBalancerSourceRanges,omitempty"`
	LoadBalancerClass        *string                                 `json:"loadBalancerClass,omitempty"`
}

// Installation names this install in the LabelInstallation label: its revision, or "default".
func (p *Profile) Installation() string {
	if p.Spec.Revision != "" {
		return p.Spec.Revision
	}
	return "default"
}
