package analyze

import (
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// servicesByNamespace groups decoded Services by namespace.
func servicesByNamespace(s *Snapshot) map[string][]*Resource {
	out := map[string][]*Resource{}
	for _, r := range s.Kind("Service") {
		if ServiceSpec(r) != nil {
			out[r.Key.Namespace] = append(out[r.Key.Namespace], r)
		}
	}
	return out
}

// gatewayAnalyzer reports Gateways whose selector matches no workload (IST0101) and servers on ports that
// no Service in front of the selected workloads exposes (IST0104).
func gatewayAnalyzer() Analyzer {
	return Analyzer{
		Name:        "gateway.IngressGatewayPortAnalyzer",
		Description: "Checks a gateway's ports against the gateway's Kubernetes service ports",
		Codes:       []MessageType{ReferencedResourceNotFound, GatewayPortNotOnWorkload},
		Run: func(s *Snapshot, report func(Message)) {
			svcs := servicesByNamespace(s)
			for _, r := range s.Kind("Gateway") {
				gw := gateway(r)
				if gw == nil {
					continue
				}
				matches := s.WorkloadsMatching("", gw.GetSelector())
				sel := selectorString(gw.GetSelector())
				if len(matches) == 0 {
					report(newMessage(ReferencedResourceNotFound, r, r.Line("spec", "selector"), "selector", sel))
					continue
				}
				ports := map[uint32]bool{}
				for _, w := range matches {
					for _, svcRes := range svcs[w.Key.Namespace] {
						svc := ServiceSpec(svcRes)
						if len(svc.Spec.Selector) == 0 || !labelsMatch(svc.Spec.Selector, w.Template.Labels) {
							continue
						}
						for _, p := range svc.Spec.Ports {
							if p.Protocol != "" && p.Protocol != corev1.ProtocolTCP {
								continue
							}
							ports[uint32(p.Port)] = true
							if tp := p.TargetPort.IntValue(); tp != 0 {
								ports[uint32(tp)] = true
							}
						}
					}
				}
				for i, srv := range gw.GetServers() {
					if n := srv.GetPort().GetNumber(); n != 0 && !ports[n] {
						report(newMessage(GatewayPortNotOnWorkload, r, r.Line("spec", "servers", i, "port", "number"), sel, n))
					}
				}
			}
		},
	}
}

// gatewayHost strips the "namespace/" prefix a Gateway server host may carry.
func gatewayHost(h string) string {
	if _, host, ok := strings.Cut(h, "/"); ok {
		return host
	}
	return h
}

// conflictingGatewaysAnalyzer reports Gateways that select the same workloads and declare the same port with
// overlapping hosts (IST0145).
func conflictingGatewaysAnalyzer() Analyzer {
	return Analyzer{
		Name:        "gateway.ConflictingGatewayAnalyzer",
		Description: "Checks a gateway's selector, port number and hosts",
		Codes:       []MessageType{ConflictingGateways},
		Run: func(s *Snapshot, report func(Message)) {
			type entry struct {
				r     *Resource
				hosts []string
				line  int
			}
			groups := map[string][]entry{}
			var order []string
			for _, r := range s.Kind("Gateway") {
				gw := gateway(r)
				if gw == nil {
					continue
				}
				sel := selectorString(gw.GetSelector())
				for i, srv := range gw.GetServers() {
					key := sel + "~" + itoa(int(srv.GetPort().GetNumber()))
					if _, ok := groups[key]; !ok {
						order = append(order, key)
					}
					groups[key] = append(groups[key], entry{r: r, hosts: srv.GetHosts(), line: r.Line("spec", "servers", i, "port")})
				}
			}
			for _, key := range order {
				es := groups[key]
				sel, port, _ := strings.Cut(key, "~")
				for i, a := range es {
					var conflicts []string
					var hosts []string
					for j, b := range es {
						if i == j || a.r == b.r {
							continue
						}
						if h := overlappingHosts(a.hosts, b.hosts); len(h) > 0 {
							conflicts = append(conflicts, b.r.Key.Namespace+"/"+b.r.Key.Name)
							hosts = append(hosts, h...)
						}
					}
					if len(conflicts) > 0 {
						report(newMessage(ConflictingGateways, a.r, a.line, strings.Join(conflicts, ","), sel, port, strings.Join(dedupeStrings(hosts), ",")))
					}
				}
			}
		},
	}
}

func overlappingHosts(a, b []string) []string {
	var out []string
	for _, x := range a {
		for _, y := range b {
			if hostsOverlap(gatewayHost(x), gatewayHost(y)) {
				out = append(out, gatewayHost(x))
			}
		}
	}
	return out
}

func dedupeStrings(in []string) []string {
	set := map[string]bool{}
	out := in[:0:0]
	for _, s := range in {
		if !set[s] {
			set[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// gatewayCertificateAnalyzer reports Gateways on the same workloads that serve the same certificate (IST0138).
func gatewayCertificateAnalyzer() Analyzer {
	return Analyzer{
		Name:        "gateway.CertificateAnalyzer",
		Description: "Checks a gateway certificate",
		Codes:       []MessageType{GatewayDuplicateCertificate},
		Run: func(s *Snapshot, report func(Message)) {
			users := map[string][]*Resource{}
			lines := map[*Resource]int{}
			for _, r := range s.Kind("Gateway") {
				gw := gateway(r)
				if gw == nil {
					continue
				}
				for i, srv := range gw.GetServers() {
					tls := srv.GetTls()
					cert := tls.GetCredentialName()
					if cert == "" && tls.GetServerCertificate() != "" {
						cert = tls.GetServerCertificate() + "|" + tls.GetPrivateKey()
					}
					if cert == "" {
						continue
					}
					key := selectorString(gw.GetSelector()) + "~" + cert
					if rs := users[key]; len(rs) == 0 || rs[len(rs)-1] != r {
						users[key] = append(users[key], r)
					}
					if _, ok := lines[r]; !ok {
						lines[r] = r.Line("spec", "servers", i, "tls")
					}
				}
			}
			reported := map[*Resource]bool{}
			for _, key := range sortedKeys(users) {
				rs := users[key]
				if len(rs) < 2 {
					continue
				}
				names := resourceNames(rs)
				for _, r := range rs {
					if !reported[r] {
						reported[r] = true
						report(newMessage(GatewayDuplicateCertificate, r, lines[r], strings.Join(names, ", ")))
					}
				}
			}
		},
	}
}
