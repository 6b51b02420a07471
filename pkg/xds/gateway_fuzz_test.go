package xds

import (
	"os"
	"path/filepath"
	"testing"

	networking "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"skiff.dev/skiff/pkg/model"
)

// FuzzGatewayServers builds gateways from the fuzzer's bytes — every protocol and TLS mode, shared and
// clashing ports, overlapping and wildcard hosts and SNI names, present, missing and malformed Secrets,
// tls and tcp rules — and checks that a router's resources validate and keep Envoy's listener rules
// (TestRouterListenersEnvoyInvariants' checks).
func FuzzGatewayServers(f *testing.F) {
	for _, seed := range []string{"", "\x01\x02\x03\x04\x05\x06\x07\x08\x09", "gateway servers with tls passthrough and tcp routes, twice over"} {
		f.Add([]byte(seed))
	}
	cert, err := os.ReadFile(filepath.Join("testdata", "tls", "server.pem"))
	if err != nil {
		f.Fatal(err)
	}
	key, err := os.ReadFile(filepath.Join("testdata", "tls", "server-key.pem"))
	if err != nil {
		f.Fatal(err)
	}
	otherKey, err := os.ReadFile(filepath.Join("testdata", "tls", "client-key.pem"))
	if err != nil {
		f.Fatal(err)
	}
	ca, err := os.ReadFile(filepath.Join("testdata", "tls", "ca.pem"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b := &byteSource{data: data}
		hosts := func() []string {
			out := []string{b.pick("a.example.com", "*.example.com", "*", "b.example.com", "default/a.example.com")}
			if b.intn(2) == 0 {
				out = append(out, b.pick("a.example.com", "c.example.com", "*"))
			}
			return out
		}
		in := model.Input{}
		for _, name := range []string{"good", "good-cacert", "broken", "ca-only"} {
			if b.intn(4) == 0 {
				continue
			}
			s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: b.pick("istio-system", "istio-system", "default")}}
			switch name {
			case "good":
				s.Data = map[string][]byte{"tls.crt": cert, "tls.key": key}
				if b.intn(2) == 0 {
					s.Data["ca.crt"] = ca
				}
			case "good-cacert", "ca-only":
				s.Data = map[string][]byte{"cacert": ca}
			case "broken":
				s.Data = map[string][]byte{"cert": cert, "key": otherKey}
			}
			in.Secrets = append(in.Secrets, s)
		}
		gw := &networkingv1.Gateway{ObjectMeta: metav1.ObjectMeta{Name: "gw", Namespace: "istio-system"}}
		gw.Spec.Selector = map[string]string{"istio": "ingressgateway"}
		for i := b.intn(6); i >= 0; i-- {
			s := &networking.Server{
				Port:  &networking.Port{Number: []uint32{443, 80, 8443, 9000}[b.intn(4)], Name: b.pick("p1", "p2", "p3"), Protocol: b.pick("HTTP", "HTTPS", "TLS", "TCP", "GRPC", "UDP")},
				Hosts: hosts(),
			}
			if b.intn(4) != 0 {
				s.Tls = &networking.ServerTLSSettings{
					Mode:            networking.ServerTLSSettings_TLSmode(b.intn(6)),
					CredentialName:  b.pick("", "good", "kubernetes://good", "broken", "missing", "ca-only", "default/good"),
					SubjectAltNames: []string{b.pick("", "client.example.com")}[:b.intn(2)],
				}
			}
			gw.Spec.Servers = append(gw.Spec.Servers, s)
		}
		in.Gateways = []*networkingv1.Gateway{gw}
		for i := b.intn(3); i >= 0; i-- {
			vs := &networkingv1.VirtualService{ObjectMeta: metav1.ObjectMeta{Name: b.pick("v1", "v2", "v3"), Namespace: "default"}}
			vs.Spec.Hosts = hosts()
			vs.Spec.Gateways = []string{b.pick("istio-system/gw", "mesh", "gw")}
			dest := func() []*networking.RouteDestination {
				var out []*networking.RouteDestination
				for j := b.intn(3); j > 0; j-- {
					out = append(out, &networking.RouteDestination{Destination: &networking.Destination{Host: b.pick("", "svc", "svc.default.svc.cluster.local")}, Weight: int32(b.intn(3)) * 40})
				}
				return out
			}
			vs.Spec.Tls = append(vs.Spec.Tls, &networking.TLSRoute{Match: []*networking.TLSMatchAttributes{{SniHosts: hosts(), Port: uint32(b.intn(2)) * 4430}}, Route: dest()})
			vs.Spec.Tcp = append(vs.Spec.Tcp, &networking.TCPRoute{Match: []*networking.L4MatchAttributes{{Port: uint32(b.intn(2)) * 9000}}, Route: dest()})
			vs.Spec.Http = append(vs.Spec.Http, &networking.HTTPRoute{Route: []*networking.HTTPRouteDestination{{Destination: &networking.Destination{Host: "svc"}}}})
			in.VirtualServices = append(in.VirtualServices, vs)
		}
		res := Generate(model.Build(in), goldenProxy("x-gateway"))
		if err := res.Validate(); err != nil {
			t.Fatalf("router resources do not validate: %v", err)
		}
		checkRouterInvariants(t, "fuzz", res)
	})
}
