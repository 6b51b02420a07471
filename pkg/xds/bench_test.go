package xds

import (
	"fmt"
	"testing"

	networking "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"skiff.dev/skiff/pkg/model"
)

// largeInput is n services with 10 endpoints each (two versions), and for every service a DestinationRule
// with two subsets and a VirtualService splitting 90/10 between them.
func largeInput(n int) model.Input {
	var in model.Input
	for i := range n {
		name := fmt.Sprintf("svc-%d", i)
		ns := fmt.Sprintf("ns-%d", i%20)
		in.Services = append(in.Services, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec:       corev1.ServiceSpec{ClusterIP: fmt.Sprintf("10.96.%d.%d", i/250, i%250), Ports: []corev1.ServicePort{{Name: "http", Port: 8080}}},
		})
		slice := &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{discoveryv1.LabelServiceName: name}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To(int32(8080))}},
		}
		for j := range 10 {
			pod := fmt.Sprintf("%s-%d", name, j)
			in.Pods = append(in.Pods, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: pod, Namespace: ns,
				Labels: map[string]string{"app": name, "version": fmt.Sprint("v", 1+j%2)}}})
			slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{
				Addresses: []string{fmt.Sprintf("10.%d.%d.%d", 1+i/250, i%250, j)},
				TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: pod},
			})
		}
		in.EndpointSlices = append(in.EndpointSlices, slice)
		in.DestinationRules = append(in.DestinationRules, &networkingv1.DestinationRule{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: networking.DestinationRule{Host: name, Subsets: []*networking.Subset{
				{Name: "v1", Labels: map[string]string{"version": "v1"}},
				{Name: "v2", Labels: map[string]string{"version": "v2"}},
			}},
		})
		in.VirtualServices = append(in.VirtualServices, &networkingv1.VirtualService{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: networking.VirtualService{Hosts: []string{name}, Http: []*networking.HTTPRoute{{Route: []*networking.HTTPRouteDestination{
				{Destination: &networking.Destination{Host: name, Subset: "v1"}, Weight: 90},
				{Destination: &networking.Destination{Host: name, Subset: "v2"}, Weight: 10},
			}}}},
		})
	}
	return in
}

// BenchmarkTranslate1000Services is a full recompute for one sidecar: build the mesh model from 1,000
// services × 10 endpoints (plus a DestinationRule and VirtualService each) and generate all its xDS.
func BenchmarkTranslate1000Services(b *testing.B) {
	in := largeInput(1000)
	proxy := &model.Proxy{Namespace: "ns-0"}
	b.ReportAllocs()
	for b.Loop() {
		res := Generate(model.Build(in), proxy)
		// 3 per service (default, v1, v2) plus Passthrough, BlackHole and InboundPassthrough.
		if len(res.Clusters) != 3003 {
			b.Fatalf("got %d clusters", len(res.Clusters))
		}
	}
}

// BenchmarkGenerateOnly separates translation from model building.
func BenchmarkGenerateOnly1000Services(b *testing.B) {
	mesh := model.Build(largeInput(1000))
	proxy := &model.Proxy{Namespace: "ns-0"}
	b.ReportAllocs()
	for b.Loop() {
		Generate(mesh, proxy)
	}
}
