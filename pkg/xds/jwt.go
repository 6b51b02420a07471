package xds

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	jwtv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/jwt_authn/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/types/known/emptypb"
	securityapi "istio.io/api/security/v1beta1"

	"skiff.dev/skiff/pkg/model"
)

const (
	// jwtAuthnFilter is also the dynamic metadata namespace the filter writes the verified payload to,
	// under jwtPayloadKey: Istio's names, which the RBAC matchers in rbac.go read.
	jwtAuthnFilter = "envoy.filters.http.jwt_authn"
	jwtPayloadKey  = "payload"
	// jwksClusterPrefix names the clusters generated for JWKS servers outside the mesh:
	// jwks|<scheme>://<host>:<port>.
	jwksClusterPrefix = "jwks|"

	jwksFetchTimeout  = 5 * time.Second // Istio's default for jwtRules[].timeout
	jwksCacheDuration = 5 * time.Minute // Istio's
)

// rejectAllJWKS is the key set of a provider whose keys cannot be had (no jwks and no usable jwksUri):
// an RSA public key whose private key was thrown away, so every token presented to that provider fails
// verification (401) instead of reaching the application unchecked, as Istio does with its fake JWKS.
const rejectAllJWKS = `{"keys":[{"kty":"RSA","alg":"RS256","use":"sig","kid":"skiff-reject-all","e":"AQAB",` +
	`"n":"u3aKaxHvyMF6B2RrJf2FDpiMwTmkpKaOU5dS5sjGRuSZjbeSAUB_CA0COllgIhVREgrGLW0yz_9ezP65giKfhSdyzEKYz55M0jg1FQuYnn12ilXC4QlL1gg_` +
	`pkbfgaA9DzFsP1D1TfLG3HYeHZGHqUcGorZUxXySVXSbT0ugc8Ed8JQ6om39g6H7b9U922HyvRJ8Uwfk-4hju1OCe5vipMoYnJN5MBUkU0TxNyQ28LzEzDwVYChk` +
	`8hYdARClgKNSDUIwBvK8lUzZStezvtY4WL3LvzJLj53_CS8TLRbTR-U7-kNo8j6mW-KVQInKBope0lzp1xf9IuNcgLX7ZuYZyQ"}]}`

// jwtAuthn is RequestAuthentication translated for one proxy: the jwt_authn filter config (nil when no
// rule applies), the clusters its remote JWKS need that CDS does not already carry, and notes on what
// was changed or dropped.
type jwtAuthn struct {
	config   *jwtv3.JwtAuthentication
	clusters []*clusterv3.Cluster
	notes    []string
}

// AuthenticationNotes explains which parts of the RequestAuthentications applying to proxy p were not
// translated as written and why, for tools and logs.
func AuthenticationNotes(m *model.Mesh, p *model.Proxy) []string {
	g := &generator{mesh: m, proxy: p}
	if p.Type == model.Sidecar {
		g.scope = m.SidecarScope(p.Namespace, p.Labels)
	}
	return g.translateJWT().notes
}

// jwtAuthnFilters is the jwt_authn filter to run before RBAC on the proxy's HTTP traffic, if any
// RequestAuthentication applies.
func (g *generator) jwtAuthnFilters() []*hcmv3.HttpFilter {
	a := g.translateJWT()
	if a.config == nil {
		return nil
	}
	return []*hcmv3.HttpFilter{{Name: jwtAuthnFilter, ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: toAny(a.config)}}}
}

// jwksClusters are the clusters the jwt_authn filter fetches remote JWKS through that are not services
// of the mesh, sorted by name.
func (g *generator) jwksClusters() []*clusterv3.Cluster {
	return g.translateJWT().clusters
}

// translateJWT follows Istio's translation (pilot's authn policy applier, "envoy" JWKS fetch mode): one
// provider per jwtRule, named origins-<i> in issuer order, writing the verified payload to dynamic
// metadata; a request with an invalid token is rejected, one without a token passes on to RBAC.
// Proxyless gRPC has no jwt_authn filter: there RequestAuthentication is not enforced, and RBAC rules
// that need a verified token fail closed (see jwt_rbac.go).
func (g *generator) translateJWT() jwtAuthn {
	var a jwtAuthn
	rules := g.mesh.JWTRules(g.proxy.Namespace, g.proxy.Labels)
	if len(rules) == 0 {
		return a
	}
	if g.proxy.Type == model.ProxylessGRPC {
		a.notes = append(a.notes, "proxyless gRPC servers cannot verify JWTs: RequestAuthentication is not enforced, and AuthorizationPolicy rules on request principals or claims fail closed (an ALLOW rule never matches, a DENY rule ignores its JWT conditions)")
		return a
	}
	cfg := &jwtv3.JwtAuthentication{Providers: map[string]*jwtv3.JwtProvider{}, BypassCorsPreflight: true}
	clusters := map[string]*clusterv3.Cluster{}
	var required, optional []*jwtv3.JwtRequirement // each provider's requirement
	var singles []*jwtv3.JwtRequirement            // each provider alone
	anyRequired := false
	for i, r := range rules {
		name := fmt.Sprintf("origins-%d", i)
		cfg.Providers[name] = g.jwtProvider(r, clusters, &a.notes)
		p := &jwtv3.JwtRequirement{RequiresType: &jwtv3.JwtRequirement_ProviderName{ProviderName: name}}
		singles = append(singles, p)
		if r.GetPresence() == securityapi.JWTRule_REQUIRED {
			anyRequired = true
			required = append(required, p)
			continue
		}
		optional = append(optional, &jwtv3.JwtRequirement{RequiresType: &jwtv3.JwtRequirement_RequiresAny{RequiresAny: &jwtv3.JwtRequirementOrList{
			Requirements: []*jwtv3.JwtRequirement{p, {RequiresType: &jwtv3.JwtRequirement_AllowMissing{AllowMissing: &emptypb.Empty{}}}},
		}}})
	}
	each := slices.Concat(required, optional)
	var req *jwtv3.JwtRequirement
	switch {
	case len(each) == 1:
		req = each[0]
	case anyRequired:
		// Every REQUIRED token must be present and valid, every other one valid if present. Istio's extra
		// "any single provider" alternatives would let a request skip a required token, so there are none.
		req = &jwtv3.JwtRequirement{RequiresType: &jwtv3.JwtRequirement_RequiresAll{RequiresAll: &jwtv3.JwtRequirementAndList{Requirements: each}}}
	default:
		// Istio's: any single valid token, or every token valid where present. The singles cover providers
		// sharing a location, where a token for one is an invalid token for the other.
		all := &jwtv3.JwtRequirement{RequiresType: &jwtv3.JwtRequirement_RequiresAll{RequiresAll: &jwtv3.JwtRequirementAndList{Requirements: each}}}
		req = &jwtv3.JwtRequirement{RequiresType: &jwtv3.JwtRequirement_RequiresAny{RequiresAny: &jwtv3.JwtRequirementOrList{Requirements: append(singles, all)}}}
	}
	cfg.Rules = []*jwtv3.RequirementRule{{
		Match:           &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
		RequirementType: &jwtv3.RequirementRule_Requires{Requires: req},
	}}
	a.config = cfg
	for _, name := range slices.Sorted(mapsKeys(clusters)) {
		a.clusters = append(a.clusters, clusters[name])
	}
	return a
}

// jwtProvider translates one jwtRule; clusters collects the JWKS clusters it needs.
func (g *generator) jwtProvider(r *securityapi.JWTRule, clusters map[string]*clusterv3.Cluster, notes *[]string) *jwtv3.JwtProvider {
	note := func(format string, args ...any) {
		*notes = append(*notes, fmt.Sprintf("issuer %q: ", r.GetIssuer())+fmt.Sprintf(format, args...))
	}
	p := &jwtv3.JwtProvider{
		Issuer:            r.GetIssuer(),
		Audiences:         r.GetAudiences(),
		Forward:           r.GetForwardOriginalToken(),
		PayloadInMetadata: jwtPayloadKey,
		// scope and permission are always split on spaces, as Istio does, so RBAC can match one value.
		NormalizePayloadInMetadata: &jwtv3.JwtProvider_NormalizePayload{SpaceDelimitedClaims: spaceDelimitedClaims(r.GetSpaceDelimitedClaims())},
	}
	if h := r.GetOutputPayloadToHeader(); h != "" {
		if validHeaderName(h) {
			p.ForwardPayloadHeader = h
		} else {
			note("outputPayloadToHeader %q is not a valid header name; the payload is not forwarded", h)
		}
	}
	for _, ch := range r.GetOutputClaimToHeaders() {
		if !validHeaderName(ch.GetHeader()) || ch.GetClaim() == "" {
			note("outputClaimToHeaders entry %q: %q needs a valid header name and a claim; skipped", ch.GetHeader(), ch.GetClaim())
			continue
		}
		p.ClaimToHeaders = append(p.ClaimToHeaders, &jwtv3.JwtClaimToHeader{HeaderName: ch.GetHeader(), ClaimName: ch.GetClaim()})
	}
	for _, h := range r.GetFromHeaders() {
		if !validHeaderName(h.GetName()) || strings.ContainsAny(h.GetPrefix(), "\x00\r\n") {
			note("fromHeaders entry %q is not a valid header name and prefix; skipped", h.GetName())
			continue
		}
		p.FromHeaders = append(p.FromHeaders, &jwtv3.JwtHeader{Name: h.GetName(), ValuePrefix: h.GetPrefix()})
	}
	p.FromParams = r.GetFromParams()
	p.FromCookies = r.GetFromCookies()

	timeout := positiveDuration(r.GetTimeout())
	if timeout == nil || timeout.GetSeconds() >= 1<<32 { // Envoy's bound
		timeout = duration(jwksFetchTimeout)
	}
	switch {
	case r.GetJwksUri() != "": // Istio prefers the URI when both are set
		cluster, ok := g.jwksCluster(r.GetJwksUri(), clusters)
		if !ok {
			note("jwksUri %q is not an http or https URL with a host; every token of this issuer is rejected", r.GetJwksUri())
			p.JwksSourceSpecifier = inlineJWKS(rejectAllJWKS)
			break
		}
		p.JwksSourceSpecifier = &jwtv3.JwtProvider_RemoteJwks{RemoteJwks: &jwtv3.RemoteJwks{
			HttpUri: &corev3.HttpUri{
				Uri:              r.GetJwksUri(),
				HttpUpstreamType: &corev3.HttpUri_Cluster{Cluster: cluster},
				Timeout:          timeout,
			},
			CacheDuration: duration(jwksCacheDuration),
		}}
	case r.GetJwks() != "":
		p.JwksSourceSpecifier = inlineJWKS(r.GetJwks())
	default:
		// Istio's control plane would discover the keys from the issuer (OpenID discovery); Skiff's
		// translation does no network I/O, so such a rule can only reject tokens.
		note("neither jwks nor jwksUri is set; every token of this issuer is rejected")
		p.JwksSourceSpecifier = inlineJWKS(rejectAllJWKS)
	}
	return p
}

func inlineJWKS(jwks string) *jwtv3.JwtProvider_LocalJwks {
	return &jwtv3.JwtProvider_LocalJwks{LocalJwks: &corev3.DataSource{Specifier: &corev3.DataSource_InlineString{InlineString: jwks}}}
}

func spaceDelimitedClaims(extra []string) []string {
	out := []string{"permission", "scope"}
	for _, c := range extra {
		if c != "" && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out
}

// jwksTarget is where a jwksUri points.
type jwksTarget struct {
	scheme, host string
	port         uint32
}

// parseJWKSURI accepts http and https URLs with a host; the port defaults to the scheme's.
func parseJWKSURI(uri string) (jwksTarget, bool) {
	u, err := url.Parse(uri)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return jwksTarget{}, false
	}
	t := jwksTarget{scheme: u.Scheme, host: strings.ToLower(u.Hostname()), port: 80}
	if u.Scheme == "https" {
		t.port = 443
	}
	if ps := u.Port(); ps != "" {
		n, err := strconv.ParseUint(ps, 10, 32)
		if err != nil || n == 0 || n > 65535 {
			return jwksTarget{}, false
		}
		t.port = uint32(n)
	}
	if strings.ContainsAny(t.host, "%/ ") { // zoned IPv6 literals and other oddities Envoy cannot dial
		return jwksTarget{}, false
	}
	return t, true
}

// jwksCluster picks the cluster Envoy fetches a jwksUri through, as Istio's "envoy" fetch mode does: the
// outbound cluster when the host is a service of the mesh (Kubernetes service or ServiceEntry) this proxy
// has a cluster for, so DestinationRules and mesh mTLS apply as to any other traffic to it; otherwise a
// dedicated DNS cluster for host:port, added to clusters, verifying the server's certificate against the
// system roots when the scheme is https.
func (g *generator) jwksCluster(uri string, clusters map[string]*clusterv3.Cluster) (string, bool) {
	t, ok := parseJWKSURI(uri)
	if !ok {
		return "", false
	}
	if svc := g.mesh.Service(t.host); svc != nil && svc.Resolution != model.ResolutionPassthrough &&
		model.Visible(svc.ExportTo, svc.Namespace, g.proxy.Namespace) && model.Imports(g.scope, svc.Namespace, svc.Hostname, g.proxy.Namespace) &&
		slices.ContainsFunc(svc.Ports, func(p model.Port) bool { return p.Number == t.port }) {
		return ClusterName(t.port, "", svc.Hostname), true
	}
	name := jwksClusterPrefix + t.scheme + "://" + net.JoinHostPort(t.host, portName(t.port))
	if clusters[name] == nil {
		clusters[name] = jwksDNSCluster(name, t)
	}
	return name, true
}

func jwksDNSCluster(name string, t jwksTarget) *clusterv3.Cluster {
	c := dnsCluster(name, t.host, t.port)
	_, ipErr := netip.ParseAddr(t.host)
	isIP := ipErr == nil
	if isIP { // nothing to resolve
		c.ClusterDiscoveryType = &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STATIC}
		c.DnsLookupFamily = clusterv3.Cluster_AUTO
	}
	if t.scheme != "https" {
		return c
	}
	san := &tlsv3.SubjectAltNameMatcher{SanType: tlsv3.SubjectAltNameMatcher_DNS, Matcher: &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: t.host}}}
	ctx := &tlsv3.UpstreamTlsContext{CommonTlsContext: &tlsv3.CommonTlsContext{
		ValidationContextType: &tlsv3.CommonTlsContext_ValidationContext{ValidationContext: &tlsv3.CertificateValidationContext{
			SystemRootCerts:           &tlsv3.CertificateValidationContext_SystemRootCerts{},
			MatchTypedSubjectAltNames: []*tlsv3.SubjectAltNameMatcher{san},
		}},
	}}
	if isIP {
		san.SanType = tlsv3.SubjectAltNameMatcher_IP_ADDRESS
	} else {
		ctx.Sni = t.host
	}
	c.TransportSocket = &corev3.TransportSocket{Name: tlsTransportSocket, ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: toAny(ctx)}}
	return c
}
