package model

import (
	"cmp"
	"slices"

	networking "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Mesh is an immutable snapshot of the mesh. Build it with Build; never modify what its accessors return.
type Mesh struct {
	domainSuffix     string
	trustDomain      string
	rootNamespace    string
	services         []*Service
	byHost           map[string]*Service
	virtualServices  []*networkingv1.VirtualService
	destinationRules []DestinationRule
	// Indexes by resolved host; wildcard hosts are kept apart and matched by suffix.
	vsByHost              map[string][]*networkingv1.VirtualService
	vsByName              map[string]*networkingv1.VirtualService
	vsWildcard            []hostVirtualService
	drByHost              map[string][]*DestinationRule
	drWildcard            []*DestinationRule
	gateways              []*networkingv1.Gateway
	credentials           credentials
	peerAuthentications   []*securityv1.PeerAuthentication
	authorizationPolicies []*securityv1.AuthorizationPolicy
	sidecars              []*networkingv1.Sidecar
	telemetry             *telemetries // Telemetry resources and the mesh config; see telemetry.go

	// requestAuthentications are in precedence order; see RequestAuthentications.
	requestAuthentications []*securityv1.RequestAuthentication
}

// DestinationRule is a DestinationRule with its host resolved to a hostname.
type DestinationRule struct {
	Host      string
	Namespace string
	Name      string
	Spec      *networking.DestinationRule
}

// DomainSuffix is the cluster DNS domain.
func (m *Mesh) DomainSuffix() string { return m.domainSuffix }

// TrustDomain is the SPIFFE trust domain of workload identities.
func (m *Mesh) TrustDomain() string { return m.trustDomain }

// SPIFFEIdentities are the identities of a service's endpoints, sorted and without duplicates.
func (m *Mesh) SPIFFEIdentities(svc *Service) []string {
	seen := map[string]bool{}
	var out []string
	for _, ep := range svc.Endpoints {
		if ep.ServiceAccount == "" || seen[ep.ServiceAccount] {
			continue
		}
		seen[ep.ServiceAccount] = true
		out = append(out, "spiffe://"+m.trustDomain+"/ns/"+svc.Namespace+"/sa/"+ep.ServiceAccount)
	}
	slices.Sort(out)
	return out
}

// Services are all services, sorted by hostname.
func (m *Mesh) Services() []*Service { return m.services }

// Service finds a service by hostname.
func (m *Mesh) Service(hostname string) *Service { return m.byHost[hostname] }

// VirtualService finds a VirtualService by namespace and name (delegation targets).
func (m *Mesh) VirtualService(namespace, name string) *networkingv1.VirtualService {
	return m.vsByName[namespace+"/"+name]
}

// VirtualServices are in Istio's precedence order: oldest first, then namespace/name.
func (m *Mesh) VirtualServices() []*networkingv1.VirtualService { return m.virtualServices }

// Gateways are all Gateway resources in precedence order.
func (m *Mesh) Gateways() []*networkingv1.Gateway { return m.gateways }

// PeerAuthentications are all PeerAuthentication resources in precedence order.
func (m *Mesh) PeerAuthentications() []*securityv1.PeerAuthentication { return m.peerAuthentications }

type hostVirtualService struct {
	host string
	vs   *networkingv1.VirtualService
}

// VirtualServicesFor lists the VirtualServices whose hosts cover hostname: exact hosts first, then
// wildcards, each in precedence order.
func (m *Mesh) VirtualServicesFor(hostname string) []*networkingv1.VirtualService {
	out := m.vsByHost[hostname]
	for _, w := range m.vsWildcard {
		if HostMatches(w.host, hostname) {
			out = append(out[:len(out):len(out)], w.vs)
		}
	}
	return out
}

// DestinationRuleFor picks the DestinationRule that applies to hostname for a proxy in proxyNamespace,
// among those exported to it, as Istio does: a rule in the proxy's namespace wins, then one in the service's namespace, then any other;
// an exact host beats a wildcard. Nil when none applies.
func (m *Mesh) DestinationRuleFor(hostname, proxyNamespace string) *DestinationRule {
	svcNamespace := ""
	if s := m.byHost[hostname]; s != nil {
		svcNamespace = s.Namespace
	}
	var best *DestinationRule
	bestRank := 1 << 30
	consider := func(dr *DestinationRule) {
		if !Visible(dr.Spec.GetExportTo(), dr.Namespace, proxyNamespace) {
			return
		}
		rank := 4
		switch dr.Namespace {
		case proxyNamespace:
			rank = 0
		case svcNamespace:
			rank = 2
		}
		if dr.Host != hostname {
			rank++
		}
		if rank < bestRank {
			best, bestRank = dr, rank
		}
	}
	for _, dr := range m.drByHost[hostname] {
		consider(dr)
	}
	for _, dr := range m.drWildcard {
		if HostMatches(dr.Host, hostname) {
			consider(dr)
		}
	}
	return best
}

// OlderFirst orders config the way Istio does when two objects conflict: creation time, then namespace/name.
func OlderFirst(a, b metav1.Object) int {
	if c := a.GetCreationTimestamp().Compare(b.GetCreationTimestamp().Time); c != 0 {
		return c
	}
	return cmp.Or(cmp.Compare(a.GetNamespace(), b.GetNamespace()), cmp.Compare(a.GetName(), b.GetName()))
}

func sortedConfig[T metav1.Object](in []T) []T {
	out := slices.Clone(in)
	slices.SortStableFunc(out, func(a, b T) int { return OlderFirst(a, b) })
	return out
}
