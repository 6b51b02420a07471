package xds

import (
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/proto"
	networking "istio.io/api/networking/v1alpha3"
)

// delegatedRoutes expands a root route that delegates to another VirtualService (one level, as Istio
// allows): each of the delegate's routes applies under the root's match, combined with its own; the
// delegate's short host names resolve in its namespace. Istio's check that a delegate match stays within
// the root's (e.g. a narrower path prefix) is not enforced: the combined match simply applies.
func (g *generator) delegatedRoutes(root *networking.HTTPRoute, rc routeContext) []*routev3.Route {
	ns := root.GetDelegate().GetNamespace()
	if ns == "" {
		ns = rc.namespace
	}
	delegate := g.mesh.VirtualService(ns, root.GetDelegate().GetName())
	if delegate == nil || len(delegate.Spec.GetHosts()) > 0 {
		return nil // a delegate must exist and have no hosts of its own
	}
	drc := rc
	drc.namespace = ns
	rootMatches := root.GetMatch()
	if len(rootMatches) == 0 {
		rootMatches = []*networking.HTTPMatchRequest{nil}
	}
	var out []*routev3.Route
	for _, hr := range delegate.Spec.GetHttp() {
		if hr.GetDelegate() != nil {
			continue
		}
		matches := hr.GetMatch()
		if len(matches) == 0 {
			matches = []*networking.HTTPMatchRequest{nil}
		}
		for _, rm := range rootMatches {
			if !g.matchApplies(rm, rc) {
				continue
			}
			for _, dm := range matches {
				if !g.matchApplies(dm, drc) {
					continue
				}
				if r := g.translateRoute(hr, mergeMatch(rm, dm), drc); r != nil {
					out = append(out, r)
				}
			}
		}
	}
	return out
}

// mergeMatch narrows a root match with a delegate's: the delegate's conditions are added, replacing the
// root's where both set the same one.
func mergeMatch(root, delegate *networking.HTTPMatchRequest) *networking.HTTPMatchRequest {
	switch {
	case root == nil:
		return delegate
	case delegate == nil:
		return root
	}
	out := proto.Clone(root).(*networking.HTTPMatchRequest)
	if delegate.GetUri() != nil {
		out.Uri = delegate.GetUri()
	}
	if delegate.GetMethod() != nil {
		out.Method = delegate.GetMethod()
	}
	if delegate.GetAuthority() != nil {
		out.Authority = delegate.GetAuthority()
	}
	if delegate.GetScheme() != nil {
		out.Scheme = delegate.GetScheme()
	}
	out.Headers = mergeMaps(out.Headers, delegate.GetHeaders())
	out.WithoutHeaders = mergeMaps(out.WithoutHeaders, delegate.GetWithoutHeaders())
	out.QueryParams = mergeMaps(out.QueryParams, delegate.GetQueryParams())
	out.IgnoreUriCase = out.IgnoreUriCase || delegate.GetIgnoreUriCase()
	if delegate.GetName() != "" {
		out.Name = delegate.GetName()
	}
	return out
}

func mergeMaps[V any](a, b map[string]V) map[string]V {
	if len(b) == 0 {
		return a
	}
	out := make(map[string]V, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}
