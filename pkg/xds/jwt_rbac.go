package xds

import (
	"strings"

	rbacv3 "github.com/envoyproxy/go-control-plane/envoy/config/rbac/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
)

// AuthorizationPolicy on JWTs (requestPrincipals, request.auth.*): RBAC reads the payload the jwt_authn
// filter (jwt.go) verified and stored in dynamic metadata, as Istio's RBAC does. Without a
// RequestAuthentication there is no payload, so these never match, as in Istio.

// needsJWT says whether the target can see a verified JWT, recording a problem when it cannot. TCP has
// no requests. Proxyless gRPC has no jwt_authn filter (grpc-go's RBAC ignores metadata matchers), so no
// request there carries a verified token: such a rule must fail closed, which the usual problem path
// does: an ALLOW rule is dropped (never matches), a DENY rule loses the JWT condition and so denies
// every request its other fields match.
func (t *ruleTranslator) needsJWT(what string) bool {
	switch t.target {
	case authzTCP:
		t.fail("%s applies only to HTTP", what)
		return false
	case authzGRPC:
		t.fail("%s needs a verified JWT, which proxyless gRPC servers cannot check", what)
		return false
	}
	return true
}

// requestPrincipalID matches Istio's request principal "<iss>/<sub>", split at the last "/" since the
// issuer is often a URL: "*" is any authenticated request; a leading or trailing * is a suffix or
// prefix wildcard on the issuer or subject side it falls on; a value without "/" matches the issuer by
// prefix or the subject by suffix.
func requestPrincipalID(v string) *rbacv3.Principal {
	iss, sub, found := v, "", false
	if i := strings.LastIndex(v, "/"); i >= 0 {
		iss, sub, found = v[:i], v[i+1:], true
	}
	anyValue := regexMatcher(".+")
	exact := func(s string) *matcherv3.StringMatcher {
		return &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Exact{Exact: s}}
	}
	var mIss, mSub *matcherv3.StringMatcher
	switch {
	case v == "*":
		mIss, mSub = anyValue, anyValue
	case strings.HasPrefix(v, "*") && found:
		mIss, mSub = anyValue, exact(sub)
		if iss != "*" {
			mIss = &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Suffix{Suffix: iss[1:]}}
		}
	case strings.HasPrefix(v, "*"):
		mIss, mSub = anyValue, &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Suffix{Suffix: v[1:]}}
	case strings.HasSuffix(v, "*") && found:
		mIss, mSub = exact(iss), anyValue
		if sub != "*" {
			mSub = &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Prefix{Prefix: sub[:len(sub)-1]}}
		}
	case strings.HasSuffix(v, "*"):
		mIss, mSub = &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Prefix{Prefix: v[:len(v)-1]}}, anyValue
	default:
		mIss, mSub = exact(iss), exact(sub)
	}
	return andIDs([]*rbacv3.Principal{
		jwtPayloadID([]string{"iss"}, &matcherv3.ValueMatcher{MatchPattern: &matcherv3.ValueMatcher_StringMatch{StringMatch: mIss}}),
		jwtPayloadID([]string{"sub"}, &matcherv3.ValueMatcher{MatchPattern: &matcherv3.ValueMatcher_StringMatch{StringMatch: mSub}}),
	})
}

// jwtClaimID matches a claim at path in the payload with Istio's value syntax (exact, prefix*, *suffix,
// * for any). A claim may be a string or a list of strings (aud, groups, a normalized scope), so the
// value matches either.
func jwtClaimID(path []string) func(string) *rbacv3.Principal {
	return func(v string) *rbacv3.Principal {
		str := &matcherv3.ValueMatcher{MatchPattern: &matcherv3.ValueMatcher_StringMatch{StringMatch: rbacString(v)}}
		list := &matcherv3.ValueMatcher{MatchPattern: &matcherv3.ValueMatcher_ListMatch{ListMatch: &matcherv3.ListMatcher{
			MatchPattern: &matcherv3.ListMatcher_OneOf{OneOf: str},
		}}}
		return jwtPayloadID(path, &matcherv3.ValueMatcher{MatchPattern: &matcherv3.ValueMatcher_OrMatch{OrMatch: &matcherv3.OrMatcher{
			ValueMatchers: []*matcherv3.ValueMatcher{list, str},
		}}})
	}
}

func jwtPayloadID(path []string, value *matcherv3.ValueMatcher) *rbacv3.Principal {
	m := &matcherv3.MetadataMatcher{Filter: jwtAuthnFilter, Value: value}
	for _, key := range append([]string{jwtPayloadKey}, path...) {
		m.Path = append(m.Path, &matcherv3.MetadataMatcher_PathSegment{Segment: &matcherv3.MetadataMatcher_PathSegment_Key{Key: key}})
	}
	return &rbacv3.Principal{Identifier: &rbacv3.Principal_Metadata{Metadata: m}}
}

// parseClaimPath reads the brackets after request.auth.claims: "[name]" or nested "[outer][inner]".
func parseClaimPath(s string) ([]string, bool) {
	if !strings.HasPrefix(s, "[") || !strings.HasSuffix(s, "]") {
		return nil, false
	}
	parts := strings.Split(s[1:len(s)-1], "][")
	for _, p := range parts {
		if p == "" || strings.ContainsAny(p, "[]") {
			return nil, false
		}
	}
	return parts, true
}
