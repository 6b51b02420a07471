package describe

import (
	"fmt"
	"slices"
	"strings"

	"istio.io/api/annotation"
	networking "istio.io/api/networking/v1alpha3"
	securityapi "istio.io/api/security/v1beta1"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	corev1 "k8s.io/api/core/v1"

	"skiff.dev/skiff/pkg/model"
)

// HasSidecar says whether a pod was injected: the injector records what it added in sidecar.istio.io/status.
func HasSidecar(pod *corev1.Pod) bool {
	_, ok := pod.Annotations[annotation.SidecarStatus.Name]
	return ok
}

// Route is one destination of one VirtualService route rule for a host.
type Route struct {
	VirtualService string // namespace/name
	// Gateways the VirtualService is bound to; empty or "mesh" means sidecars.
	Gateways []string
	Rule     string // "http[0]" or the rule's name
	Kind     string // http, tcp, tls
	Match    string
	Host     string // destination hostname
	// Short is Host without the cluster domain: "reviews.bookinfo".
	Short  string
	Subset string
	Weight int32
	// Extras are timeout, retries, fault injection and mirroring on the rule.
	Extras []string
}

// Target is the destination as people say it: "reviews v2" or "reviews".
func (r Route) Target() string {
	if r.Subset == "" {
		return r.Short
	}
	return r.Short + " " + r.Subset
}

// RoutesTo lists the route destinations of every VirtualService for host that send traffic to host itself
// (any subset), following delegation one level.
func RoutesTo(m *model.Mesh, host string) []Route {
	var out []Route
	for _, r := range RoutesFrom(m, host) {
		if r.Host == host {
			out = append(out, r)
		}
	}
	return out
}

// RoutesFrom lists every destination of every VirtualService for host, in precedence order. A
// gateway-only VirtualService counts only when it names host exactly: "*" at a gateway is about the
// gateway's traffic, not the service's.
func RoutesFrom(m *model.Mesh, host string) []Route {
	var out []Route
	for _, vs := range m.VirtualServicesFor(host) {
		if AppliesToMesh(vs) || namesHost(m, vs, host) {
			out = append(out, vsRoutes(m, vs, vs, 0)...)
		}
	}
	return out
}

// AppliesToMesh says whether a VirtualService routes sidecar traffic: no gateways, or "mesh" among them.
func AppliesToMesh(vs *networkingv1.VirtualService) bool {
	gws := vs.Spec.GetGateways()
	return len(gws) == 0 || slices.Contains(gws, "mesh")
}

func namesHost(m *model.Mesh, vs *networkingv1.VirtualService, host string) bool {
	for _, h := range vs.Spec.GetHosts() {
		if model.ResolveHost(h, vs.Namespace, m.DomainSuffix()) == host {
			return true
		}
	}
	return false
}

func vsRoutes(m *model.Mesh, root, vs *networkingv1.VirtualService, depth int) []Route {
	suffix := m.DomainSuffix()
	base := Route{VirtualService: vs.Namespace + "/" + vs.Name, Gateways: root.Spec.GetGateways()}
	var out []Route
	dest := func(r Route, d *networking.Destination) Route {
		r.Host = model.ResolveHost(d.GetHost(), vs.Namespace, suffix)
		r.Short = strings.TrimSuffix(r.Host, ".svc."+suffix)
		r.Subset = d.GetSubset()
		return r
	}
	for i, h := range vs.Spec.GetHttp() {
		r := base
		r.Kind, r.Rule, r.Match = "http", ruleName("http", i, h.GetName()), MatchSummary(h.GetMatch())
		r.Extras = httpExtras(h)
		if d := h.GetDelegate(); d != nil && depth == 0 {
			if target := m.VirtualService(cmpOr(d.GetNamespace(), vs.Namespace), d.GetName()); target != nil {
				out = append(out, vsRoutes(m, root, target, 1)...)
			}
			continue
		}
		var ws []int32
		for _, rd := range h.GetRoute() {
			ws = append(ws, rd.GetWeight())
		}
		for j, rd := range h.GetRoute() {
			x := dest(r, rd.GetDestination())
			x.Weight = Weights(ws)[j]
			out = append(out, x)
		}
	}
	l4 := func(kind string, i int, match string, rds []*networking.RouteDestination) {
		var ws []int32
		for _, rd := range rds {
			ws = append(ws, rd.GetWeight())
		}
		for j, rd := range rds {
			r := base
			r.Kind, r.Rule, r.Match = kind, ruleName(kind, i, ""), match
			x := dest(r, rd.GetDestination())
			x.Weight = Weights(ws)[j]
			out = append(out, x)
		}
	}
	for i, t := range vs.Spec.GetTcp() {
		var ms []L4Match
		for _, mt := range t.GetMatch() {
			ms = append(ms, L4Match{Port: mt.GetPort()})
		}
		l4("tcp", i, L4MatchSummary(ms), t.GetRoute())
	}
	for i, t := range vs.Spec.GetTls() {
		var ms []L4Match
		for _, mt := range t.GetMatch() {
			ms = append(ms, L4Match{Port: mt.GetPort(), SNI: mt.GetSniHosts()})
		}
		l4("tls", i, L4MatchSummary(ms), t.GetRoute())
	}
	return out
}

func ruleName(kind string, i int, name string) string {
	if name != "" {
		return fmt.Sprintf("%s[%d] %q", kind, i, name)
	}
	return fmt.Sprintf("%s[%d]", kind, i)
}

func httpExtras(h *networking.HTTPRoute) []string {
	var out []string
	if d := duration(h.GetTimeout()); d != "" {
		out = append(out, "timeout "+d)
	}
	if r := h.GetRetries(); r != nil {
		out = append(out, fmt.Sprintf("%d retries", r.GetAttempts()))
	}
	if f := h.GetFault(); f != nil {
		if f.GetDelay() != nil {
			out = append(out, "fault: delay")
		}
		if f.GetAbort() != nil {
			out = append(out, "fault: abort")
		}
	}
	if h.GetMirror() != nil || len(h.GetMirrors()) > 0 {
		out = append(out, "mirrored")
	}
	return out
}

// ViaGateways says which traffic a route applies to: sidecars ("mesh") and/or the named gateways.
func (r Route) ViaGateways() string {
	if len(r.Gateways) == 0 {
		return "mesh"
	}
	return strings.Join(r.Gateways, ",")
}

// Subset finds a DestinationRule subset by name.
func Subset(dr *model.DestinationRule, name string) *networking.Subset {
	if dr == nil {
		return nil
	}
	for _, s := range dr.Spec.GetSubsets() {
		if s.GetName() == name {
			return s
		}
	}
	return nil
}

// ClientMode says what the clients of a workload port send, and why.
type ClientMode struct {
	// Mode is mTLS, plaintext, TLS or "mTLS to injected pods only".
	Mode   string
	Reason string
}

// ClientTLS works out what sidecar clients send to a service port (DestinationRule port settings name
// service ports): the DestinationRule's TLS mode when it sets one,
// otherwise Istio's auto mTLS, which sends mTLS exactly to the endpoints that have a sidecar.
func ClientTLS(dr *model.DestinationRule, subset string, port uint32, injected, total int) ClientMode {
	if dr != nil {
		if t := EffectiveTLS(dr.Spec, subset, port); t != nil {
			why := "DestinationRule " + dr.Namespace + "/" + dr.Name
			switch t.GetMode() {
			case networking.ClientTLSSettings_ISTIO_MUTUAL:
				return ClientMode{"mTLS", why}
			case networking.ClientTLSSettings_DISABLE:
				return ClientMode{"plaintext", why}
			case networking.ClientTLSSettings_SIMPLE, networking.ClientTLSSettings_MUTUAL:
				return ClientMode{"TLS (" + t.GetMode().String() + ")", why}
			}
		}
	}
	switch {
	case total > 0 && injected == total:
		return ClientMode{"mTLS", "auto mTLS"}
	case injected > 0:
		return ClientMode{"mTLS to injected pods only", "auto mTLS"}
	default:
		return ClientMode{"plaintext", "auto mTLS: no sidecar"}
	}
}

// Authz is an AuthorizationPolicy as describe shows it.
type Authz struct {
	Name   string // namespace/name
	Action string
	Rules  int
	Scope  string
}

// AuthzFor lists the AuthorizationPolicies that apply to a workload, with why each applies.
func AuthzFor(m *model.Mesh, namespace string, labels map[string]string) []Authz {
	var out []Authz
	for _, ap := range m.AuthorizationPolicies(namespace, labels) {
		a := Authz{Name: ap.Namespace + "/" + ap.Name, Action: ap.Spec.GetAction().String(), Rules: len(ap.Spec.GetRules())}
		if ap.Spec.GetAction() == securityapi.AuthorizationPolicy_CUSTOM {
			a.Action = "CUSTOM (" + ap.Spec.GetProvider().GetName() + ")"
		}
		switch sel := ap.Spec.GetSelector().GetMatchLabels(); {
		case len(sel) > 0:
			a.Scope = "selector " + Labels(sel)
		case ap.Namespace != namespace:
			a.Scope = "mesh-wide"
		default:
			a.Scope = "namespace-wide"
		}
		out = append(out, a)
	}
	return out
}

// Summary is one line: "ALLOW, 2 rules, selector app=reviews"; an ALLOW policy without rules denies all.
func (a Authz) Summary() string {
	rules := fmt.Sprintf("%d rules", a.Rules)
	switch {
	case a.Rules == 1:
		rules = "1 rule"
	case a.Rules == 0 && a.Action == "ALLOW":
		rules = "no rules: denies every request"
	case a.Rules == 0 && a.Action == "DENY":
		rules = "no rules: has no effect"
	}
	return a.Action + ", " + rules + ", " + a.Scope
}

// sortedUnique sorts and removes duplicates.
func sortedUnique(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}

// RoutesOf lists every destination of one VirtualService, following delegation one level.
func RoutesOf(m *model.Mesh, vs *networkingv1.VirtualService) []Route { return vsRoutes(m, vs, vs, 0) }
