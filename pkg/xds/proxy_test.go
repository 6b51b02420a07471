package xds

import (
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/protobuf/types/known/structpb"

	"skiff.dev/skiff/pkg/model"
)

func TestProxyFromNode(t *testing.T) {
	meta, _ := structpb.NewStruct(map[string]any{"LABELS": map[string]any{"app": "reviews", "version": "v2"}})
	p := ProxyFromNode(&corev3.Node{Id: "sidecar~10.1.0.7~reviews-v2-abc.shop~shop.svc.cluster.local", Metadata: meta})
	if p.Type != model.Sidecar || p.Namespace != "shop" || p.IP != "10.1.0.7" || p.Labels["version"] != "v2" {
		t.Fatalf("sidecar node: %+v", p)
	}
	meta, _ = structpb.NewStruct(map[string]any{"GENERATOR": "grpc", "NAMESPACE": "prod"})
	p = ProxyFromNode(&corev3.Node{Id: "sidecar~10.1.0.8~client.default~default.svc.cluster.local", Metadata: meta})
	if p.Type != model.ProxylessGRPC || p.Namespace != "prod" {
		t.Fatalf("gRPC node: %+v (metadata NAMESPACE must win)", p)
	}
	if p := ProxyFromNode(&corev3.Node{Id: "router~10.1.0.9~istio-ingressgateway-x.istio-system~istio-system.svc.cluster.local"}); p.Type != model.Router || p.Namespace != "istio-system" {
		t.Fatalf("router node: %+v", p)
	}
	if p := ProxyFromNode(&corev3.Node{Id: "not-istio-format"}); p.Type != model.Sidecar || p.Namespace != "" {
		t.Fatalf("free-form node id: %+v", p)
	}
	a := proxyClass(&model.Proxy{Namespace: "x", Labels: map[string]string{"a": "1", "b": "2"}})
	b := proxyClass(&model.Proxy{ID: "other", IP: "1.2.3.4", Namespace: "x", Labels: map[string]string{"b": "2", "a": "1"}})
	if a != b || a == proxyClass(&model.Proxy{Namespace: "x"}) {
		t.Fatalf("proxyClass: %q vs %q", a, b)
	}
}
