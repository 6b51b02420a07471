package model

import (
	"testing"

	networking "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func sidecar(ns, name string, selector map[string]string, hosts ...string) *networkingv1.Sidecar {
	sc := &networkingv1.Sidecar{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	if selector != nil {
		sc.Spec.WorkloadSelector = &networking.WorkloadSelector{Labels: selector}
	}
	sc.Spec.Egress = []*networking.IstioEgressListener{{Hosts: hosts}}
	return sc
}

func TestSidecarScope(t *testing.T) {
	m := Build(Input{Sidecars: []*networkingv1.Sidecar{
		sidecar("istio-system", "mesh", nil, "istio-system/*"),
		sidecar("shop", "default", nil, "./*"),
		sidecar("shop", "web", map[string]string{"app": "web"}, "*/*.example.com"),
	}})
	web := m.SidecarScope("shop", map[string]string{"app": "web"})
	if !Imports(web, "ext", "api.example.com", "shop") || Imports(web, "shop", "cart.shop.svc.cluster.local", "shop") {
		t.Error("the workload's Sidecar must apply to web")
	}
	ns := m.SidecarScope("shop", map[string]string{"app": "cart"})
	if !Imports(ns, "shop", "cart.shop.svc.cluster.local", "shop") || Imports(ns, "other", "x.other.svc.cluster.local", "shop") {
		t.Error("the namespace's Sidecar must apply to cart")
	}
	mesh := m.SidecarScope("elsewhere", nil)
	if !Imports(mesh, "istio-system", "istiod.istio-system.svc.cluster.local", "elsewhere") || Imports(mesh, "elsewhere", "a.elsewhere.svc.cluster.local", "elsewhere") {
		t.Error("the root namespace's Sidecar must apply elsewhere")
	}
	if !Imports(Build(Input{}).SidecarScope("x", nil), "y", "z", "x") {
		t.Error("no Sidecar imports everything")
	}
}
