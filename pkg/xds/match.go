package xds

import (
	"cmp"
	"slices"
	"strings"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"
	networking "istio.io/api/networking/v1alpha3"
)

// routeMatch translates one VirtualService match block. A nil match is the catch-all prefix "/".
func routeMatch(m *networking.HTTPMatchRequest) *routev3.RouteMatch {
	out := &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}}
	if m == nil {
		return out
	}
	switch u := m.GetUri().GetMatchType().(type) {
	case *networking.StringMatch_Exact:
		out.PathSpecifier = &routev3.RouteMatch_Path{Path: u.Exact}
	case *networking.StringMatch_Prefix:
		out.PathSpecifier = &routev3.RouteMatch_Prefix{Prefix: u.Prefix}
	case *networking.StringMatch_Regex:
		if u.Regex != "" {
			out.PathSpecifier = &routev3.RouteMatch_SafeRegex{SafeRegex: &matcherv3.RegexMatcher{Regex: u.Regex}}
		}
	}
	if m.GetIgnoreUriCase() {
		out.CaseSensitive = wrapperspb.Bool(false)
	}
	pseudo := []struct {
		name  string
		match *networking.StringMatch
	}{{":authority", m.GetAuthority()}, {":method", m.GetMethod()}, {":scheme", m.GetScheme()}}
	for _, p := range pseudo {
		if p.match != nil {
			out.Headers = append(out.Headers, headerMatcher(p.name, p.match, false))
		}
	}
	for _, name := range sortedKeys(m.GetHeaders()) {
		out.Headers = append(out.Headers, headerMatcher(strings.ToLower(name), m.GetHeaders()[name], false))
	}
	for _, name := range sortedKeys(m.GetWithoutHeaders()) {
		out.Headers = append(out.Headers, headerMatcher(strings.ToLower(name), m.GetWithoutHeaders()[name], true))
	}
	for _, name := range sortedKeys(m.GetQueryParams()) {
		qm := &routev3.QueryParameterMatcher{Name: name}
		if sm := stringMatcher(m.GetQueryParams()[name]); sm != nil {
			qm.QueryParameterMatchSpecifier = &routev3.QueryParameterMatcher_StringMatch{StringMatch: sm}
		} else {
			qm.QueryParameterMatchSpecifier = &routev3.QueryParameterMatcher_PresentMatch{PresentMatch: true}
		}
		out.QueryParameters = append(out.QueryParameters, qm)
	}
	return out
}

// headerMatcher: an empty StringMatch ({}) means "the header is present", as in Istio.
func headerMatcher(name string, m *networking.StringMatch, invert bool) *routev3.HeaderMatcher {
	hm := &routev3.HeaderMatcher{Name: name, InvertMatch: invert}
	if sm := stringMatcher(m); sm != nil {
		hm.HeaderMatchSpecifier = &routev3.HeaderMatcher_StringMatch{StringMatch: sm}
	} else {
		hm.HeaderMatchSpecifier = &routev3.HeaderMatcher_PresentMatch{PresentMatch: true}
	}
	return hm
}

func stringMatcher(m *networking.StringMatch) *matcherv3.StringMatcher {
	switch t := m.GetMatchType().(type) {
	case *networking.StringMatch_Exact:
		return &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: t.Exact}}
	case *networking.StringMatch_Prefix:
		if t.Prefix == "" {
			return nil
		}
		return &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Prefix{Prefix: t.Prefix}}
	case *networking.StringMatch_Regex:
		if t.Regex == "" {
			return nil
		}
		return &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_SafeRegex{SafeRegex: &matcherv3.RegexMatcher{Regex: t.Regex}}}
	}
	return nil
}

// matchApplies says whether a match block is meant for this proxy and listener port (Istio's port,
// sourceLabels, sourceNamespace and gateways conditions).
func (g *generator) matchApplies(m *networking.HTTPMatchRequest, rc routeContext) bool {
	if m == nil {
		return true
	}
	if m.GetPort() != 0 && m.GetPort() != rc.port {
		return false
	}
	if sel := m.GetSourceLabels(); len(sel) > 0 {
		g.labelsRead = true
		if !hasLabels(g.proxy.Labels, sel) {
			return false
		}
	}
	if ns := m.GetSourceNamespace(); ns != "" && ns != g.proxy.Namespace {
		return false
	}
	if gws := m.GetGateways(); len(gws) > 0 && !boundTo(gws, rc.namespace, rc.gateway) {
		return false
	}
	return true
}

// boundTo says whether a gateways list (names relative to the config's namespace, or "mesh") includes
// gateway, given as "mesh" or "<namespace>/<name>".
func boundTo(gateways []string, namespace, gateway string) bool {
	for _, gw := range gateways {
		if gw == gateway || (!strings.Contains(gw, "/") && namespace+"/"+gw == gateway) {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, cmp.Compare)
	return keys
}
