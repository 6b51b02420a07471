package controller

import (
	"fmt"
	"strings"
	"testing"
	"time"

	networkingapi "istio.io/api/networking/v1alpha3"
	securityapi "istio.io/api/security/v1beta1"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"skiff.dev/skiff/pkg/analyze"
	"skiff.dev/skiff/pkg/model"
)

func objMeta(ns, name string, created time.Time, gen int64) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(ns + "/" + name), Generation: gen, CreationTimestamp: metav1.NewTime(created)}
}

func routeTo(host string) []*networkingapi.HTTPRoute {
	return []*networkingapi.HTTPRoute{{Route: []*networkingapi.HTTPRouteDestination{{Destination: &networkingapi.Destination{Host: host}}}}}
}

// TestConfigCheckerDropsInvalidAndReportsConflicts: invalid objects leave the input with the webhook's
// messages, validation runs once per generation, and conflict losers are named with the winner.
func TestConfigCheckerDropsInvalidAndReportsConflicts(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	badRegex := &networkingv1.VirtualService{ObjectMeta: objMeta("default", "bad", t0, 1), Spec: networkingapi.VirtualService{
		Hosts: []string{"ratings"},
		Http: []*networkingapi.HTTPRoute{{
			Match: []*networkingapi.HTTPMatchRequest{{Uri: &networkingapi.StringMatch{MatchType: &networkingapi.StringMatch_Regex{Regex: "(?!x)"}}}},
			Route: routeTo("ratings")[0].Route,
		}},
	}}
	noRoute := &networkingv1.VirtualService{ObjectMeta: objMeta("default", "empty", t0, 1), Spec: networkingapi.VirtualService{Hosts: []string{"details"}}}
	// "z-old" is older, so it beats "a-new" although its name sorts later.
	old := &networkingv1.VirtualService{ObjectMeta: objMeta("default", "z-old", t0, 1), Spec: networkingapi.VirtualService{Hosts: []string{"reviews"}, Http: routeTo("reviews")}}
	newer := &networkingv1.VirtualService{ObjectMeta: objMeta("default", "a-new", t0.Add(time.Second), 1), Spec: networkingapi.VirtualService{Hosts: []string{"reviews.default.svc.cluster.local"}, Http: routeTo("reviews")}}
	gatewayOnly := &networkingv1.VirtualService{ObjectMeta: objMeta("default", "gw", t0, 1), Spec: networkingapi.VirtualService{Hosts: []string{"reviews"}, Gateways: []string{"ingress"}, Http: routeTo("reviews")}}
	egress := []*networkingapi.IstioEgressListener{{Hosts: []string{"./*"}}}
	sc1 := &networkingv1.Sidecar{ObjectMeta: objMeta("shop", "one", t0, 1), Spec: networkingapi.Sidecar{Egress: egress}}
	sc2 := &networkingv1.Sidecar{ObjectMeta: objMeta("shop", "two", t0, 1), Spec: networkingapi.Sidecar{Egress: egress}}
	strict := &securityapi.PeerAuthentication_MutualTLS{Mode: securityapi.PeerAuthentication_MutualTLS_STRICT}
	pa1 := &securityv1.PeerAuthentication{ObjectMeta: objMeta("shop", "b", t0, 1), Spec: securityapi.PeerAuthentication{Mtls: strict}}
	pa2 := &securityv1.PeerAuthentication{ObjectMeta: objMeta("shop", "a", t0.Add(time.Minute), 1), Spec: securityapi.PeerAuthentication{Mtls: strict}}
	in := model.Input{
		VirtualServices:     []*networkingv1.VirtualService{newer, badRegex, old, noRoute, gatewayOnly},
		Sidecars:            []*networkingv1.Sidecar{sc2, sc1},
		PeerAuthentications: []*securityv1.PeerAuthentication{pa2, pa1},
	}

	rejected := map[string]int{}
	c := newConfigChecker(func(o configObject, _ []finding) { rejected[o.key()]++ })
	out, reports := c.check(in)

	var kept []string
	for _, vs := range out.VirtualServices {
		kept = append(kept, vs.Name)
	}
	if strings.Join(kept, ",") != "a-new,z-old,gw" {
		t.Errorf("kept VirtualServices %v, want the three valid ones", kept)
	}
	got := map[string]string{}
	for _, r := range reports {
		var codes []string
		for _, f := range r.findings {
			codes = append(codes, f.Type.Code)
		}
		if len(codes) > 0 {
			got[r.obj.key()] = strings.Join(codes, ",")
		}
		if r.obj.key() == "VirtualService/default/a-new" && !strings.Contains(r.findings[0].Text, "default/z-old is the oldest") {
			t.Errorf("conflict message does not name the winner: %s", r.findings[0].Text)
		}
	}
	want := map[string]string{
		"VirtualService/default/bad":   "IST0122",
		"VirtualService/default/empty": "IST0106",
		"VirtualService/default/a-new": "IST0109",
		"Sidecar/shop/two":             "IST0111",
		"PeerAuthentication/shop/a":    "SKF0101",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: codes %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("findings %v, want only %v", got, want)
	}

	// A rebuild with nothing changed validates nothing again; a new generation is validated (and counted) anew.
	c.check(in)
	if rejected["VirtualService/default/bad"] != 1 {
		t.Errorf("rejection counted %d times for one generation", rejected["VirtualService/default/bad"])
	}
	badRegex.Generation = 2
	c.check(in)
	if rejected["VirtualService/default/bad"] != 2 {
		t.Errorf("new generation not re-validated: %d", rejected["VirtualService/default/bad"])
	}
	// Deleted objects leave the cache.
	c.check(model.Input{})
	if len(c.cache) != 0 {
		t.Errorf("cache keeps %d deleted objects", len(c.cache))
	}
}

func TestStatusMessagesComparison(t *testing.T) {
	fs := []finding{{Type: analyze.MultiplePeerAuthenticationsWithoutSelector, Text: "x"}, {Type: analyze.MultiplePeerAuthenticationsWithoutSelector, Text: "y"}}
	msgs := statusMessages(fs)
	if len(msgs) != 1 || msgs[0].Level != "ERROR" || msgs[0].Type.Code != "SKF0101" || msgs[0].DocumentationURL != "" {
		t.Fatalf("status messages %+v", msgs)
	}
	if !sameMessages(nil, nil) || sameMessages(nil, msgs) {
		t.Error("sameMessages")
	}
}

// TestGatewayConflicts: two Gateways on one workload claiming the same port and host: the older keeps it,
// the newer is reported. A wildcard next to an exact host, another port, or another workload is no conflict.
func TestGatewayConflicts(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ingress := map[string]string{"istio": "ingressgateway"}
	server := func(port uint32, proto string, hosts ...string) *networkingapi.Server {
		s := &networkingapi.Server{Port: &networkingapi.Port{Number: port, Name: "p", Protocol: proto}, Hosts: hosts}
		if proto == "HTTPS" {
			s.Tls = &networkingapi.ServerTLSSettings{Mode: networkingapi.ServerTLSSettings_SIMPLE, CredentialName: "cert"}
		}
		return s
	}
	gw := func(name string, created time.Time, sel map[string]string, servers ...*networkingapi.Server) *networkingv1.Gateway {
		return &networkingv1.Gateway{ObjectMeta: objMeta("shop", name, created, 1), Spec: networkingapi.Gateway{Selector: sel, Servers: servers}}
	}
	in := model.Input{
		Pods: []*corev1.Pod{
			{ObjectMeta: metav1.ObjectMeta{Name: "ingress-1", Namespace: "istio-system", Labels: map[string]string{"istio": "ingressgateway", "app": "istio-ingressgateway"}}},
			{ObjectMeta: metav1.ObjectMeta{Name: "egress-1", Namespace: "istio-system", Labels: map[string]string{"istio": "egressgateway"}}},
		},
		Gateways: []*networkingv1.Gateway{
			gw("b-newer", t0.Add(time.Second), ingress, server(443, "HTTPS", "shop/shop.example.com"), server(80, "HTTP", "*.example.com")),
			gw("z-older", t0, ingress, server(443, "HTTPS", "shop.example.com"), server(8443, "HTTPS", "api.example.com")),
			gw("wild", t0, ingress, server(443, "HTTPS", "*.example.com")),
			gw("other-port", t0, ingress, server(9443, "HTTPS", "shop.example.com")),
			gw("egress", t0.Add(time.Hour), map[string]string{"istio": "egressgateway"}, server(443, "HTTPS", "shop.example.com")),
		},
	}
	got := gatewayConflicts(&in)
	if len(got) != 1 || got[0].loser != "Gateway/shop/b-newer" || got[0].finding.Type.Code != "IST0145" ||
		!strings.Contains(got[0].finding.Text, "shop/z-older") || !strings.Contains(got[0].finding.Text, "shop.example.com") {
		t.Fatalf("conflicts %+v", got)
	}
}

// BenchmarkConfigCheck is one rebuild's check with warm validation caches: 500 VirtualServices, 30
// Gateways, 3000 pods with distinct labels.
func BenchmarkConfigCheck(b *testing.B) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var in model.Input
	for i := range 500 {
		name := fmt.Sprintf("svc-%d", i)
		in.VirtualServices = append(in.VirtualServices, &networkingv1.VirtualService{ObjectMeta: objMeta("ns", name, t0, 1),
			Spec: networkingapi.VirtualService{Hosts: []string{name}, Http: routeTo(name)}})
	}
	for i := range 30 {
		in.Gateways = append(in.Gateways, &networkingv1.Gateway{ObjectMeta: objMeta("ns", fmt.Sprintf("gw-%d", i), t0, 1),
			Spec: networkingapi.Gateway{Selector: map[string]string{"istio": "ingressgateway"}, Servers: []*networkingapi.Server{{
				Port: &networkingapi.Port{Number: 80, Name: "http", Protocol: "HTTP"}, Hosts: []string{fmt.Sprintf("h%d.example.com", i)}}}}})
	}
	for i := range 3000 {
		in.Pods = append(in.Pods, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprint(i), Labels: map[string]string{"app": fmt.Sprint(i % 100), "pod": fmt.Sprint(i)}}})
	}
	c := newConfigChecker(nil)
	start := time.Now()
	c.check(in)
	b.Logf("cold (validates every object): %v", time.Since(start))
	b.ResetTimer()
	for b.Loop() {
		c.check(in)
	}
}

// TestReportedWinnerIsTheModelsChoice: for every input order, the object the report names as the winner
// is the one the model applies, and the other is the reported loser.
func TestReportedWinnerIsTheModelsChoice(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	oldSC := &networkingv1.Sidecar{ObjectMeta: objMeta("shop", "z-old", t0, 1), Spec: networkingapi.Sidecar{Egress: []*networkingapi.IstioEgressListener{{Hosts: []string{"./*"}}}}}
	newSC := &networkingv1.Sidecar{ObjectMeta: objMeta("shop", "a-new", t0.Add(time.Second), 1), Spec: networkingapi.Sidecar{Egress: []*networkingapi.IstioEgressListener{{Hosts: []string{"*/*"}}}}}
	mode := func(m securityapi.PeerAuthentication_MutualTLS_Mode) securityapi.PeerAuthentication {
		return securityapi.PeerAuthentication{Mtls: &securityapi.PeerAuthentication_MutualTLS{Mode: m}}
	}
	oldPA := &securityv1.PeerAuthentication{ObjectMeta: objMeta("shop", "z-old", t0, 1), Spec: mode(securityapi.PeerAuthentication_MutualTLS_STRICT)}
	newPA := &securityv1.PeerAuthentication{ObjectMeta: objMeta("shop", "a-new", t0.Add(time.Second), 1), Spec: mode(securityapi.PeerAuthentication_MutualTLS_DISABLE)}
	for _, in := range []model.Input{
		{Sidecars: []*networkingv1.Sidecar{oldSC, newSC}, PeerAuthentications: []*securityv1.PeerAuthentication{oldPA, newPA}},
		{Sidecars: []*networkingv1.Sidecar{newSC, oldSC}, PeerAuthentications: []*securityv1.PeerAuthentication{newPA, oldPA}},
	} {
		out, reports := newConfigChecker(nil).check(in)
		m := model.Build(out)
		if sc := m.SidecarScope("shop", map[string]string{"app": "x"}); sc != &oldSC.Spec {
			t.Errorf("the model applies Sidecar %v, want shop/z-old", sc)
		}
		if got := m.InboundMTLS("shop", map[string]string{"app": "x"}, 8080); got != model.MTLSStrict {
			t.Errorf("the model applies mTLS %v, want z-old's STRICT", got)
		}
		losers := map[string]bool{}
		for _, r := range reports {
			if r.conflict {
				losers[r.obj.key()] = true
			}
		}
		if len(losers) != 2 || !losers["Sidecar/shop/a-new"] || !losers["PeerAuthentication/shop/a-new"] {
			t.Errorf("reported losers %v, want the two a-new objects", losers)
		}
	}
}
