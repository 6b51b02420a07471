package analyze

import (
	"fmt"

	networking "istio.io/api/networking/v1alpha3"
	security "istio.io/api/security/v1beta1"
)

// Analyzer is one check over the snapshot.
type Analyzer struct {
	// Name follows istioctl's "area.NameAnalyzer" so -L output reads familiar.
	Name        string
	Description string
	// Codes are the message types it can report.
	Codes []MessageType
	Run   func(s *Snapshot, report func(Message))
}

// Analyzers returns every analyzer, in the order they run.
func Analyzers() []Analyzer {
	return []Analyzer{
		annotationsAnalyzer(),
		injectionAnalyzer(),
		namespaceAnalyzer(),
		gatewayAnalyzer(),
		conflictingGatewaysAnalyzer(),
		gatewayCertificateAnalyzer(),
		gatewaySecretAnalyzer(),
		gatewayAutoPassthroughAnalyzer(),
		virtualServiceReferencesAnalyzer(),
		virtualServiceRulesAnalyzer(),
		virtualServiceRegexAnalyzer(),
		virtualServiceWeightsAnalyzer(),
		meshGatewayHostsAnalyzer(),
		destinationRuleAnalyzer(),
		mtlsConflictAnalyzer(),
		peerAuthenticationAnalyzer(),
		sidecarSelectorAnalyzer(),
		selectorAnalyzer(),
		servicePortsAnalyzer(),
		deploymentServicesAnalyzer(),
		serviceEntryAnalyzer(),
		applicationUIDAnalyzer(),
		envoyFilterAnalyzer(),
		authorizationPolicyAnalyzer(),
		validationAnalyzer(),
	}
}

// runAnalyzers runs every analyzer and turns a panicking analyzer into an InternalError message instead of
// crashing the command.
func runAnalyzers(s *Snapshot) []Message {
	var out []Message
	report := func(m Message) { out = append(out, m) }
	for _, a := range Analyzers() {
		func() {
			defer func() {
				if p := recover(); p != nil {
					out = append(out, Message{Type: InternalError, Text: fmt.Sprintf(InternalError.Template, fmt.Sprintf("analyzer %s: %v", a.Name, p))})
				}
			}()
			a.Run(s, report)
		}()
	}
	// Synthetic objects (the offline default ingress gateway) are never reported on.
	kept := out[:0]
	for _, m := range out {
		if r := s.byKeyLookup(m.Key); r != nil && r.Origin.Synthetic {
			continue
		}
		kept = append(kept, m)
	}
	return kept
}

func (s *Snapshot) byKeyLookup(k Key) *Resource { return s.byKey[k] }

// Typed accessors: nil when the object's spec could not be decoded (a schema error is reported instead).

func virtualService(r *Resource) *networking.VirtualService {
	v, _ := r.Spec.(*networking.VirtualService)
	return v
}

func destinationRule(r *Resource) *networking.DestinationRule {
	v, _ := r.Spec.(*networking.DestinationRule)
	return v
}

func gateway(r *Resource) *networking.Gateway {
	v, _ := r.Spec.(*networking.Gateway)
	return v
}

func serviceEntry(r *Resource) *networking.ServiceEntry {
	v, _ := r.Spec.(*networking.ServiceEntry)
	return v
}

func sidecar(r *Resource) *networking.Sidecar {
	v, _ := r.Spec.(*networking.Sidecar)
	return v
}

func envoyFilter(r *Resource) *networking.EnvoyFilter {
	v, _ := r.Spec.(*networking.EnvoyFilter)
	return v
}

func authorizationPolicy(r *Resource) *security.AuthorizationPolicy {
	v, _ := r.Spec.(*security.AuthorizationPolicy)
	return v
}

func peerAuthentication(r *Resource) *security.PeerAuthentication {
	v, _ := r.Spec.(*security.PeerAuthentication)
	return v
}

func requestAuthentication(r *Resource) *security.RequestAuthentication {
	v, _ := r.Spec.(*security.RequestAuthentication)
	return v
}

func serviceEntryHosts(r *Resource) []string {
	if se := serviceEntry(r); se != nil {
		return se.GetHosts()
	}
	return nil
}
