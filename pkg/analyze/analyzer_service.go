package analyze

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// protocolFromPortName follows Istio's port naming convention: "<protocol>[-<suffix>]".
func protocolFromPortName(name string) (string, bool) {
	prefix, _, _ := strings.Cut(strings.ToLower(name), "-")
	switch prefix {
	case "http", "http2", "https", "grpc", "grpc-web", "tcp", "tls", "udp", "mongo", "mysql", "redis", "http_proxy":
		return prefix, true
	}
	if strings.HasPrefix(strings.ToLower(name), "grpc-web") {
		return "grpc-web", true
	}
	return "", false
}

// servicePortsAnalyzer reports Service ports whose protocol Istio would have to guess (IST0118).
func servicePortsAnalyzer() Analyzer {
	return Analyzer{
		Name:        "service.PortNameAnalyzer",
		Description: "Checks the port names associated with each service",
		Codes:       []MessageType{PortNameIsNotUnderNamingConvention},
		Run: func(s *Snapshot, report func(Message)) {
			for _, r := range s.Kind("Service") {
				svc := ServiceSpec(r)
				if svc == nil || systemNamespace(r.Key.Namespace, s.MeshNamespace) {
					continue
				}
				for i, p := range svc.Spec.Ports {
					if p.AppProtocol != nil && *p.AppProtocol != "" || p.Protocol == corev1.ProtocolUDP || p.Protocol == corev1.ProtocolSCTP {
						continue
					}
					if _, ok := protocolFromPortName(p.Name); !ok {
						report(newMessage(PortNameIsNotUnderNamingConvention, r, r.Line("spec", "ports", i), p.Name, p.Port, p.TargetPort.String()))
					}
				}
			}
		},
	}
}

// deploymentServicesAnalyzer reports workload controllers selected by several Services that disagree on a
// port's protocol (IST0116) or expose the same targetPort on different ports (IST0137).
func deploymentServicesAnalyzer() Analyzer {
	return Analyzer{
		Name:        "deployment.MultiServiceAnalyzer",
		Description: "Checks association between services and pods",
		Codes:       []MessageType{DeploymentAssociatedToMultipleServices, DeploymentConflictingPorts},
		Run: func(s *Snapshot, report func(Message)) {
			services := map[*Resource][]*Resource{}
			var order []*Resource
			for _, r := range s.Kind("Service") {
				svc := ServiceSpec(r)
				if svc == nil || len(svc.Spec.Selector) == 0 {
					continue
				}
				for _, w := range s.WorkloadsMatching(r.Key.Namespace, svc.Spec.Selector) {
					if w.Key.Kind == "Pod" {
						continue
					}
					if _, ok := services[w]; !ok {
						order = append(order, w)
					}
					services[w] = append(services[w], r)
				}
			}
			for _, w := range order {
				svcs := services[w]
				if len(svcs) < 2 {
					continue
				}
				protocols := map[int32]map[corev1.Protocol][]string{}
				targets := map[string]map[int32][]string{}
				for _, r := range svcs {
					for _, p := range ServiceSpec(r).Spec.Ports {
						proto := p.Protocol
						if proto == "" {
							proto = corev1.ProtocolTCP
						}
						if protocols[p.Port] == nil {
							protocols[p.Port] = map[corev1.Protocol][]string{}
						}
						protocols[p.Port][proto] = append(protocols[p.Port][proto], r.Key.Name)
						tp := p.TargetPort.String()
						if tp == "0" || tp == "" {
							tp = fmt.Sprint(p.Port)
						}
						if targets[tp] == nil {
							targets[tp] = map[int32][]string{}
						}
						targets[tp][p.Port] = append(targets[tp][p.Port], r.Key.Name)
					}
				}
				for _, port := range sortedInt32Keys(protocols) {
					if len(protocols[port]) < 2 {
						continue
					}
					var names []string
					for _, ns := range protocols[port] {
						names = append(names, ns...)
					}
					sort.Strings(names)
					report(newMessage(DeploymentAssociatedToMultipleServices, w, w.Origin.Line, w.Key.Name, port, names))
				}
				for _, tp := range sortedKeys(targets) {
					if len(targets[tp]) < 2 {
						continue
					}
					var names []string
					ports := sortedInt32Keys(targets[tp])
					for _, p := range ports {
						names = append(names, targets[tp][p]...)
					}
					sort.Strings(names)
					report(newMessage(DeploymentConflictingPorts, w, w.Origin.Line, w.Key.Name, names, tp, ports))
				}
			}
		},
	}
}

func sortedInt32Keys[V any](m map[int32]V) []int32 {
	out := make([]int32, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
