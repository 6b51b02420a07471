package install

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Values are Istio's Helm-style install values that Skiff understands. The injector reads them too: the
// istio-sidecar-injector ConfigMap carries them as JSON under "values", as Istio's does.
type Values struct {
	Revision               string                `json:"revision,omitempty"` // mirrors spec.revision
	Global                 GlobalValues          `json:"global,omitzero"`
	Pilot                  PilotValues           `json:"pilot,omitzero"`
	SidecarInjectorWebhook SidecarInjectorValues `json:"sidecarInjectorWebhook,omitzero"`
	IstioCNI               EnabledValue          `json:"istio_cni,omitzero"` // a CNI plugin already redirects traffic: no init container
	// Gateways is Istio's older per-gateway form (values.gateways.istio-ingressgateway.type=NodePort), kept
	// for runbooks; resolving a profile folds it into spec.components and empties it.
	Gateways map[string]GatewayValues `json:"gateways,omitempty"`
}

// GatewayValues customise one gateway, named by the key in values.gateways.
type GatewayValues struct {
	Type                     corev1.ServiceType                      `json:"type,omitempty"`
	Ports                    []corev1.ServicePort                    `json:"ports,omitempty"`
	Labels                   map[string]string                       `json:"labels,omitempty"`
	ServiceAnnotations       map[string]string                       `json:"serviceAnnotations,omitempty"`
	PodAnnotations           map[string]string                       `json:"podAnnotations,omitempty"`
	Resources                *corev1.ResourceRequirements            `json:"resources,omitempty"`
	NodeSelector             map[string]string                       `json:"nodeSelector,omitempty"`
	Tolerations              []corev1.Toleration                     `json:"tolerations,omitempty"`
	Env                      map[string]string                       `json:"env,omitempty"`
	LoadBalancerIP           string                                  `json:"loadBalancerIP,omitempty"`
	LoadBalancerSourceRanges []string                                `json:"loadBalancerSourceRanges,omitempty"`
	ExternalTrafficPolicy    corev1.ServiceExternalTrafficPolicyType `json:"externalTrafficPolicy,omitempty"`
}

// EnabledValue is a values switch.
type EnabledValue struct {
	Enabled bool `json:"enabled"`
}

// GlobalValues apply to every component and to injected sidecars.
type GlobalValues struct {
	Hub                 string                       `json:"hub,omitempty"`
	Tag                 string                       `json:"tag,omitempty"`
	ImagePullPolicy     corev1.PullPolicy            `json:"imagePullPolicy,omitempty"`
	ImagePullSecrets    []string                     `json:"imagePullSecrets,omitempty"`
	IstioNamespace      string                       `json:"istioNamespace,omitempty"`
	TrustDomain         string                       `json:"trustDomain,omitempty"`
	CAAddress           string                       `json:"caAddress,omitempty"`         // where sidecars get certificates; default the controller
	PilotCertProvider   string                       `json:"pilotCertProvider,omitempty"` // istiod`
	Logging             LoggingValues                `json:"logging,omitzero"`
	LogAsJSON           bool                         `json:"logAsJson,omitempty"`
	MeshID              string                       `json:"meshID,omitempty"`
	Network             string                       `json:"network,omitempty"`
	MultiCluster        MultiClusterValues           `json:"multiCluster,omitzero"`
	PriorityClassName   string                       `json:"priorityClassName,omitempty"`
	DefaultNodeSelector map[string]string            `json:"defaultNodeSelector,omitempty"`
	DefaultResources    *corev1.ResourceRequirements `json:"defaultResources,omitempty"`
	Proxy               ProxyValues                  `json:"proxy,omitzero"`
	ProxyInit           ProxyInitValues              `json:"proxy_init,omitzero"`
}

// LoggingValues sets the control plane's log level, in Istio's "scope:level,..." form.
type LoggingValues struct {
	Level string `json:"level,omitempty"`
}

// MultiClusterValues names this cluster.
type MultiClusterValues struct {
	ClusterName string `json:"clusterName,omitempty"`
}

// ProxyValues configure the sidecar and gateway proxies.
type ProxyValues struct {
	Image                           string                       `json:"image,omitempty"`
	LogLevel                        string                       `json:"logLevel,omitempty"`
	ComponentLogLevel               string                       `json:"componentLogLevel,omitempty"`
	ClusterDomain                   string                       `json:"clusterDomain,omitempty"`
	Resources                       *corev1.ResourceRequirements `json:"resources,omitempty"`
	Privileged                      bool                         `json:"privileged,omitempty"`
	HoldApplicationUntilProxyStarts bool                         `json:"holdApplicationUntilProxyStarts,omitempty"`
	EnableCoreDump                  bool                         `json:"enableCoreDump,omitempty"`
	IncludeIPRanges                 string                       `json:"includeIPRanges,omitempty"`
	ExcludeIPRanges                 string                       `json:"excludeIPRanges,omitempty"`
	IncludeInboundPorts             string                       `json:"includeInboundPorts,omitempty"`
	ExcludeInboundPorts             string                       `json:"excludeInboundPorts,omitempty"`
	IncludeOutboundPorts            string                       `json:"includeOutboundPorts,omitempty"`
	ExcludeOutboundPorts            string                       `json:"excludeOutboundPorts,omitempty"`
	StatusPort                      int32                        `json:"statusPort,omitempty"`
	ReadinessInitialDelaySeconds    int32                        `json:"readinessInitialDelaySeconds,omitempty"`
	ReadinessPeriodSeconds          int32                        `json:"readinessPeriodSeconds,omitempty"`
	ReadinessFailureThreshold       int32                        `json:"readinessFailureThreshold,omitempty"`
	Tracer                          string                       `json:"tracer,omitempty"`
	StartupProbe                    *StartupProbeValues          `json:"startupProbe,omitempty"`
}

// StartupProbeValues configure the sidecar's startup probe.
type StartupProbeValues struct {
	Enabled          bool  `json:"enabled"`
	FailureThreshold int32 `json:"failureThreshold,omitempty"`
}

// ProxyInitValues configure the init container that redirects traffic to the sidecar.
type ProxyInitValues struct {
	Image     string                       `json:"image,omitempty"`
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`
}

// PilotValues configure the controller (istiod).
type PilotValues struct {
	Image string `json:"image,omitempty"` // full image reference; overrides <hub>/skiff:<tag>
	// TraceSampling is the percentage (0-100) of requests traced, Istio's values.pilot.traceSampling.
	TraceSampling float64           `json:"traceSampling,omitempty"`
	Env           map[string]string `json:"env,omitempty"`
	CNI           EnabledValue      `json:"cni,omitzero"`
}

// SidecarInjectorValues configure automatic sidecar injection.
type SidecarInjectorValues struct {
	// EnableNamespacesByDefault injects every namespace not labelled istio-injection=disabled.
	EnableNamespacesByDefault bool                   `json:"enableNamespacesByDefault,omitempty"`
	RewriteAppHTTPProbe       bool                   `json:"rewriteAppHTTPProbe,omitempty"`
	NeverInjectSelector       []metav1.LabelSelector `json:"neverInjectSelector,omitempty"`
	AlwaysInjectSelector      []metav1.LabelSelector `json:"alwaysInjectSelector,omitempty"`
	InjectedAnnotations       map[string]string      `json:"injectedAnnotations,omitempty"`
	ReinvocationPolicy        string                 `json:"reinvocationPolicy,omitempty"`
}
