package xds

import (
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	networking "istio.io/api/networking/v1alpha3"

	"skiff.dev/skiff/pkg/model"
)

// routeContext is what translating one VirtualService needs besides the route itself.
type routeContext struct {
	namespace string // the VirtualService's namespace, for short host names
	port      uint32 // the listener port the virtual host serves
	gateway   string // "mesh" for sidecars and gRPC clients
}

// httpRoutes translates a VirtualService's http section for one port. Each match block becomes one Envoy
// route with the same action, as in Istio; blocks that do not apply to this proxy or port are dropped.
func (g *generator) httpRoutes(vs *networking.VirtualService, rc routeContext) []*routev3.Route {
	var out []*routev3.Route
	for _, hr := range vs.GetHttp() {
		if hr.GetDelegate() != nil {
			out = append(out, g.delegatedRoutes(hr, rc)...)
			continue
		}
		matches := hr.GetMatch()
		if len(matches) == 0 {
			matches = []*networking.HTTPMatchRequest{nil}
		}
		for _, m := range matches {
			if !g.matchApplies(m, rc) {
				continue
			}
			r := g.translateRoute(hr, m, rc)
			if r == nil {
				continue
			}
			out = append(out, r)
		}
	}
	return out
}

func (g *generator) translateRoute(hr *networking.HTTPRoute, m *networking.HTTPMatchRequest, rc routeContext) *routev3.Route {
	r := &routev3.Route{Name: routeName(hr, m), Match: routeMatch(m)}
	switch {
	case hr.GetRedirect() != nil:
		r.Action = &routev3.Route_Redirect{Redirect: redirect(hr.GetRedirect())}
	case hr.GetDirectResponse() != nil:
		dr := hr.GetDirectResponse()
		if dr.GetStatus() < 200 || dr.GetStatus() >= 600 {
			return nil
		}
		action := &routev3.DirectResponseAction{Status: dr.GetStatus()}
		switch b := dr.GetBody().GetSpecifier().(type) {
		case *networking.HTTPBody_String_:
			action.Body = &corev3.DataSource{Specifier: &corev3.DataSource_InlineString{InlineString: b.String_}}
		case *networking.HTTPBody_Bytes:
			action.Body = &corev3.DataSource{Specifier: &corev3.DataSource_InlineBytes{InlineBytes: b.Bytes}}
		}
		r.Action = &routev3.Route_DirectResponse{DirectResponse: action}
	default:
		action := g.routeAction(hr, m, rc)
		if action == nil {
			return nil
		}
		r.Action = &routev3.Route_Route{Route: action}
	}
	if hr.GetFault() != nil || hr.GetCorsPolicy() != nil {
		r.TypedPerFilterConfig = map[string]*anypb.Any{}
		if f := fault(hr.GetFault()); f != nil {
			r.TypedPerFilterConfig[faultFilter] = toAny(f)
		}
		if c := cors(hr.GetCorsPolicy()); c != nil {
			// Optional, so clients without a CORS filter (gRPC) ignore it instead of rejecting the route.
			r.TypedPerFilterConfig[corsFilter] = toAny(&routev3.FilterConfig{Config: toAny(c), IsOptional: true})
		}
		if len(r.TypedPerFilterConfig) == 0 {
			r.TypedPerFilterConfig = nil
		}
	}
	applyHeaderOperations(r, hr.GetHeaders())
	return r
}

func routeName(hr *networking.HTTPRoute, m *networking.HTTPMatchRequest) string {
	if m != nil && m.GetName() != "" && hr.GetName() != "" {
		return hr.GetName() + "." + m.GetName()
	}
	return hr.GetName()
}

func (g *generator) routeAction(hr *networking.HTTPRoute, m *networking.HTTPMatchRequest, rc routeContext) *routev3.RouteAction {
	var targets []weightedTarget
	for _, d := range hr.GetRoute() {
		if d.GetDestination().GetHost() == "" {
			continue
		}
		targets = append(targets, weightedTarget{cluster: g.destinationCluster(d.GetDestination(), rc), weight: d.GetWeight()})
	}
	if len(targets) == 0 {
		return nil
	}
	a := &routev3.RouteAction{Timeout: durationpb.New(0)}
	if len(targets) == 1 {
		a.ClusterSpecifier = &routev3.RouteAction_Cluster{Cluster: targets[0].cluster}
		a.HashPolicy = g.hashPolicy(hr.GetRoute()[0].GetDestination(), rc)
	} else {
		a.ClusterSpecifier = &routev3.RouteAction_WeightedClusters{WeightedClusters: weightedClusters(targets)}
	}
	if t := nonNegativeDuration(hr.GetTimeout()); t != nil && t.AsDuration() > 0 {
		a.Timeout = t
		// gRPC clients ignore timeout and enforce max_stream_duration instead.
		a.MaxStreamDuration = &routev3.RouteAction_MaxStreamDuration{MaxStreamDuration: t, GrpcTimeoutHeaderMax: t}
	}
	a.RetryPolicy = retryPolicy(hr.GetRetries())
	a.RequestMirrorPolicies = g.mirrors(hr, rc)
	if rw := hr.GetRewrite(); rw != nil {
		if rw.GetUri() != "" {
			a.PrefixRewrite = rw.GetUri()
		} else if rr := rw.GetUriRegexRewrite(); rr != nil && rr.GetMatch() != "" {
			a.RegexRewrite = &matcherv3.RegexMatchAndSubstitute{Pattern: &matcherv3.RegexMatcher{Regex: rr.GetMatch()}, Substitution: rr.GetRewrite()}
		}
		if rw.GetAuthority() != "" {
			a.HostRewriteSpecifier = &routev3.RouteAction_HostRewriteLiteral{HostRewriteLiteral: rw.GetAuthority()}
		}
	}
	return a
}

type weightedTarget struct {
	cluster string
	weight  int32
}

// weightedClusters keeps Istio's rules: zero weights are dropped, and if nothing is left the split is even.
func weightedClusters(targets []weightedTarget) *routev3.WeightedCluster {
	wc := &routev3.WeightedCluster{}
	for _, t := range targets {
		if t.weight > 0 {
			wc.Clusters = append(wc.Clusters, &routev3.WeightedCluster_ClusterWeight{Name: t.cluster, Weight: u32(uint32(t.weight))})
		}
	}
	if len(wc.Clusters) == 0 {
		for _, t := range targets {
			wc.Clusters = append(wc.Clusters, &routev3.WeightedCluster_ClusterWeight{Name: t.cluster, Weight: u32(1)})
		}
	}
	return wc
}

// destinationCluster names the cluster for a destination: an explicit port, else the service's only port,
// else the port being routed (Istio's rule).
func (g *generator) destinationCluster(d *networking.Destination, rc routeContext) string {
	host := model.ResolveHost(d.GetHost(), rc.namespace, g.mesh.DomainSuffix())
	port := d.GetPort().GetNumber()
	if port == 0 {
		port = rc.port
		if svc := g.mesh.Service(host); svc != nil && len(svc.Ports) == 1 {
			port = svc.Ports[0].Number
		}
	}
	return ClusterName(port, d.GetSubset(), host)
}

// hashPolicy carries a consistent-hash DestinationRule's key onto the route, where Envoy computes hashes.
func (g *generator) hashPolicy(d *networking.Destination, rc routeContext) []*routev3.RouteAction_HashPolicy {
	host := model.ResolveHost(d.GetHost(), rc.namespace, g.mesh.DomainSuffix())
	dr := g.mesh.DestinationRuleFor(host, g.proxy.Namespace)
	if dr == nil {
		return nil
	}
	port := d.GetPort().GetNumber()
	if port == 0 {
		port = rc.port
	}
	return hashPolicyFor(policyFor(dr, d.GetSubset(), port).loadBalancer.GetConsistentHash())
}

func hashPolicyFor(ch *networking.LoadBalancerSettings_ConsistentHashLB) []*routev3.RouteAction_HashPolicy {
	if ch == nil {
		return nil
	}
	var hp *routev3.RouteAction_HashPolicy
	switch {
	case ch.GetHttpHeaderName() != "":
		hp = &routev3.RouteAction_HashPolicy{PolicySpecifier: &routev3.RouteAction_HashPolicy_Header_{
			Header: &routev3.RouteAction_HashPolicy_Header{HeaderName: strings.ToLower(ch.GetHttpHeaderName())}}}
	case ch.GetHttpCookie() != nil && ch.GetHttpCookie().GetName() != "":
		c := ch.GetHttpCookie()
		hp = &routev3.RouteAction_HashPolicy{PolicySpecifier: &routev3.RouteAction_HashPolicy_Cookie_{
			Cookie: &routev3.RouteAction_HashPolicy_Cookie{Name: c.GetName(), Path: c.GetPath(), Ttl: nonNegativeDuration(c.GetTtl())}}}
	case ch.GetUseSourceIp():
		hp = &routev3.RouteAction_HashPolicy{PolicySpecifier: &routev3.RouteAction_HashPolicy_ConnectionProperties_{
			ConnectionProperties: &routev3.RouteAction_HashPolicy_ConnectionProperties{SourceIp: true}}}
	case ch.GetHttpQueryParameterName() != "":
		hp = &routev3.RouteAction_HashPolicy{PolicySpecifier: &routev3.RouteAction_HashPolicy_QueryParameter_{
			QueryParameter: &routev3.RouteAction_HashPolicy_QueryParameter{Name: ch.GetHttpQueryParameterName()}}}
	default:
		return nil
	}
	return []*routev3.RouteAction_HashPolicy{hp}
}
