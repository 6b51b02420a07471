package xds

import (
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	rawbufferv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/raw_buffer/v3"
	"google.golang.org/protobuf/types/known/structpb"
	"istio.io/api/label"

	"skiff.dev/skiff/pkg/model"
)

// transportSocketMatchKey is the endpoint metadata Envoy's transport_socket_matches look at.
const transportSocketMatchKey = "envoy.transport_socket_match"

// applyAutoMTLS is Istio's auto mTLS for sidecars: with no TLS in the DestinationRule, endpoints whose
// pods carry security.istio.io/tlsMode=istio (set by injection) get mesh mTLS, the others plaintext. gRPC
// clients reject transport_socket_matches, so they need an explicit ISTIO_MUTUAL rule.
func (g *generator) applyAutoMTLS(c *clusterv3.Cluster, svc *model.Service, port model.Port, subset string) {
	if g.proxy.Type == model.ProxylessGRPC || c.TransportSocket != nil || svc.External || svc.Resolution != model.ResolutionEDS || c.GetType() != clusterv3.Cluster_EDS {
		return
	}
	c.TransportSocketMatches = []*clusterv3.Cluster_TransportSocketMatch{
		{
			Name:  "tlsMode-istio",
			Match: tlsModeMetadata(),
			TransportSocket: &corev3.TransportSocket{Name: tlsTransportSocket, ConfigType: &corev3.TransportSocket_TypedConfig{
				TypedConfig: toAny(g.istioMutual(svc, port, subset)),
			}},
		},
		{
			Name:  "tlsMode-disabled",
			Match: &structpb.Struct{},
			TransportSocket: &corev3.TransportSocket{Name: "envoy.transport_sockets.raw_buffer", ConfigType: &corev3.TransportSocket_TypedConfig{
				TypedConfig: toAny(&rawbufferv3.RawBuffer{}),
			}},
		},
	}
}

func tlsModeMetadata() *structpb.Struct {
	return &structpb.Struct{Fields: map[string]*structpb.Value{"tlsMode": structpb.NewStringValue("istio")}}
}

// endpointMetadata marks endpoints of injected pods for the tlsMode-istio transport socket match.
func endpointMetadata(ep *model.Endpoint) *corev3.Metadata {
	if ep.Labels[label.SecurityTlsMode.Name] != "istio" {
		return nil
	}
	return &corev3.Metadata{FilterMetadata: map[string]*structpb.Struct{transportSocketMatchKey: tlsModeMetadata()}}
}
