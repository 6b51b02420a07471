package analyze

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"google.golang.org/protobuf/proto"
	networking "istio.io/api/networking/v1alpha3"
)

// routeDestination is one destination of a VirtualService with the field path it was written at.
type routeDestination struct {
	dest   *networking.Destination
	path   []any
	http   bool
	mirror bool
}

// destinations lists every route and mirror destination of a VirtualService.
func destinations(vs *networking.VirtualService) []routeDestination {
	var out []routeDestination
	for i, h := range vs.GetHttp() {
		for j, d := range h.GetRoute() {
			out = append(out, routeDestination{d.GetDestination(), []any{"spec", "http", i, "route", j, "destination"}, true, false})
		}
		if m := h.GetMirror(); m != nil {
			out = append(out, routeDestination{m, []any{"spec", "http", i, "mirror"}, false, true})
		}
		for j, m := range h.GetMirrors() {
			out = append(out, routeDestination{m.GetDestination(), []any{"spec", "http", i, "mirrors", j, "destination"}, false, true})
		}
	}
	for i, t := range vs.GetTcp() {
		for j, d := range t.GetRoute() {
			out = append(out, routeDestination{d.GetDestination(), []any{"spec", "tcp", i, "route", j, "destination"}, false, false})
		}
	}
	for i, t := range vs.GetTls() {
		for j, d := range t.GetRoute() {
			out = append(out, routeDestination{d.GetDestination(), []any{"spec", "tls", i, "route", j, "destination"}, false, false})
		}
	}
	return out
}

// subsetIndex maps a DestinationRule host's FQDN to the subsets defined for it.
type subsetIndex struct {
	exact    map[string]map[string]bool
	wildcard map[string]map[string]bool
}

func newSubsetIndex(s *Snapshot) subsetIndex {
	idx := subsetIndex{exact: map[string]map[string]bool{}, wildcard: map[string]map[string]bool{}}
	for _, r := range s.Kind("DestinationRule") {
		dr := destinationRule(r)
		if dr == nil {
			continue
		}
		host := s.FQDN(dr.GetHost(), r.Key.Namespace)
		target := idx.exact
		if strings.HasPrefix(host, "*") {
			target = idx.wildcard
		}
		if target[host] == nil {
			target[host] = map[string]bool{}
		}
		for _, ss := range dr.GetSubsets() {
			target[host][ss.GetName()] = true
		}
	}
	return idx
}

func (idx subsetIndex) has(host, subset string) bool {
	if idx.exact[host][subset] {
		return true
	}
	for pattern, subsets := range idx.wildcard {
		if subsets[subset] && hostMatches(pattern, host) {
			return true
		}
	}
	return false
}

// virtualServiceReferencesAnalyzer checks what a VirtualService refers to: gateways and destination hosts
// and subsets (IST0101), the port of multi-port destinations (IST0112) and its hosts on its gateways (IST0132).
func virtualServiceReferencesAnalyzer() Analyzer {
	return Analyzer{
		Name:        "virtualservice.DestinationHostAnalyzer",
		Description: "Checks the gateways, destination hosts, subsets and ports a VirtualService refers to",
		Codes: []MessageType{ReferencedResourceNotFound, VirtualServiceDestinationPortSelectorRequired,
			VirtualServiceHostNotFoundInGateway},
		Run: func(s *Snapshot, report func(Message)) {
			subsets := newSubsetIndex(s)
			for _, r := range s.Kind("VirtualService") {
				vs := virtualService(r)
				if vs == nil {
					continue
				}
				ns := r.Key.Namespace
				for i, g := range vs.GetGateways() {
					if g == "mesh" {
						continue
					}
					gwNS, gwName := ns, g
					if a, b, ok := strings.Cut(g, "/"); ok {
						gwNS, gwName = a, b
					}
					gwKey := Key{Group: "networking.istio.io", Kind: "Gateway", Namespace: gwNS, Name: gwName}
					gw := s.byKeyLookup(gwKey)
					if gw == nil {
						report(newMessage(ReferencedResourceNotFound, r, r.Line("spec", "gateways", i), "gateway", g))
						continue
					}
					checkHostsOnGateway(r, vs, gw, report)
				}
				for _, d := range destinations(vs) {
					host := d.dest.GetHost()
					if host == "" {
						continue // a schema/validation error
					}
					fqdn := s.FQDN(host, ns)
					if !s.HostExists(fqdn) {
						reftype := "host"
						if d.mirror {
							reftype = "mirror host"
						}
						report(newMessage(ReferencedResourceNotFound, r, r.Line(append(d.path, "host")...), reftype, host))
						continue
					}
					if sub := d.dest.GetSubset(); sub != "" && !subsets.has(fqdn, sub) {
						report(newMessage(ReferencedResourceNotFound, r, r.Line(append(d.path, "subset")...),
							"host+subset in destinationrule", host+"+"+sub))
					}
					if d.http && d.dest.GetPort() == nil {
						if svc := ServiceSpec(s.Service(fqdn)); svc != nil && len(svc.Spec.Ports) > 1 {
							ports := make([]int, 0, len(svc.Spec.Ports))
							for _, p := range svc.Spec.Ports {
								ports = append(ports, int(p.Port))
							}
							report(newMessage(VirtualServiceDestinationPortSelectorRequired, r, r.Line(d.path...), host, ports))
						}
					}
				}
			}
		},
	}
}

func checkHostsOnGateway(r *Resource, vs *networking.VirtualService, gwRes *Resource, report func(Message)) {
	gw := gateway(gwRes)
	if gw == nil {
		return
	}
	var missing []string
	for _, h := range vs.GetHosts() {
		found := false
		for _, srv := range gw.GetServers() {
			for _, gh := range srv.GetHosts() {
				if hostsOverlap(gatewayHost(gh), h) {
					found = true
				}
			}
		}
		if !found {
			missing = append(missing, h)
		}
	}
	if len(missing) > 0 {
		report(newMessage(VirtualServiceHostNotFoundInGateway, r, r.Line("spec", "hosts"), missing,
			r.Key.Namespace+"/"+r.Key.Name, gwRes.Key.Namespace+"/"+gwRes.Key.Name))
	}
}

// ruleName is how Istio names an http rule in messages: its name, or "#index".
func ruleName(h *networking.HTTPRoute, i int) string {
	if h.GetName() != "" {
		return h.GetName()
	}
	return fmt.Sprintf("#%d", i)
}

// virtualServiceRulesAnalyzer reports http rules that can never match because an earlier rule catches all
// traffic or the same matches (IST0130), and individual duplicate matches (IST0131).
func virtualServiceRulesAnalyzer() Analyzer {
	return Analyzer{
		Name:        "virtualservice.ConflictingMatchAnalyzer",
		Description: "Checks VirtualService rules for matches that can never be used",
		Codes:       []MessageType{VirtualServiceUnreachableRule, VirtualServiceIneffectiveMatch},
		Run: func(s *Snapshot, report func(Message)) {
			for _, r := range s.Kind("VirtualService") {
				vs := virtualService(r)
				if vs == nil {
					continue
				}
				seen := map[string]int{}
				catchAll := -1
				for i, h := range vs.GetHttp() {
					line := r.Line("spec", "http", i)
					if catchAll >= 0 {
						report(newMessage(VirtualServiceUnreachableRule, r, line, ruleName(h, i), "only the last rule can have no matches"))
						continue
					}
					if len(h.GetMatch()) == 0 {
						catchAll = i
						continue
					}
					var dups [][2]int // match index, earlier rule index
					hasEmpty := false
					for k, m := range h.GetMatch() {
						key := matchKey(m)
						if prev, ok := seen[key]; ok {
							dups = append(dups, [2]int{k, prev})
							continue
						}
						hasEmpty = hasEmpty || key == ""
						seen[key] = i
					}
					if len(dups) == len(h.GetMatch()) {
						report(newMessage(VirtualServiceUnreachableRule, r, line, ruleName(h, i), "all matches used by prior rules"))
					} else {
						for _, d := range dups {
							report(newMessage(VirtualServiceIneffectiveMatch, r, r.Line("spec", "http", i, "match", d[0]),
								ruleName(h, i), d[0], ruleName(vs.GetHttp()[d[1]], d[1])))
						}
					}
					if hasEmpty {
						catchAll = i
					}
				}
			}
		},
	}
}

// matchKey is a canonical form of a match without its name; "" for a match with no conditions.
func matchKey(m *networking.HTTPMatchRequest) string {
	c, _ := proto.Clone(m).(*networking.HTTPMatchRequest)
	c.Name = ""
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(c)
	return string(b)
}

// compileRE2 checks a regular expression with Go's regexp, which implements RE2's syntax as Envoy does.
func compileRE2(re string) error {
	_, err := regexp.Compile(re)
	if err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
	return nil
}

// virtualServiceRegexAnalyzer reports regular expressions Envoy's RE2 would reject (IST0122).
func virtualServiceRegexAnalyzer() Analyzer {
	return Analyzer{
		Name:        "virtualservice.RegexAnalyzer",
		Description: "Checks regex syntax",
		Codes:       []MessageType{InvalidRegexp},
		Run: func(s *Snapshot, report func(Message)) {
			for _, r := range s.Kind("VirtualService") {
				vs := virtualService(r)
				if vs == nil {
					continue
				}
				check := func(where string, sm *networking.StringMatch, path ...any) {
					re := sm.GetRegex()
					if re == "" {
						return
					}
					if err := compileRE2(re); err != nil {
						report(newMessage(InvalidRegexp, r, r.Line(append(path, "regex")...), where, re, err.Error()))
					}
				}
				for i, h := range vs.GetHttp() {
					for k, m := range h.GetMatch() {
						base := []any{"spec", "http", i, "match", k}
						check("uri", m.GetUri(), append(base, "uri")...)
						check("scheme", m.GetScheme(), append(base, "scheme")...)
						check("method", m.GetMethod(), append(base, "method")...)
						check("authority", m.GetAuthority(), append(base, "authority")...)
						for _, name := range sortedKeys(m.GetHeaders()) {
							check("headers", m.GetHeaders()[name], append(base, "headers", name)...)
						}
						for _, name := range sortedKeys(m.GetQueryParams()) {
							check("queryParams", m.GetQueryParams()[name], append(base, "queryParams", name)...)
						}
						for _, name := range sortedKeys(m.GetWithoutHeaders()) {
							check("withoutHeaders", m.GetWithoutHeaders()[name], append(base, "withoutHeaders", name)...)
						}
					}
					for k, o := range h.GetCorsPolicy().GetAllowOrigins() {
						check("corsPolicy.allowOrigins", o, "spec", "http", i, "corsPolicy", "allowOrigins", k)
					}
				}
			}
		},
	}
}

// virtualServiceWeightsAnalyzer reports routes whose destination weights do not add up to 100 (SKF0002).
func virtualServiceWeightsAnalyzer() Analyzer {
	return Analyzer{
		Name:        "virtualservice.WeightAnalyzer",
		Description: "Checks that route weights add up to 100",
		Codes:       []MessageType{RouteWeightsDoNotSum},
		Run: func(s *Snapshot, report func(Message)) {
			for _, r := range s.Kind("VirtualService") {
				vs := virtualService(r)
				if vs == nil {
					continue
				}
				check := func(kind string, i int, weights []int32) {
					if len(weights) == 0 {
						return
					}
					sum := 0
					for _, w := range weights {
						sum += int(w)
					}
					if len(weights) == 1 && (sum == 0 || sum == 100) {
						return
					}
					if sum != 100 {
						report(newMessage(RouteWeightsDoNotSum, r, r.Line("spec", kind, i, "route"), fmt.Sprintf("%s[%d].route", kind, i), sum))
					}
				}
				for i, h := range vs.GetHttp() {
					var ws []int32
					for _, d := range h.GetRoute() {
						ws = append(ws, d.GetWeight())
					}
					check("http", i, ws)
				}
				for i, t := range vs.GetTcp() {
					var ws []int32
					for _, d := range t.GetRoute() {
						ws = append(ws, d.GetWeight())
					}
					check("tcp", i, ws)
				}
				for i, t := range vs.GetTls() {
					var ws []int32
					for _, d := range t.GetRoute() {
						ws = append(ws, d.GetWeight())
					}
					check("tls", i, ws)
				}
			}
		},
	}
}

// meshGatewayHostsAnalyzer reports hosts claimed by more than one mesh-bound VirtualService (IST0109).
func meshGatewayHostsAnalyzer() Analyzer {
	return Analyzer{
		Name:        "virtualservice.ConflictingMeshGatewayHostsAnalyzer",
		Description: "Checks if multiple virtual services associated with the mesh gateway have conflicting hosts",
		Codes:       []MessageType{ConflictingMeshGatewayVirtualServiceHosts},
		Run: func(s *Snapshot, report func(Message)) {
			byHost := map[string][]*Resource{}
			for _, r := range s.Kind("VirtualService") {
				vs := virtualService(r)
				if vs == nil || !(len(vs.GetGateways()) == 0 || contains(vs.GetGateways(), "mesh")) {
					continue
				}
				for _, h := range vs.GetHosts() {
					fqdn := s.FQDN(h, r.Key.Namespace)
					if rs := byHost[fqdn]; len(rs) == 0 || rs[len(rs)-1] != r {
						byHost[fqdn] = append(byHost[fqdn], r)
					}
				}
			}
			for _, h := range sortedKeys(byHost) {
				rs := byHost[h]
				if len(rs) < 2 {
					continue
				}
				names := strings.Join(resourceNames(rs), ",")
				for _, r := range rs {
					report(newMessage(ConflictingMeshGatewayVirtualServiceHosts, r, r.Line("spec", "hosts"), names, h))
				}
			}
		},
	}
}
