package xds

import (
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/types/known/structpb"
)

// istioConfigMetadata is the filter_metadata Istio attaches to generated resources, naming the config that
// produced them, e.g. /apis/networking.istio.io/v1/namespaces/default/destination-rule/reviews; proxy-config
// shows it in its DESTINATION RULE and VIRTUAL SERVICE columns, for live and translated config alike.
func istioConfigMetadata(kind, namespace, name string) *corev3.Metadata {
	path := "/apis/networking.istio.io/v1/namespaces/" + namespace + "/" + kind + "/" + name
	return &corev3.Metadata{FilterMetadata: map[string]*structpb.Struct{
		"istio": {Fields: map[string]*structpb.Value{"config": structpb.NewStringValue(path)}},
	}}
}

// fromVirtualService marks routes as produced by a VirtualService, keeping marks delegates already set.
func fromVirtualService(routes []*routev3.Route, namespace, name string) []*routev3.Route {
	for _, r := range routes {
		if r.Metadata == nil {
			r.Metadata = istioConfigMetadata("virtual-service", namespace, name)
		}
	}
	return routes
}
