package analyze

import (
	"fmt"

	networking "istio.io/api/networking/v1alpha3"
	security "istio.io/api/security/v1beta1"
)

// destinationRuleAnalyzer reports TLS origination without server verification (IST0128, IST0129) and subsets
// whose labels select none of the host's workloads (SKF0003).
func destinationRuleAnalyzer() Analyzer {
	return Analyzer{
		Name:        "destinationrule.CaCertificateAnalyzer",
		Description: "Checks DestinationRule TLS settings and subsets",
		Codes: []MessageType{NoServerCertificateVerificationDestinationLevel, NoServerCertificateVerificationPortLevel,
			SubsetLabelsMatchNoWorkload},
		Run: func(s *Snapshot, report func(Message)) {
			for _, r := range s.Kind("DestinationRule") {
				dr := destinationRule(r)
				if dr == nil {
					continue
				}
				tp := dr.GetTrafficPolicy()
				if mode, ok := unverifiedTLS(tp.GetTls()); ok {
					report(newMessage(NoServerCertificateVerificationDestinationLevel, r, r.Line("spec", "trafficPolicy", "tls", "mode"),
						r.Key.Name, r.Key.Namespace, mode, dr.GetHost()))
				}
				for i, pl := range tp.GetPortLevelSettings() {
					if mode, ok := unverifiedTLS(pl.GetTls()); ok {
						report(newMessage(NoServerCertificateVerificationPortLevel, r,
							r.Line("spec", "trafficPolicy", "portLevelSettings", i, "tls", "mode"),
							r.Key.Name, r.Key.Namespace, mode, dr.GetHost(), fmt.Sprint(pl.GetPort().GetNumber())))
					}
				}
				checkSubsetLabels(s, r, dr, report)
			}
		},
	}
}

func unverifiedTLS(tls *networking.ClientTLSSettings) (string, bool) {
	if tls == nil {
		return "", false
	}
	mode := tls.GetMode()
	if mode != networking.ClientTLSSettings_SIMPLE && mode != networking.ClientTLSSettings_MUTUAL {
		return "", false
	}
	if tls.GetCaCertificates() != "" || tls.GetCredentialName() != "" || tls.GetInsecureSkipVerify().GetValue() {
		return "", false
	}
	return mode.String(), true
}

// checkSubsetLabels only judges hosts whose Service selects at least one known workload: with no workloads
// in the input (a file holding only networking config) there is nothing to compare against.
func checkSubsetLabels(s *Snapshot, r *Resource, dr *networking.DestinationRule, report func(Message)) {
	svcRes := s.Service(s.FQDN(dr.GetHost(), r.Key.Namespace))
	svc := ServiceSpec(svcRes)
	if svc == nil || len(svc.Spec.Selector) == 0 {
		return
	}
	workloads := s.WorkloadsMatching(svcRes.Key.Namespace, svc.Spec.Selector)
	if len(workloads) == 0 {
		return
	}
	for i, ss := range dr.GetSubsets() {
		if len(ss.GetLabels()) == 0 {
			continue
		}
		matched := false
		for _, w := range workloads {
			if labelsMatch(ss.GetLabels(), w.Template.Labels) {
				matched = true
				break
			}
		}
		if !matched {
			report(newMessage(SubsetLabelsMatchNoWorkload, r, r.Line("spec", "subsets", i, "labels"),
				ss.GetName(), dr.GetHost(), selectorString(ss.GetLabels()), svcRes.Key.Namespace+"/"+svcRes.Key.Name))
		}
	}
}

// mtlsConflictAnalyzer reports DestinationRules that disable TLS towards a namespace where a
// PeerAuthentication (namespace-wide, or mesh-wide in the root namespace) requires STRICT mTLS (IST0113).
func mtlsConflictAnalyzer() Analyzer {
	return Analyzer{
		Name:        "auth.MTLSAnalyzer",
		Description: "Checks for conflicts between PeerAuthentication mTLS modes and DestinationRule TLS settings",
		Codes:       []MessageType{MTLSPolicyConflict},
		Run: func(s *Snapshot, report func(Message)) {
			// Namespace-wide policies (no selector); the root namespace's applies mesh-wide.
			policies := map[string]*Resource{}
			for _, r := range s.Kind("PeerAuthentication") {
				pa := peerAuthentication(r)
				if pa == nil || len(pa.GetSelector().GetMatchLabels()) > 0 {
					continue
				}
				if prev := policies[r.Key.Namespace]; prev == nil || r.Key.Name < prev.Key.Name {
					policies[r.Key.Namespace] = r
				}
			}
			effective := func(ns string) (*Resource, bool) {
				for _, candidate := range []string{ns, s.MeshNamespace} {
					if pr := policies[candidate]; pr != nil {
						mode := peerAuthentication(pr).GetMtls().GetMode()
						if mode == security.PeerAuthentication_MutualTLS_UNSET {
							continue
						}
						return pr, mode == security.PeerAuthentication_MutualTLS_STRICT
					}
				}
				return nil, false
			}
			for _, r := range s.Kind("DestinationRule") {
				dr := destinationRule(r)
				if dr == nil {
					continue
				}
				svc := s.Service(s.FQDN(dr.GetHost(), r.Key.Namespace))
				if svc == nil {
					continue
				}
				pa, strict := effective(svc.Key.Namespace)
				if !strict {
					continue
				}
				paName := pa.Key.Namespace + "/" + pa.Key.Name
				tp := dr.GetTrafficPolicy()
				if tp.GetTls() != nil && tp.GetTls().GetMode() == networking.ClientTLSSettings_DISABLE {
					report(newMessage(MTLSPolicyConflict, r, r.Line("spec", "trafficPolicy", "tls", "mode"),
						dr.GetHost(), r.Key.Namespace+"/"+r.Key.Name, false, paName, "STRICT"))
				}
				for i, pl := range tp.GetPortLevelSettings() {
					if pl.GetTls() != nil && pl.GetTls().GetMode() == networking.ClientTLSSettings_DISABLE {
						report(newMessage(MTLSPolicyConflict, r, r.Line("spec", "trafficPolicy", "portLevelSettings", i, "tls", "mode"),
							fmt.Sprintf("%s:%d", dr.GetHost(), pl.GetPort().GetNumber()), r.Key.Namespace+"/"+r.Key.Name, false, paName, "STRICT"))
					}
				}
			}
		},
	}
}
