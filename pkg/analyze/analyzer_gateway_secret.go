package analyze

import (
	"fmt"

	networking "istio.io/api/networking/v1alpha3"
	corev1 "k8s.io/api/core/v1"

	"skiff.dev/skiff/pkg/model"
)

// gatewaySecretAnalyzer checks the Secrets that terminating Gateway servers name in credentialName(s), in
// the namespaces of the gateway workloads (where the gateway reads them, not the Gateway's namespace): a
// missing Secret is IST0101, as in Istio's gateway.SecretAnalyzer; one the gateway could not serve
// (model's parsing, the same as the controller's) is IST0161. Missing Secrets are only reported when the
// input includes Secrets: files without them say nothing about what the cluster holds.
func gatewaySecretAnalyzer() Analyzer {
	return Analyzer{
		Name:        "gateway.SecretAnalyzer",
		Description: "Checks a gateway's referenced secrets for correctness",
		Codes:       []MessageType{ReferencedResourceNotFound, InvalidGatewayCredential},
		Run: func(s *Snapshot, report func(Message)) {
			for _, r := range s.Kind("Gateway") {
				gw := gateway(r)
				if gw == nil {
					continue
				}
				// No workload: gateway.IngressGatewayPortAnalyzer reports the selector.
				namespaces := workloadNamespaces(s.WorkloadsMatching("", gw.GetSelector()))
				for i, srv := range gw.GetServers() {
					checkServerCredentials(s, r, i, srv.GetTls(), namespaces, report)
				}
			}
		},
	}
}

func checkServerCredentials(s *Snapshot, r *Resource, i int, tls *networking.ServerTLSSettings, namespaces []string, report func(Message)) {
	mode := tls.GetMode()
	if mode != networking.ServerTLSSettings_SIMPLE && mode != networking.ServerTLSSettings_MUTUAL &&
		mode != networking.ServerTLSSettings_OPTIONAL_MUTUAL {
		return // no credential read (PASSTHROUGH, ISTIO_MUTUAL) or the server is not served anyway
	}
	type ref struct {
		name string
		line int
	}
	var refs []ref
	if cn := tls.GetCredentialName(); cn != "" {
		refs = []ref{{cn, r.Line("spec", "servers", i, "tls", "credentialName")}}
	} else {
		for j, cn := range tls.GetCredentialNames() {
			refs = append(refs, ref{cn, r.Line("spec", "servers", i, "tls", "credentialNames", j)})
		}
	}
	// The message names the Gateway's own namespace; the reason names the Secret, in the workload's.
	invalid := func(line int, reason string) {
		m := newMessage(InvalidGatewayCredential, r, line, r.Key.Name, r.Key.Namespace)
		m.Text += " Reason: " + reason
		report(m)
	}
	servable := true
	for _, ref := range refs {
		name, ok := model.CredentialSecretName(ref.name)
		if !ok {
			// Decided by the reference alone, so reported even without Secrets in the input.
			invalid(ref.line, fmt.Sprintf("credentialName %q: Skiff serves only Secrets in the gateway workload's namespace, named without a namespace or scheme.", ref.name))
			servable = false
			continue
		}
		if !s.SecretsKnown {
			continue
		}
		for _, ns := range namespaces {
			sec := s.secret(ns, name)
			if sec == nil {
				m := newMessage(ReferencedResourceNotFound, r, ref.line, "credentialName", ref.name)
				m.Text += fmt.Sprintf(" (no Secret %s/%s in the gateway workload's namespace)", ns, name)
				report(m)
				servable = false
				continue
			}
			if _, err := model.ParseServerCredential(sec); err != nil {
				invalid(ref.line, err.Error()+".")
				servable = false
			}
		}
	}
	if !servable || !s.SecretsKnown || len(refs) == 0 || mode == networking.ServerTLSSettings_SIMPLE {
		return
	}
	// The client CA, from the first credential only (Istio's rule): <name>-cacert, else the Secret itself.
	name, _ := model.CredentialSecretName(refs[0].name)
	for _, ns := range namespaces {
		sec := s.secret(ns, name+model.CACertSuffix)
		if sec == nil {
			sec = s.secret(ns, name)
		}
		if sec == nil {
			continue
		}
		if _, err := model.ParseCACredential(sec); err != nil {
			invalid(refs[0].line, fmt.Sprintf("%s needs a client CA in Secret %s/%s%s or in %s/%s: %v.", mode, ns, name, model.CACertSuffix, ns, name, err))
		}
	}
}

// secret returns the decoded Secret ns/name, nil when the input has none.
func (s *Snapshot) secret(ns, name string) *corev1.Secret {
	r := s.byKey[Key{Kind: "Secret", Namespace: ns, Name: name}]
	if r == nil {
		return nil
	}
	sec, _ := r.Object.(*corev1.Secret)
	return sec
}

// workloadNamespaces lists the distinct namespaces of workloads, in order.
func workloadNamespaces(ws []*Resource) []string {
	var out []string
	seen := map[string]bool{}
	for _, w := range ws {
		if !seen[w.Key.Namespace] {
			seen[w.Key.Namespace] = true
			out = append(out, w.Key.Namespace)
		}
	}
	return out
}
