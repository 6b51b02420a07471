package describe

import (
	"cmp"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"skiff.dev/skiff/pkg/model"
	"skiff.dev/skiff/pkg/ui"
)

// Pod describes how the mesh treats one pod: its services and ports, mTLS on both ends, the routes and
// subsets that reach it and the AuthorizationPolicies that apply.
func Pod(m *model.Mesh, in model.Input, pod *corev1.Pod) []ui.Section {
	injected := HasSidecar(pod)
	template := pod.Annotations[TemplateAnnotation]
	sidecar := "injected"
	switch {
	case !injected:
		sidecar = "not injected: traffic to and from this pod bypasses the mesh's routing and policy"
	case template != "":
		sidecar = "would be injected"
	}
	fields := [][2]string{
		{"Labels", cmp.Or(Labels(pod.Labels), "(none)")},
		{"Service account", cmp.Or(pod.Spec.ServiceAccountName, "default")},
		{"Sidecar", sidecar},
	}
	if template != "" {
		fields = append([][2]string{{"Pod template of", template}}, fields...)
	}
	head := ui.Section{Title: "Pod " + pod.Name + "." + pod.Namespace, Lines: ui.Fields(fields)}
	out := []ui.Section{head}
	svcs := servicesOf(in, pod)
	if len(svcs) == 0 {
		out[0].Lines = append(out[0].Lines, "No Service selects this pod: no mesh traffic is routed to it.")
	}
	sidecars := 0
	if injected {
		sidecars = 1
	}
	for _, svc := range svcs {
		host := model.KubeHostname(svc.Name, svc.Namespace, m.DomainSuffix())
		dr := m.DestinationRuleFor(host, svc.Namespace)
		sec := ui.Section{Title: "Service " + host}
		for _, sp := range svc.Spec.Ports {
			port := TargetPort(sp, pod)
			server := "no sidecar: PeerAuthentication is not enforced"
			var mode model.MTLSMode
			if injected {
				mode = m.InboundMTLS(pod.Namespace, pod.Labels, port)
				server = mode.String() + " (" + mtlsSource(m, cmp.Or(in.RootNamespace, model.DefaultRootNamespace), pod.Namespace, pod.Labels, port) + ")"
			}
			client := ClientTLS(dr, podSubset(dr, pod.Labels), uint32(sp.Port), sidecars, 1)
			sec.Lines = append(sec.Lines, fmt.Sprintf("Port %s %d/%s -> %d", cmp.Or(sp.Name, "(unnamed)"), sp.Port, protocolOf(m, host, sp.Port), port))
			sec.Lines = append(sec.Lines, "  inbound mTLS: "+server)
			sec.Lines = append(sec.Lines, "  clients send: "+client.Mode+" ("+client.Reason+")")
			if c := mtlsConflict(injected, mode, client.Mode); c != "" {
				sec.Lines = append(sec.Lines, "  ! "+c)
			}
		}
		sec.Lines = append(sec.Lines, destinationRuleLines(dr, func(labels map[string]string) string {
			if SubsetMatches(labels, pod.Labels) {
				return "matches this pod"
			}
			return ""
		})...)
		sec.Lines = append(sec.Lines, podRouteLines(m, host, dr, pod)...)
		out = append(out, sec)
	}
	out = append(out, authzSection(m, []*corev1.Pod{pod}, injected))
	return out
}

// podSubset is the first subset the labels fall in, for subset-level TLS settings.
func podSubset(dr *model.DestinationRule, labels map[string]string) string {
	if dr == nil {
		return ""
	}
	for _, s := range dr.Spec.GetSubsets() {
		if SubsetMatches(s.GetLabels(), labels) {
			return s.GetName()
		}
	}
	return ""
}

// mtlsConflict names the combinations where clients and server cannot talk.
func mtlsConflict(injected bool, server model.MTLSMode, client string) string {
	if !injected {
		return ""
	}
	switch {
	case server == model.MTLSStrict && client == "plaintext":
		return "clients send plaintext but the pod accepts only mTLS: connections are reset"
	case server == model.MTLSDisable && strings.HasPrefix(client, "mTLS"):
		return "clients send mTLS but the pod accepts only plaintext: connections fail"
	}
	return ""
}

// destinationRuleLines lists a DestinationRule's subsets, each with what note says about it, and its
// traffic policy highlights.
func destinationRuleLines(dr *model.DestinationRule, note func(labels map[string]string) string) []string {
	if dr == nil {
		return []string{"DestinationRule: none (default load balancing, auto mTLS)"}
	}
	lines := []string{"DestinationRule " + dr.Namespace + "/" + dr.Name}
	for _, h := range PolicyHighlights(dr.Spec.GetTrafficPolicy()) {
		lines = append(lines, "  "+h)
	}
	for _, s := range dr.Spec.GetSubsets() {
		l := "  subset " + s.GetName() + " (" + cmp.Or(Labels(s.GetLabels()), "all pods") + ")"
		if n := note(s.GetLabels()); n != "" {
			l += ": " + n
		}
		lines = append(lines, l)
		for _, h := range PolicyHighlights(s.GetTrafficPolicy()) {
			lines = append(lines, "    "+h)
		}
	}
	return lines
}

// podRouteLines lists the route rules whose destinations reach the pod, and says so when none does.
func podRouteLines(m *model.Mesh, host string, dr *model.DestinationRule, pod *corev1.Pod) []string {
	routes := routesInto(m, host)
	if len(routes) == 0 {
		return []string{"VirtualServices: none (requests are spread over all pods of the service)"}
	}
	var lines []string
	var elsewhere []string
	last := ""
	for _, r := range routes {
		reaches, why := routeReaches(r, dr, pod.Labels)
		if !reaches {
			if why != "" {
				lines = append(lines, "! "+r.VirtualService+" "+r.Rule+": "+why)
			} else {
				elsewhere = append(elsewhere, r.Target())
			}
			continue
		}
		if r.VirtualService != last {
			lines = append(lines, "VirtualService "+r.VirtualService+" (via "+r.ViaGateways()+")")
			last = r.VirtualService
		}
		lines = append(lines, "  "+routeLine(r))
	}
	if last == "" && len(elsewhere) > 0 {
		lines = append(lines, "VirtualServices route "+host+" but no rule reaches this pod (they send to "+strings.Join(sortedUnique(elsewhere), ", ")+")")
	}
	return lines
}

func routeLine(r Route) string {
	l := fmt.Sprintf("%s: %s -> %s %d%%", r.Rule, r.Match, r.Target(), r.Weight)
	if len(r.Extras) > 0 {
		l += " [" + strings.Join(r.Extras, ", ") + "]"
	}
	return l
}

// routesInto lists every route destination that sends traffic to host: from the VirtualServices for host
// itself, then from VirtualServices for other hosts (gateway entry points, aliases).
func routesInto(m *model.Mesh, host string) []Route {
	out := RoutesTo(m, host)
	own := map[string]bool{}
	for _, r := range out {
		own[r.VirtualService] = true
	}
	for _, vs := range m.VirtualServices() {
		if own[vs.Namespace+"/"+vs.Name] {
			continue
		}
		for _, r := range vsRoutes(m, vs, vs, 0) {
			if r.Host == host {
				out = append(out, r)
			}
		}
	}
	return out
}

// routeReaches says whether a route destination can land on a workload with labels; why explains a
// destination that cannot work at all (an undefined subset).
func routeReaches(r Route, dr *model.DestinationRule, labels map[string]string) (reaches bool, why string) {
	if r.Subset == "" {
		return true, ""
	}
	s := Subset(dr, r.Subset)
	if s == nil {
		return false, fmt.Sprintf("subset %q is not defined by any DestinationRule for %s: requests fail with 503", r.Subset, r.Host)
	}
	return SubsetMatches(s.GetLabels(), labels), ""
}

// authzSection lists the AuthorizationPolicies applying to the pods, with how many of them each covers.
func authzSection(m *model.Mesh, pods []*corev1.Pod, injected bool) ui.Section {
	sec := ui.Section{Title: "AuthorizationPolicies"}
	count := map[string]int{}
	byName := map[string]Authz{}
	var order []string
	for _, p := range pods {
		for _, a := range AuthzFor(m, p.Namespace, p.Labels) {
			if count[a.Name] == 0 {
				order = append(order, a.Name)
				byName[a.Name] = a
			}
			count[a.Name]++
		}
	}
	for _, n := range order {
		l := n + ": " + byName[n].Summary()
		if len(pods) > 1 {
			l += fmt.Sprintf(" (%d of %d pods)", count[n], len(pods))
		}
		sec.Lines = append(sec.Lines, l)
	}
	switch {
	case len(order) == 0:
		sec.Lines = append(sec.Lines, "none: every authenticated or plaintext request the mTLS mode lets in is allowed")
	case !injected:
		sec.Lines = append(sec.Lines, "! without a sidecar these policies are not enforced")
	}
	return sec
}
