package xds

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	rbacv3 "github.com/envoyproxy/go-control-plane/envoy/config/rbac/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	rbachttpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/rbac/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	rbacnetv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/rbac/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"
	securityapi "istio.io/api/security/v1beta1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"

	"skiff.dev/skiff/pkg/model"
)

// Two RBAC filters, DENY then ALLOW; gRPC rejects duplicate filter names, so they differ.
const (
	rbacDenyFilter         = "envoy.filters.http.rbac.deny"
	rbacAllowFilter        = "envoy.filters.http.rbac"
	rbacNetworkDenyFilter  = "envoy.filters.network.rbac.deny"
	rbacNetworkAllowFilter = "envoy.filters.network.rbac"
)

// authzTarget is what enforces the rules; each understands a different subset of them.
type authzTarget int

const (
	// authzHTTP: Envoy's HTTP RBAC filter on a sidecar's inbound HTTP ports.
	authzHTTP authzTarget = iota
	// authzGRPC: grpc-go's RBAC filter (gRFC A41) on a proxyless server listener.
	authzGRPC
	// authzTCP: Envoy's network RBAC filter on a sidecar's inbound TCP ports; it cannot see requests.
	authzTCP
)

// authz is AuthorizationPolicy translated for one workload: the RBAC rules to enforce (nil when no policy
// of that action applies) and notes on what was skipped and why.
type authz struct {
	deny, allow *rbacv3.RBAC
	notes       []string
}

// AuthorizationNotes explains which parts of the AuthorizationPolicies applying to proxy p were not
// translated and why (an unsupported action, field or condition), for tools and logs. A sidecar's notes
// for its TCP ports, where HTTP fields cannot apply, are prefixed "tcp: ".
func AuthorizationNotes(m *model.Mesh, p *model.Proxy) []string {
	policies := m.AuthorizationPolicies(p.Namespace, p.Labels)
	if p.Type == model.ProxylessGRPC {
		return translateAuthz(policies, authzGRPC).notes
	}
	notes := translateAuthz(policies, authzHTTP).notes
	for _, n := range translateAuthz(policies, authzTCP).notes {
		notes = append(notes, "tcp: "+n)
	}
	return notes
}

// rbacHTTPFilters are the RBAC filters to run before the router on the proxy's inbound HTTP traffic.
func (g *generator) rbacHTTPFilters() []*hcmv3.HttpFilter {
	target := authzHTTP
	if g.proxy.Type == model.ProxylessGRPC {
		target = authzGRPC
	}
	a := translateAuthz(g.mesh.AuthorizationPolicies(g.proxy.Namespace, g.proxy.Labels), target)
	var out []*hcmv3.HttpFilter
	for _, f := range []struct {
		name  string
		rules *rbacv3.RBAC
	}{{rbacDenyFilter, a.deny}, {rbacAllowFilter, a.allow}} {
		if f.rules != nil {
			out = append(out, &hcmv3.HttpFilter{Name: f.name, ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: toAny(&rbachttpv3.RBAC{Rules: f.rules})}})
		}
	}
	return out
}

// rbacNetworkFilters are the RBAC filters to run before tcp_proxy on the sidecar's inbound TCP ports.
func (g *generator) rbacNetworkFilters() []*listenerv3.Filter {
	a := translateAuthz(g.mesh.AuthorizationPolicies(g.proxy.Namespace, g.proxy.Labels), authzTCP)
	var out []*listenerv3.Filter
	for _, f := range []struct {
		name, stat string
		rules      *rbacv3.RBAC
	}{{rbacNetworkDenyFilter, "tcp.deny.", a.deny}, {rbacNetworkAllowFilter, "tcp.", a.allow}} {
		if f.rules != nil {
			out = append(out, &listenerv3.Filter{Name: f.name, ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: toAny(&rbacnetv3.RBAC{Rules: f.rules, StatPrefix: f.stat})}})
		}
	}
	return out
}

// translateAuthz follows Istio's semantics: DENY policies are checked first; as soon as one ALLOW policy
// applies, only requests matching one of its rules pass (an ALLOW policy without rules allows nothing).
// A rule that cannot be translated is dropped from an ALLOW policy (it allows less); in a DENY policy the
// untranslatable parts are ignored instead, so the rule denies more: both fail closed. That is also
// Istio's treatment of HTTP-only fields (methods, paths, request headers) on TCP ports.
func translateAuthz(policies []*securityv1.AuthorizationPolicy, target authzTarget) authz {
	var a authz
	for _, ap := range policies {
		spec := &ap.Spec
		var dst **rbacv3.RBAC
		action := rbacv3.RBAC_ALLOW
		switch spec.GetAction() {
		case securityapi.AuthorizationPolicy_ALLOW:
			dst = &a.allow
		case securityapi.AuthorizationPolicy_DENY:
			dst, action = &a.deny, rbacv3.RBAC_DENY
		default:
			a.notes = append(a.notes, fmt.Sprintf("%s/%s: action %s is not supported; policy skipped", ap.Namespace, ap.Name, spec.GetAction()))
			continue
		}
		if *dst == nil {
			*dst = &rbacv3.RBAC{Action: action, Policies: map[string]*rbacv3.Policy{}}
		}
		for i, rule := range spec.GetRules() {
			name := fmt.Sprintf("ns[%s]-policy[%s]-rule[%d]", ap.Namespace, ap.Name, i)
			t := ruleTranslator{target: target}
			policy := t.rule(rule)
			for _, p := range t.problems {
				if action == rbacv3.RBAC_ALLOW {
					a.notes = append(a.notes, fmt.Sprintf("%s/%s rule %d: %s; rule skipped (allows nothing)", ap.Namespace, ap.Name, i, p))
				} else {
					a.notes = append(a.notes, fmt.Sprintf("%s/%s rule %d: %s; ignored, so the rule denies more", ap.Namespace, ap.Name, i, p))
				}
			}
			if len(t.problems) > 0 && action == rbacv3.RBAC_ALLOW {
				continue
			}
			(*dst).Policies[name] = policy
		}
	}
	// A DENY filter without policies denies nothing: leave it out.
	if a.deny != nil && len(a.deny.Policies) == 0 {
		a.deny = nil
	}
	return a
}

// ruleTranslator builds one rule's policy, collecting what it could not translate.
type ruleTranslator struct {
	target   authzTarget
	problems []string
}

func (t *ruleTranslator) fail(format string, args ...any) {
	t.problems = append(t.problems, fmt.Sprintf(format, args...))
}

// rule: the from entries are alternatives, so are the to entries, and the when conditions must all hold.
// Conditions on the peer join every principal, conditions on the request every permission.
func (t *ruleTranslator) rule(r *securityapi.Rule) *rbacv3.Policy {
	var whenIDs []*rbacv3.Principal
	var whenRules []*rbacv3.Permission
	for _, c := range r.GetWhen() {
		id, perm := t.condition(c)
		if id != nil {
			whenIDs = append(whenIDs, id)
		}
		if perm != nil {
			whenRules = append(whenRules, perm)
		}
	}
	p := &rbacv3.Policy{}
	for _, from := range r.GetFrom() {
		p.Principals = append(p.Principals, andIDs(append(t.source(from.GetSource()), whenIDs...)))
	}
	if len(p.Principals) == 0 {
		p.Principals = []*rbacv3.Principal{andIDs(whenIDs)}
	}
	for _, to := range r.GetTo() {
		p.Permissions = append(p.Permissions, andRules(append(t.operation(to.GetOperation()), whenRules...)))
	}
	if len(p.Permissions) == 0 {
		p.Permissions = []*rbacv3.Permission{andRules(whenRules)}
	}
	return p
}

func (t *ruleTranslator) source(s *securityapi.Source) []*rbacv3.Principal {
	var ids []*rbacv3.Principal
	add := func(values []string, negate bool, one func(string) *rbacv3.Principal) {
		if len(values) == 0 {
			return
		}
		var alts []*rbacv3.Principal
		for _, v := range values {
			if id := one(v); id != nil {
				alts = append(alts, id)
			}
		}
		if len(alts) == 0 {
			return
		}
		id := orIDs(alts)
		if negate {
			id = &rbacv3.Principal{Identifier: &rbacv3.Principal_NotId{NotId: id}}
		}
		ids = append(ids, id)
	}
	add(s.GetPrincipals(), false, principalID)
	add(s.GetNotPrincipals(), true, principalID)
	add(s.GetNamespaces(), false, namespaceID)
	add(s.GetNotNamespaces(), true, namespaceID)
	add(s.GetIpBlocks(), false, t.ipID(false))
	add(s.GetNotIpBlocks(), true, t.ipID(false))
	add(s.GetRemoteIpBlocks(), false, t.ipID(true))
	add(s.GetNotRemoteIpBlocks(), true, t.ipID(true))
	if len(s.GetRequestPrincipals())+len(s.GetNotRequestPrincipals()) > 0 && t.needsJWT("source.requestPrincipals") {
		add(s.GetRequestPrincipals(), false, requestPrincipalID)
		add(s.GetNotRequestPrincipals(), true, requestPrincipalID)
	}
	for _, f := range []struct {
		field  string
		values []string
	}{
		{"serviceAccounts", s.GetServiceAccounts()}, {"notServiceAccounts", s.GetNotServiceAccounts()},
		{"trustDomains", s.GetTrustDomains()}, {"notTrustDomains", s.GetNotTrustDomains()},
	} {
		if len(f.values) > 0 {
			t.fail("source.%s is not supported", f.field)
		}
	}
	return ids
}

func (t *ruleTranslator) operation(o *securityapi.Operation) []*rbacv3.Permission {
	var rules []*rbacv3.Permission
	add := func(values []string, negate bool, one func(string) *rbacv3.Permission) {
		if len(values) == 0 {
			return
		}
		var alts []*rbacv3.Permission
		for _, v := range values {
			if r := one(v); r != nil {
				alts = append(alts, r)
			}
		}
		if len(alts) == 0 {
			return
		}
		r := orRules(alts)
		if negate {
			r = &rbacv3.Permission{Rule: &rbacv3.Permission_NotRule{NotRule: r}}
		}
		rules = append(rules, r)
	}
	if t.target == authzTCP && len(o.GetHosts())+len(o.GetNotHosts())+len(o.GetMethods())+len(o.GetNotMethods())+len(o.GetPaths())+len(o.GetNotPaths()) > 0 {
		t.fail("operation hosts, methods and paths apply only to HTTP")
	} else {
		add(o.GetHosts(), false, hostRule)
		add(o.GetNotHosts(), true, hostRule)
		add(o.GetMethods(), false, methodRule)
		add(o.GetNotMethods(), true, methodRule)
		add(o.GetPaths(), false, pathRule)
		add(o.GetNotPaths(), true, pathRule)
	}
	add(o.GetPorts(), false, t.portRule)
	add(o.GetNotPorts(), true, t.portRule)
	return rules
}

// condition translates one when condition into a principal or a permission (the other is nil).
func (t *ruleTranslator) condition(c *securityapi.Condition) (*rbacv3.Principal, *rbacv3.Permission) {
	key := c.GetKey()
	var id func(string) *rbacv3.Principal
	var perm func(string) *rbacv3.Permission
	switch {
	case strings.HasPrefix(key, "request.headers[") && strings.HasSuffix(key, "]"):
		header := strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(key, "request.headers["), "]"))
		if !validHeaderName(strings.TrimPrefix(header, ":")) { // pseudo-headers such as :authority too
			t.fail("condition %q does not name a valid header", key)
			return nil, nil
		}
		if t.target == authzTCP {
			t.fail("condition %q applies only to HTTP", key)
			return nil, nil
		}
		// gRPC rejects the whole listener for these header names (gRFC A41).
		if t.target == authzGRPC && (header == ":scheme" || strings.HasPrefix(header, "grpc-")) {
			t.fail("condition %q: gRPC servers cannot match header %q", key, header)
			return nil, nil
		}
		id = func(v string) *rbacv3.Principal {
			return &rbacv3.Principal{Identifier: &rbacv3.Principal_Header{Header: rbacHeader(header, v)}}
		}
	case key == "source.ip":
		id = t.ipID(false)
	case key == "remote.ip":
		id = t.ipID(true)
	case key == "source.namespace":
		id = namespaceID
	case key == "source.principal":
		id = principalID
	case key == "destination.port":
		perm = t.portRule
	case key == "request.auth.principal":
		id = requestPrincipalID
	case key == "request.auth.audiences":
		id = jwtClaimID([]string{"aud"})
	case key == "request.auth.presenter":
		id = jwtClaimID([]string{"azp"})
	case strings.HasPrefix(key, "request.auth.claims["):
		claims, ok := parseClaimPath(strings.TrimPrefix(key, "request.auth.claims"))
		if !ok {
			t.fail("condition %q does not name a claim as request.auth.claims[name] or request.auth.claims[outer][inner]", key)
			return nil, nil
		}
		id = jwtClaimID(claims)
	default:
		t.fail("condition key %q is not supported", key)
		return nil, nil
	}
	if len(c.GetValues()) == 0 && len(c.GetNotValues()) == 0 {
		t.fail("condition %q has neither values nor notValues", key)
		return nil, nil
	}
	if strings.HasPrefix(key, "request.auth.") && !t.needsJWT(fmt.Sprintf("condition %q", key)) {
		return nil, nil
	}
	if id != nil {
		var all []*rbacv3.Principal
		if vs := collect(c.GetValues(), id); len(vs) > 0 {
			all = append(all, orIDs(vs))
		}
		if vs := collect(c.GetNotValues(), id); len(vs) > 0 {
			all = append(all, &rbacv3.Principal{Identifier: &rbacv3.Principal_NotId{NotId: orIDs(vs)}})
		}
		return andIDs(all), nil
	}
	var all []*rbacv3.Permission
	if vs := collect(c.GetValues(), perm); len(vs) > 0 {
		all = append(all, orRules(vs))
	}
	if vs := collect(c.GetNotValues(), perm); len(vs) > 0 {
		all = append(all, &rbacv3.Permission{Rule: &rbacv3.Permission_NotRule{NotRule: orRules(vs)}})
	}
	return nil, andRules(all)
}

func collect[T any](values []string, one func(string) *T) []*T {
	var out []*T
	for _, v := range values {
		if x := one(v); x != nil {
			out = append(out, x)
		}
	}
	return out
}

// principalID matches the peer certificate's SPIFFE URI SAN: Istio principals are the URI without
// "spiffe://", with a * at either end as a wildcard.
func principalID(v string) *rbacv3.Principal {
	var m *matcherv3.StringMatcher
	switch {
	case v == "*":
		m = regexMatcher(".+")
	case strings.HasPrefix(v, "*"):
		m = &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Suffix{Suffix: v[1:]}}
	case strings.HasSuffix(v, "*"):
		m = &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Prefix{Prefix: "spiffe://" + v[:len(v)-1]}}
	default:
		m = &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: "spiffe://" + v}}
	}
	return authenticated(m)
}

// namespaceID matches the namespace part of the peer's SPIFFE identity, as Istio does.
func namespaceID(v string) *rbacv3.Principal {
	ns := regexp.QuoteMeta(v)
	switch {
	case v == "*":
		ns = "[^/]+"
	case strings.HasPrefix(v, "*"):
		ns = "[^/]*" + regexp.QuoteMeta(v[1:])
	case strings.HasSuffix(v, "*"):
		ns = regexp.QuoteMeta(v[:len(v)-1]) + "[^/]*"
	}
	return authenticated(regexMatcher(".*/ns/" + ns + "/.*"))
}

func authenticated(m *matcherv3.StringMatcher) *rbacv3.Principal {
	return &rbacv3.Principal{Identifier: &rbacv3.Principal_Authenticated_{Authenticated: &rbacv3.Principal_Authenticated{PrincipalName: m}}}
}

// ipID matches the connection's peer address (ipBlocks, source.ip) or, with remote, the client address
// after X-Forwarded-For (remoteIpBlocks, remote.ip); gRPC treats both as the peer address.
func (t *ruleTranslator) ipID(remote bool) func(string) *rbacv3.Principal {
	return func(v string) *rbacv3.Principal {
		cidr, ok := parseCIDR(v)
		if !ok {
			t.fail("%q is not an IP address or CIDR range", v)
			return nil
		}
		if remote {
			return &rbacv3.Principal{Identifier: &rbacv3.Principal_RemoteIp{RemoteIp: cidr}}
		}
		return &rbacv3.Principal{Identifier: &rbacv3.Principal_DirectRemoteIp{DirectRemoteIp: cidr}}
	}
}

func parseCIDR(v string) (*corev3.CidrRange, bool) {
	prefix, err := netip.ParsePrefix(v)
	if err != nil {
		addr, aerr := netip.ParseAddr(v)
		if aerr != nil || addr.Zone() != "" {
			return nil, false
		}
		prefix = netip.PrefixFrom(addr, addr.BitLen())
	}
	if !prefix.IsValid() {
		return nil, false
	}
	return &corev3.CidrRange{AddressPrefix: prefix.Addr().String(), PrefixLen: wrapperspb.UInt32(uint32(prefix.Bits()))}, true
}

// hostRule matches the :authority (Host) header case-insensitively, with or without a port, as Istio
// does; a * at either end is a wildcard.
func hostRule(v string) *rbacv3.Permission {
	if v == "*" {
		return &rbacv3.Permission{Rule: &rbacv3.Permission_Header{Header: rbacHeader(":authority", v)}}
	}
	host := regexp.QuoteMeta(strings.Trim(v, "*"))
	if strings.HasPrefix(v, "*") {
		host = ".*" + host
	}
	if strings.HasSuffix(v, "*") {
		host += ".*"
	}
	return &rbacv3.Permission{Rule: &rbacv3.Permission_Header{Header: &routev3.HeaderMatcher{Name: ":authority",
		HeaderMatchSpecifier: &routev3.HeaderMatcher_StringMatch{StringMatch: regexMatcher("(?i)" + host + "(:[0-9]+)?")}}}}
}

func methodRule(v string) *rbacv3.Permission {
	return &rbacv3.Permission{Rule: &rbacv3.Permission_Header{Header: rbacHeader(":method", v)}}
}

// pathRule matches the request path without its query; gRPC matches it against /<service>/<method>.
func pathRule(v string) *rbacv3.Permission {
	return &rbacv3.Permission{Rule: &rbacv3.Permission_UrlPath{UrlPath: &matcherv3.PathMatcher{
		Rule: &matcherv3.PathMatcher_Path{Path: rbacString(v)},
	}}}
}

func (t *ruleTranslator) portRule(v string) *rbacv3.Permission {
	port, err := strconv.ParseUint(v, 10, 32)
	if err != nil || port == 0 || port > 65535 {
		t.fail("%q is not a port number", v)
		return nil
	}
	return &rbacv3.Permission{Rule: &rbacv3.Permission_DestinationPort{DestinationPort: uint32(port)}}
}

// rbacHeader: "*" only asks for the header to be present.
func rbacHeader(name, v string) *routev3.HeaderMatcher {
	if v == "*" {
		return &routev3.HeaderMatcher{Name: name, HeaderMatchSpecifier: &routev3.HeaderMatcher_PresentMatch{PresentMatch: true}}
	}
	return &routev3.HeaderMatcher{Name: name, HeaderMatchSpecifier: &routev3.HeaderMatcher_StringMatch{StringMatch: rbacString(v)}}
}

// rbacString is Istio's value syntax: exact, "prefix*", "*suffix", or "*" for any non-empty value.
func rbacString(v string) *matcherv3.StringMatcher {
	switch {
	case v == "*":
		return regexMatcher(".+")
	case strings.HasPrefix(v, "*"):
		return &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Suffix{Suffix: v[1:]}}
	case strings.HasSuffix(v, "*"):
		return &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Prefix{Prefix: v[:len(v)-1]}}
	}
	return &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: v}}
}

func regexMatcher(re string) *matcherv3.StringMatcher {
	return &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_SafeRegex{SafeRegex: &matcherv3.RegexMatcher{Regex: re}}}
}

// andIDs, orIDs, andRules, orRules avoid one-element sets; an empty conjunction matches anything.
func andIDs(ids []*rbacv3.Principal) *rbacv3.Principal {
	switch len(ids) {
	case 0:
		return &rbacv3.Principal{Identifier: &rbacv3.Principal_Any{Any: true}}
	case 1:
		return ids[0]
	}
	return &rbacv3.Principal{Identifier: &rbacv3.Principal_AndIds{AndIds: &rbacv3.Principal_Set{Ids: ids}}}
}

func orIDs(ids []*rbacv3.Principal) *rbacv3.Principal {
	if len(ids) == 1 {
		return ids[0]
	}
	return &rbacv3.Principal{Identifier: &rbacv3.Principal_OrIds{OrIds: &rbacv3.Principal_Set{Ids: ids}}}
}

func andRules(rules []*rbacv3.Permission) *rbacv3.Permission {
	switch len(rules) {
	case 0:
		return &rbacv3.Permission{Rule: &rbacv3.Permission_Any{Any: true}}
	case 1:
		return rules[0]
	}
	return &rbacv3.Permission{Rule: &rbacv3.Permission_AndRules{AndRules: &rbacv3.Permission_Set{Rules: rules}}}
}

func orRules(rules []*rbacv3.Permission) *rbacv3.Permission {
	if len(rules) == 1 {
		return rules[0]
	}
	return &rbacv3.Permission{Rule: &rbacv3.Permission_OrRules{OrRules: &rbacv3.Permission_Set{Rules: rules}}}
}
