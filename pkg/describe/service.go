package describe

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"skiff.dev/skiff/pkg/model"
	"skiff.dev/skiff/pkg/ui"
)

// Service describes a service from its own side: ports with the mTLS mode of its pods and of its clients,
// its pods per subset, the routing of requests for it and the AuthorizationPolicies on its pods.
func Service(m *model.Mesh, in model.Input, svc *corev1.Service) []ui.Section {
	host := model.KubeHostname(svc.Name, svc.Namespace, m.DomainSuffix())
	pods := podsOf(in, svc)
	injected := 0
	for _, p := range pods {
		if HasSidecar(p) {
			injected++
		}
	}
	dr := m.DestinationRuleFor(host, svc.Namespace)
	head := ui.Section{Title: "Service " + host, Lines: ui.Fields([][2]string{
		{"Selector", cmp.Or(Labels(svc.Spec.Selector), "(none: endpoints are managed by hand)")},
		{"Pods", fmt.Sprintf("%d, %d with a sidecar", len(pods), injected)},
	})}
	for _, sp := range svc.Spec.Ports {
		head.Lines = append(head.Lines, fmt.Sprintf("Port %s %d/%s -> %s", cmp.Or(sp.Name, "(unnamed)"), sp.Port, protocolOf(m, host, sp.Port), targetPortName(sp)))
		head.Lines = append(head.Lines, "  inbound mTLS: "+inboundSummary(m, svc, pods, sp))
		client := ClientTLS(dr, "", uint32(sp.Port), injected, len(pods))
		head.Lines = append(head.Lines, "  clients send: "+client.Mode+" ("+client.Reason+")")
	}
	out := []ui.Section{head}

	podLines := ui.Section{Title: "Pods"}
	for _, p := range pods {
		sc := "sidecar"
		if !HasSidecar(p) {
			sc = "no sidecar"
		}
		l := p.Name + ": " + sc
		if s := subsetsOf(dr, p.Labels); len(s) > 0 {
			l += ", subsets " + strings.Join(s, ",")
		}
		podLines.Lines = append(podLines.Lines, l)
	}
	if len(pods) == 0 {
		podLines.Lines = []string{"none: requests to " + host + " have nowhere to go"}
		// A Service without a selector has hand-made EndpointSlices: show those addresses instead.
		if ms := m.Service(host); ms != nil && len(ms.Endpoints) > 0 {
			podLines.Title = "Endpoints"
			podLines.Lines = nil
			for _, ep := range ms.Endpoints {
				l := ep.Address
				if len(ep.Labels) > 0 {
					l += " " + Labels(ep.Labels)
				}
				podLines.Lines = append(podLines.Lines, l)
			}
		}
	}
	out = append(out, podLines)

	routing := ui.Section{Title: "Routing"}
	routing.Lines = destinationRuleLines(dr, func(labels map[string]string) string {
		var names []string
		for _, p := range pods {
			if SubsetMatches(labels, p.Labels) {
				names = append(names, p.Name)
			}
		}
		if len(names) == 0 {
			return "no pods"
		}
		return strings.Join(names, ", ")
	})
	routing.Lines = append(routing.Lines, serviceRouteLines(m, host, dr)...)
	out = append(out, routing)
	anyInjected := injected > 0
	return append(out, authzSection(m, pods, anyInjected || len(pods) == 0))
}

// inboundSummary is the pods' inbound mTLS mode on a port: one mode, or how many pods use each.
func inboundSummary(m *model.Mesh, svc *corev1.Service, pods []*corev1.Pod, sp corev1.ServicePort) string {
	if len(svc.Spec.Selector) == 0 {
		return "unknown: no pods are selected, the endpoints are managed by hand"
	}
	if len(pods) == 0 {
		return m.InboundMTLS(svc.Namespace, svc.Spec.Selector, TargetPort(sp, nil)).String() + " (for pods matching the selector)"
	}
	count := map[string]int{}
	for _, p := range pods {
		mode := "no sidecar"
		if HasSidecar(p) {
			mode = m.InboundMTLS(p.Namespace, p.Labels, TargetPort(sp, p)).String()
		}
		count[mode]++
	}
	if len(count) == 1 {
		for mode := range count {
			return mode
		}
	}
	var parts []string
	for _, mode := range slices.Sorted(maps.Keys(count)) {
		parts = append(parts, fmt.Sprintf("%s on %d", mode, count[mode]))
	}
	return "mixed: " + strings.Join(parts, ", ")
}

func subsetsOf(dr *model.DestinationRule, labels map[string]string) []string {
	if dr == nil {
		return nil
	}
	var out []string
	for _, s := range dr.Spec.GetSubsets() {
		if SubsetMatches(s.GetLabels(), labels) {
			out = append(out, s.GetName())
		}
	}
	return out
}

// serviceRouteLines lists every rule routing requests for host, and the rules of other hosts that send to it.
func serviceRouteLines(m *model.Mesh, host string, dr *model.DestinationRule) []string {
	var lines []string
	last := ""
	add := func(r Route) {
		if r.VirtualService != last {
			lines = append(lines, "VirtualService "+r.VirtualService+" (via "+r.ViaGateways()+")")
			last = r.VirtualService
		}
		lines = append(lines, "  "+routeLine(r))
		if r.Host == host && r.Subset != "" && Subset(dr, r.Subset) == nil {
			lines = append(lines, fmt.Sprintf("  ! subset %q is not defined by any DestinationRule for %s: requests fail with 503", r.Subset, host))
		}
	}
	for _, r := range RoutesFrom(m, host) {
		add(r)
	}
	for _, r := range routesInto(m, host) {
		if isOwn(m, host, r) {
			continue // listed above
		}
		add(r)
	}
	if len(lines) == 0 {
		lines = append(lines, "VirtualServices: none (requests are spread over all pods)")
	}
	return lines
}

func isOwn(m *model.Mesh, host string, r Route) bool {
	for _, own := range RoutesFrom(m, host) {
		if own.VirtualService == r.VirtualService {
			return true
		}
	}
	return false
}

// targetPortName is the target port as the Service names it, the port number when it names none.
func targetPortName(sp corev1.ServicePort) string {
	if sp.TargetPort.StrVal == "" && sp.TargetPort.IntVal == 0 {
		return fmt.Sprint(sp.Port)
	}
	return sp.TargetPort.String()
}
