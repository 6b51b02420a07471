package xds

import (
	"slices"

	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
)

// gatewayHTTPAuthn puts RequestAuthentication's jwt_authn filter and AuthorizationPolicy's RBAC filters
// first in every HTTP connection manager of a router's listeners, as Istio does on gateways (before
// fault, CORS and the router). It works on the finished listeners so every kind of HTTP server chain
// (plain, terminated TLS) gets them however it was built; with no policy applying it does nothing.
func (g *generator) gatewayHTTPAuthn(listeners []*listenerv3.Listener) {
	filters := append(g.jwtAuthnFilters(), g.rbacHTTPFilters()...)
	if len(filters) == 0 {
		return
	}
	for _, l := range listeners {
		for _, fc := range l.GetFilterChains() {
			for _, f := range fc.GetFilters() {
				hcm := &hcmv3.HttpConnectionManager{}
				if f.GetName() != hcmFilter || f.GetTypedConfig().UnmarshalTo(hcm) != nil {
					continue
				}
				hcm.HttpFilters = append(slices.Clone(filters), hcm.HttpFilters...)
				f.ConfigType = &listenerv3.Filter_TypedConfig{TypedConfig: toAny(hcm)}
			}
		}
	}
}
