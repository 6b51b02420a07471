package proxystatus

import (
	"testing"

	"skiff.dev/skiff/pkg/errs"
	"skiff.dev/skiff/pkg/xds"
)

func TestFind(t *testing.T) {
	proxies := []xds.ProxySync{
		{ID: "sidecar~10.0.0.1~web-1.shop~shop.svc.cluster.local", Pod: "web-1", Namespace: "shop"},
		{ID: "sidecar~10.0.0.2~web-1.blog~blog.svc.cluster.local", Pod: "web-1", Namespace: "blog"},
		{ID: "router~10.0.0.3~gw-1.istio-system~istio-system.svc.cluster.local", Pod: "gw-1", Namespace: "istio-system"},
		{ID: "grpc-client"},
	}
	for arg, want := range map[string]string{
		"web-1.blog":  "sidecar~10.0.0.2~web-1.blog~blog.svc.cluster.local",
		"web-1":       "sidecar~10.0.0.1~web-1.shop~shop.svc.cluster.local", // the current namespace wins
		"gw-1":        "router~10.0.0.3~gw-1.istio-system~istio-system.svc.cluster.local",
		"grpc-client": "grpc-client",
	} {
		p, err := find(proxies, arg, "shop")
		if err != nil || p.ID != want {
			t.Errorf("find(%q) = %q, %v; want %q", arg, p.ID, err, want)
		}
	}
	if _, err := find(proxies, "web-1", "default"); errs.Code(err) != 64 {
		t.Errorf("an ambiguous pod name: %v", err)
	}
	if _, err := find(proxies, "nope", "shop"); err == nil || errs.Code(err) != 1 {
		t.Errorf("an unknown proxy: %v", err)
	}
}
