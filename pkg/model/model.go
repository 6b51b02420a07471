// Package model is Skiff's immutable view of the mesh: the services and endpoints taken from Kubernetes
// (Services, EndpointSlices, Pods) and ServiceEntries, plus the Istio configuration that shapes traffic.
// A Mesh is built once from an Input and never changed; a change in the cluster builds a new Mesh.
// That makes translation to xDS a pure function of (Mesh, Proxy) that is safe to run concurrently.
package model

import (
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	telemetryv1 "istio.io/client-go/pkg/apis/telemetry/v1"
)

// DefaultDomainSuffix is the cluster DNS domain Kubernetes service hostnames end with.
const DefaultDomainSuffix = "cluster.local"

// Resolution says how a proxy finds a service's endpoints.
type Resolution int

const (
	// ResolutionEDS: the control plane lists the endpoints (Kubernetes services, STATIC ServiceEntries).
	ResolutionEDS Resolution = iota
	// ResolutionDNS: the proxy resolves the endpoints' hostnames itself (DNS ServiceEntries).
	ResolutionDNS
	// ResolutionPassthrough: traffic goes to the address the client asked for (NONE ServiceEntries).
	ResolutionPassthrough
)

// Service is one hostname with its ports and the endpoints behind it.
type Service struct {
	Hostname  string
	Name      string
	Namespace string
	// Address is the virtual IP (ClusterIP, ServiceEntry address); empty when there is none.
	Address    string
	Ports      []Port
	Resolution Resolution
	// External marks ServiceEntries with location MESH_EXTERNAL.
	External  bool
	Endpoints []Endpoint
	// ExportTo limits which namespaces see the service (see Visible); empty means all.
	ExportTo []string
}

// Port is one service port.
type Port struct {
	Name     string
	Number   uint32
	Protocol Protocol
}

// Endpoint is one backend of a service. Ports maps a service port name to the port the backend listens on.
type Endpoint struct {
	Address        string
	Ports          map[string]uint32
	Labels         map[string]string
	Zone           string
	ServiceAccount string
	// Weight is the relative load-balancing weight (ServiceEntry endpoints); 0 means 1.
	Weight uint32
}

// TargetPort is the port an endpoint listens on for the service port p; 0 when the endpoint does not serve p.
func (e *Endpoint) TargetPort(p Port) uint32 {
	if tp, ok := e.Ports[p.Name]; ok {
		return tp
	}
	return 0
}

// Proxy is the client of the control plane the resources are generated for.
type Proxy struct {
	ID        string
	Type      ProxyType
	Namespace string
	Labels    map[string]string
	IP        string
	// InboundListeners are the server listener names a proxyless gRPC server asked for
	// (xds.istio.io/grpc/lds/inbound/<ip>:<port>); their ports are only known from the request.
	InboundListeners []string
}

// ProxyType picks the shape of the generated configuration.
type ProxyType int

const (
	// Sidecar is an Envoy next to a workload: port listeners, route configurations per port.
	Sidecar ProxyType = iota
	// Router is a gateway Envoy (istio: ingressgateway).
	Router
	// ProxylessGRPC is a proxyless gRPC client: API listeners named host:port, one route configuration each.
	ProxylessGRPC
)

func (t ProxyType) String() string {
	switch t {
	case Router:
		return "router"
	case ProxylessGRPC:
		return "grpc"
	default:
		return "sidecar"
	}
}

// Input is everything a Mesh is built from, as the Kubernetes and Istio API types.
type Input struct {
	Services               []*corev1.Service
	EndpointSlices         []*discoveryv1.EndpointSlice
	Pods                   []*corev1.Pod
	VirtualServices        []*networkingv1.VirtualService
	DestinationRules       []*networkingv1.DestinationRule
	ServiceEntries         []*networkingv1.ServiceEntry
	Gateways               []*networkingv1.Gateway
	PeerAuthentications    []*securityv1.PeerAuthentication
	AuthorizationPolicies  []*securityv1.AuthorizationPolicy
	Sidecars               []*networkingv1.Sidecar
	RequestAuthentications []*securityv1.RequestAuthentication
	Telemetries            []*telemetryv1.Telemetry
	// Secrets hold the TLS credentials Gateways name in credentialName, in Istio's formats (see secret.go);
	// served over SDS only to gateway workloads of the Secret's namespace.
	Secrets []*corev1.Secret
	// DomainSuffix defaults to DefaultDomainSuffix.
	DomainSuffix string
	// TrustDomain is the SPIFFE trust domain of workload identities; defaults to DefaultTrustDomain.
	TrustDomain string
	// RootNamespace holds mesh-wide policy; defaults to DefaultRootNamespace.
	RootNamespace string
	// MeshConfig is the mesh config (the istio ConfigMap's "mesh" key): Telemetry providers and the legacy
	// access log and tracing settings. Nil means Istio's zero values (no access logs, no tracing).
	MeshConfig *meshv1alpha1.MeshConfig
}

// DefaultTrustDomain is Istio's default SPIFFE trust domain.
const DefaultTrustDomain = "cluster.local"
