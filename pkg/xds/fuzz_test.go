package xds

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
	networking "istio.io/api/networking/v1alpha3"
	securityapi "istio.io/api/security/v1beta1"
	typeapi "istio.io/api/type/v1beta1"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"skiff.dev/skiff/pkg/model"
)

// FuzzGenerate builds random, loosely valid meshes (negative weights, out-of-range percentages and
// status codes, empty regexes, odd durations, colliding hosts...) from the fuzzer's bytes and checks that
// translation never panics and every resource, for every proxy type, passes its own Validate.
func FuzzGenerate(f *testing.F) {
	for _, seed := range [][]byte{
		{}, {1, 2, 3, 4, 5, 6, 7, 8}, {255, 0, 255, 0, 128, 64, 32, 16, 8, 4, 2, 1},
		[]byte("the quick brown fox jumps over the lazy dog, twice: the quick brown fox jumps"),
		[]byte(strings.Repeat("skiff jwt ", 40)), // long enough to reach RequestAuthentications
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in := randomInput(&byteSource{data: data})
		mesh := model.Build(in)
		for _, typ := range []model.ProxyType{model.Sidecar, model.ProxylessGRPC, model.Router} {
			p := &model.Proxy{Type: typ, Namespace: "default", IP: "10.1.0.0", Labels: map[string]string{"app": "a", "istio": "ingressgateway"},
				InboundListeners: []string{GRPCInboundPrefix + "10.0.0.1:80", GRPCInboundPrefix + "[::]:0", GRPCInboundPrefix + "x:y", "other"}}
			if err := Generate(mesh, p).Validate(); err != nil {
				t.Fatalf("%s resources do not validate: %v", typ, err)
			}
		}
	})
}

// FuzzLoadYAML feeds arbitrary bytes to the YAML loader: it may refuse them, but only with an error.
func FuzzLoadYAML(f *testing.F) {
	files, _ := filepath.Glob("testdata/in/*.yaml")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("apiVersion: networking.istio.io/v1\nkind: VirtualService\nspec: [1, 2]\n"))
	dec, err := model.NewDecoder()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var in model.Input
		if err := dec.AddYAML(&in, "fuzz.yaml", data); err != nil {
			return
		}
		mesh := model.Build(in)
		if err := Generate(mesh, &model.Proxy{Namespace: "default"}).Validate(); err != nil {
			t.Fatalf("resources do not validate: %v", err)
		}
	})
}

// byteSource hands out choices from the fuzz input, then zeros.
type byteSource struct {
	data []byte
	pos  int
}

func (b *byteSource) byte() byte {
	if b.pos >= len(b.data) {
		return 0
	}
	v := b.data[b.pos]
	b.pos++
	return v
}

func (b *byteSource) intn(n int) int { return int(b.byte()) % n }

func (b *byteSource) pick(options ...string) string { return options[b.intn(len(options))] }

func (b *byteSource) int32() int32 {
	return int32(uint32(b.byte()) | uint32(b.byte())<<8 | uint32(b.byte())<<16 | uint32(b.byte())<<24)
}

func (b *byteSource) duration() *durationpb.Duration {
	switch b.intn(5) {
	case 0:
		return nil
	case 1:
		return durationpb.New(time.Duration(b.int32()) * time.Millisecond) // may be negative
	case 2:
		return &durationpb.Duration{Seconds: math.MaxInt64} // out of range
	case 3:
		return durationpb.New(0)
	}
	return durationpb.New(time.Duration(b.intn(100)) * 100 * time.Millisecond)
}

func (b *byteSource) percent() *networking.Percent {
	switch b.intn(4) {
	case 0:
		return nil
	case 1:
		return &networking.Percent{Value: float64(b.int32())}
	case 2:
		return &networking.Percent{Value: math.NaN()}
	}
	return &networking.Percent{Value: float64(b.intn(101))}
}

func (b *byteSource) stringMatch() *networking.StringMatch {
	v := b.pick("", "/", "/a", "^/v[0-9]+$", "x", "GET")
	switch b.intn(4) {
	case 0:
		return &networking.StringMatch{MatchType: &networking.StringMatch_Exact{Exact: v}}
	case 1:
		return &networking.StringMatch{MatchType: &networking.StringMatch_Prefix{Prefix: v}}
	case 2:
		return &networking.StringMatch{MatchType: &networking.StringMatch_Regex{Regex: v}}
	}
	return &networking.StringMatch{}
}

var fuzzHosts = []string{"a", "b", "a.default.svc.cluster.local", "*.default.svc.cluster.local", "*", "ext.example.com", "missing"}

func randomInput(b *byteSource) model.Input {
	var in model.Input
	for i := range 1 + b.intn(3) {
		name := []string{"a", "b", "c"}[i]
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"}}
		if b.intn(2) == 0 {
			svc.Spec.ClusterIP = fmt.Sprintf("10.96.0.%d", i+1)
		}
		slice := &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{discoveryv1.LabelServiceName: name}},
			AddressType: discoveryv1.AddressTypeIPv4,
		}
		for range 1 + b.intn(3) {
			pname := b.pick("http", "grpc-x", "tcp", "tls", "", "http2", "udp", "mongo-db")
			port := int32(b.intn(4)*1000 + 80)
			svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{Name: pname, Port: port})
			slice.Ports = append(slice.Ports, discoveryv1.EndpointPort{Name: ptr.To(pname), Port: ptr.To(int32(b.intn(70000)))})
		}
		for j := range b.intn(4) {
			pod := fmt.Sprintf("%s-%d", name, j)
			in.Pods = append(in.Pods, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: pod, Namespace: "default",
				Labels: map[string]string{"version": b.pick("v1", "v2", "v3")}}})
			slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{
				Addresses:  []string{fmt.Sprintf("10.1.%d.%d", i, j)},
				Zone:       ptr.To(b.pick("", "z1", "z2")),
				Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(b.intn(4) != 0)},
				TargetRef:  &corev1.ObjectReference{Kind: "Pod", Name: pod},
			})
		}
		in.Services = append(in.Services, svc)
		in.EndpointSlices = append(in.EndpointSlices, slice)
	}
	if b.intn(2) == 0 {
		in.ServiceEntries = append(in.ServiceEntries, &networkingv1.ServiceEntry{
			ObjectMeta: metav1.ObjectMeta{Name: "se", Namespace: "default"},
			Spec: networking.ServiceEntry{
				Hosts:      []string{b.pick("ext.example.com", "*.wild.com", "a.default.svc.cluster.local")},
				Ports:      []*networking.ServicePort{{Number: uint32(b.intn(3) + 80), Name: "p", Protocol: b.pick("HTTP", "TCP", "GRPC", "junk")}},
				Resolution: networking.ServiceEntry_Resolution(b.intn(4)),
				Endpoints:  []*networking.WorkloadEntry{{Address: b.pick("", "1.2.3.4", "host.example.com"), Weight: uint32(b.intn(3))}},
			},
		})
	}
	for i := range b.intn(3) {
		in.VirtualServices = append(in.VirtualServices, randomVirtualService(b, i))
	}
	if b.intn(3) == 0 {
		sc := &networkingv1.Sidecar{ObjectMeta: metav1.ObjectMeta{Name: "sc", Namespace: b.pick("default", "istio-system")}}
		sc.Spec.Egress = []*networking.IstioEgressListener{{Hosts: []string{b.pick("./*", "*/*", "default/a.default.svc.cluster.local", "bad", "~/*")}}}
		in.Sidecars = append(in.Sidecars, sc)
	}
	for range b.intn(3) {
		p := &securityv1.PeerAuthentication{ObjectMeta: metav1.ObjectMeta{Name: "pa", Namespace: b.pick("default", "istio-system")}}
		p.Spec.Mtls = &securityapi.PeerAuthentication_MutualTLS{Mode: securityapi.PeerAuthentication_MutualTLS_Mode(b.intn(5))}
		if b.intn(2) == 0 {
			p.Spec.Selector = &typeapi.WorkloadSelector{MatchLabels: map[string]string{"app": b.pick("a", "b")}}
			p.Spec.PortLevelMtls = map[uint32]*securityapi.PeerAuthentication_MutualTLS{80: {Mode: securityapi.PeerAuthentication_MutualTLS_Mode(b.intn(5))}}
		}
		in.PeerAuthentications = append(in.PeerAuthentications, p)
	}
	if b.intn(2) == 0 {
		gw := &networkingv1.Gateway{ObjectMeta: metav1.ObjectMeta{Name: "gw", Namespace: "istio-system"}}
		gw.Spec.Selector = map[string]string{"istio": b.pick("ingressgateway", "other")}
		for range 1 + b.intn(3) {
			gw.Spec.Servers = append(gw.Spec.Servers, &networking.Server{
				Port:  &networking.Port{Number: uint32(b.intn(3)) * 8080, Name: b.pick("", "http", "https"), Protocol: b.pick("HTTP", "HTTPS", "TLS", "GRPC", "junk")},
				Hosts: []string{b.pick("*", "ns/a.example.com", "ext.example.com", "*.default.svc.cluster.local")},
				Tls:   &networking.ServerTLSSettings{Mode: networking.ServerTLSSettings_TLSmode(b.intn(5)), CredentialName: b.pick("", "cert"), HttpsRedirect: b.intn(2) == 0},
			})
		}
		in.Gateways = append(in.Gateways, gw)
	}
	for i := range b.intn(3) {
		in.DestinationRules = append(in.DestinationRules, randomDestinationRule(b, i))
	}
	for i := range b.intn(3) {
		in.RequestAuthentications = append(in.RequestAuthentications, randomRequestAuthentication(b, i))
	}
	return in
}

// randomRequestAuthentication mixes usable and unusable key sources, URIs, ports and header names.
func randomRequestAuthentication(b *byteSource, i int) *securityv1.RequestAuthentication {
	ra := &securityv1.RequestAuthentication{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprint("ra", i), Namespace: b.pick("default", "istio-system", "other")}}
	if b.intn(2) == 0 {
		ra.Spec.Selector = &typeapi.WorkloadSelector{MatchLabels: map[string]string{b.pick("app", "istio"): b.pick("a", "ingressgateway")}}
	}
	for range 1 + b.intn(3) {
		ra.Spec.JwtRules = append(ra.Spec.JwtRules, &securityapi.JWTRule{
			Issuer: b.pick("", "https://a", "b@c"),
			Jwks:   b.pick("", "{}", `{"keys":[]}`),
			JwksUri: b.pick("", "https://ext.example.com/jwks", "http://a.default.svc.cluster.local:80/k", "http://a.default.svc.cluster.local:1080/k",
				"https://ext.example.com:443/other", "ftp://x/", "https://[::1]:0/", "https://h:99999/", "%zz", "https://[fe80::1%25eth0]/", "https://10.0.0.1:8443/"),
			FromHeaders:           []*securityapi.JWTHeader{{Name: b.pick("", "x-t", "a b"), Prefix: b.pick("", "Bearer ", "a\nb")}},
			FromParams:            []string{b.pick("", "t")},
			FromCookies:           []string{b.pick("", "c")},
			OutputPayloadToHeader: b.pick("", "x-p", "bad header"),
			OutputClaimToHeaders:  []*securityapi.ClaimToHeader{{Header: b.pick("", "x-c", "a:b"), Claim: b.pick("", "sub")}},
			SpaceDelimitedClaims:  []string{b.pick("", "roles", "scope")},
			Timeout:               b.duration(),
			Presence:              securityapi.JWTRule_JWTRequirement(b.intn(3)),
		})
	}
	return ra
}

func randomVirtualService(b *byteSource, i int) *networkingv1.VirtualService {
	vs := &networkingv1.VirtualService{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprint("vs", i), Namespace: b.pick("default", "other")}}
	if b.intn(4) != 0 { // a VirtualService without hosts can only be a delegate
		vs.Spec.Hosts = []string{fuzzHosts[b.intn(len(fuzzHosts))]}
	}
	if b.intn(4) == 0 {
		vs.Spec.Gateways = []string{b.pick("mesh", "istio-system/gw", "gw")}
	}
	for range b.intn(4) {
		hr := &networking.HTTPRoute{Name: b.pick("", "r", "r")}
		for range b.intn(3) {
			m := &networking.HTTPMatchRequest{Name: b.pick("", "m"), Port: uint32(b.intn(3) * 1000), IgnoreUriCase: b.intn(2) == 0}
			if b.intn(2) == 0 {
				m.Uri = b.stringMatch()
			}
			if b.intn(2) == 0 {
				m.Method = b.stringMatch()
			}
			if b.intn(2) == 0 {
				m.Headers = map[string]*networking.StringMatch{b.pick("x-a", "end-user", "X-Upper"): b.stringMatch()}
			}
			if b.intn(3) == 0 {
				m.QueryParams = map[string]*networking.StringMatch{"q": b.stringMatch()}
			}
			if b.intn(3) == 0 {
				m.SourceLabels = map[string]string{"app": b.pick("a", "b")}
			}
			hr.Match = append(hr.Match, m)
		}
		switch b.intn(5) {
		case 0:
			hr.Redirect = &networking.HTTPRedirect{Uri: b.pick("", "/x"), Authority: b.pick("", "h"), RedirectCode: uint32(b.intn(400)),
				RedirectPort: &networking.HTTPRedirect_Port{Port: uint32(b.int32())}}
		case 1:
			hr.DirectResponse = &networking.HTTPDirectResponse{Status: uint32(b.int32())}
		case 2:
			hr.Delegate = &networking.Delegate{Name: b.pick("vs0", "vs1", "vs2"), Namespace: b.pick("", "default", "other")}
		default:
			for range b.intn(4) {
				hr.Route = append(hr.Route, &networking.HTTPRouteDestination{
					Destination: &networking.Destination{Host: fuzzHosts[b.intn(len(fuzzHosts))], Subset: b.pick("", "v1", "v2"),
						Port: &networking.PortSelector{Number: uint32(b.intn(2) * 80)}},
					Weight: b.int32() % 200,
				})
			}
		}
		hr.Timeout = b.duration()
		if b.intn(2) == 0 {
			hr.Retries = &networking.HTTPRetry{Attempts: b.int32() % 10, PerTryTimeout: b.duration(), RetryOn: b.pick("", "5xx", "503,gateway-error", ",,", "99999,abc"), Backoff: b.duration()}
		}
		if b.intn(2) == 0 {
			hr.Fault = &networking.HTTPFaultInjection{}
			if b.intn(2) == 0 {
				hr.Fault.Delay = &networking.HTTPFaultInjection_Delay{HttpDelayType: &networking.HTTPFaultInjection_Delay_FixedDelay{FixedDelay: b.duration()}, Percentage: b.percent()}
			}
			if b.intn(2) == 0 {
				abort := &networking.HTTPFaultInjection_Abort{Percentage: b.percent()}
				if b.intn(2) == 0 {
					abort.ErrorType = &networking.HTTPFaultInjection_Abort_HttpStatus{HttpStatus: b.int32() % 700}
				} else {
					abort.ErrorType = &networking.HTTPFaultInjection_Abort_GrpcStatus{GrpcStatus: b.pick("UNAVAILABLE", "bogus", "")}
				}
				hr.Fault.Abort = abort
			}
		}
		if b.intn(3) == 0 {
			hr.Mirror = &networking.Destination{Host: fuzzHosts[b.intn(len(fuzzHosts))]}
			hr.MirrorPercentage = b.percent()
		}
		if b.intn(3) == 0 {
			hr.CorsPolicy = &networking.CorsPolicy{AllowOrigins: []*networking.StringMatch{b.stringMatch()}, MaxAge: b.duration(), AllowCredentials: wrapperspb.Bool(true)}
		}
		if b.intn(3) == 0 {
			hr.Rewrite = &networking.HTTPRewrite{Uri: b.pick("", "/r"), Authority: b.pick("", "a"),
				UriRegexRewrite: &networking.RegexRewrite{Match: b.pick("", "^/(.*)"), Rewrite: "/\\1"}}
		}
		if b.intn(3) == 0 {
			hr.Headers = &networking.Headers{Request: &networking.Headers_HeaderOperations{
				Set: map[string]string{b.pick("x-a", ":path", "bad header", ""): "v"}, Remove: []string{b.pick("x-b", ":authority", "")}}}
		}
		vs.Spec.Http = append(vs.Spec.Http, hr)
	}
	for range b.intn(2) {
		tr := &networking.TCPRoute{Match: []*networking.L4MatchAttributes{{Port: uint32(b.intn(3) * 1000), DestinationSubnets: []string{b.pick("", "10.0.0.0/8")}[:b.intn(2)]}}}
		for range b.intn(3) {
			tr.Route = append(tr.Route, &networking.RouteDestination{Destination: &networking.Destination{Host: fuzzHosts[b.intn(len(fuzzHosts))], Subset: b.pick("", "v1")}, Weight: b.int32() % 100})
		}
		vs.Spec.Tcp = append(vs.Spec.Tcp, tr)
	}
	return vs
}

func randomDestinationRule(b *byteSource, i int) *networkingv1.DestinationRule {
	dr := &networkingv1.DestinationRule{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprint("dr", i), Namespace: b.pick("default", "other")}}
	dr.Spec.Host = fuzzHosts[b.intn(len(fuzzHosts))]
	dr.Spec.TrafficPolicy = randomPolicy(b)
	for range b.intn(3) {
		dr.Spec.Subsets = append(dr.Spec.Subsets, &networking.Subset{
			Name: b.pick("v1", "v2", ""), Labels: map[string]string{"version": b.pick("v1", "v2")}, TrafficPolicy: randomPolicy(b),
		})
	}
	return dr
}

func randomPolicy(b *byteSource) *networking.TrafficPolicy {
	if b.intn(3) == 0 {
		return nil
	}
	tp := &networking.TrafficPolicy{}
	switch b.intn(4) {
	case 0:
		tp.LoadBalancer = &networking.LoadBalancerSettings{LbPolicy: &networking.LoadBalancerSettings_Simple{Simple: networking.LoadBalancerSettings_SimpleLB(b.intn(7))}}
	case 1:
		ch := &networking.LoadBalancerSettings_ConsistentHashLB{MinimumRingSize: uint64(b.int32())}
		switch b.intn(4) {
		case 0:
			ch.HashKey = &networking.LoadBalancerSettings_ConsistentHashLB_HttpHeaderName{HttpHeaderName: b.pick("x-user", "")}
		case 1:
			ch.HashKey = &networking.LoadBalancerSettings_ConsistentHashLB_HttpCookie{HttpCookie: &networking.LoadBalancerSettings_ConsistentHashLB_HTTPCookie{Name: b.pick("c", ""), Ttl: b.duration()}}
		case 2:
			ch.HashKey = &networking.LoadBalancerSettings_ConsistentHashLB_UseSourceIp{UseSourceIp: true}
		}
		if b.intn(2) == 0 {
			ch.HashAlgorithm = &networking.LoadBalancerSettings_ConsistentHashLB_Maglev{Maglev: &networking.LoadBalancerSettings_ConsistentHashLB_MagLev{}}
		}
		tp.LoadBalancer = &networking.LoadBalancerSettings{LbPolicy: &networking.LoadBalancerSettings_ConsistentHash{ConsistentHash: ch}}
	}
	if b.intn(2) == 0 {
		tp.ConnectionPool = &networking.ConnectionPoolSettings{
			Tcp:  &networking.ConnectionPoolSettings_TCPSettings{MaxConnections: b.int32(), ConnectTimeout: b.duration()},
			Http: &networking.ConnectionPoolSettings_HTTPSettings{Http1MaxPendingRequests: b.int32(), MaxRequestsPerConnection: b.int32(), MaxRetries: b.int32(), IdleTimeout: b.duration()},
		}
	}
	if b.intn(2) == 0 {
		tp.Tls = &networking.ClientTLSSettings{Mode: networking.ClientTLSSettings_TLSmode(b.intn(5)), Sni: b.pick("", "x"),
			ClientCertificate: b.pick("", "/c.pem"), PrivateKey: b.pick("", "/k.pem"), CaCertificates: b.pick("", "/ca.pem"),
			SubjectAltNames: []string{b.pick("", "san")}, InsecureSkipVerify: wrapperspb.Bool(b.intn(2) == 0)}
	}
	if b.intn(2) == 0 {
		tp.OutlierDetection = &networking.OutlierDetection{
			Consecutive_5XxErrors: wrapperspb.UInt32(uint32(b.int32())), Interval: b.duration(), BaseEjectionTime: b.duration(),
			MaxEjectionPercent: b.int32(), MinHealthPercent: b.int32(), FailurePercentageThreshold: wrapperspb.UInt32(uint32(b.int32())),
		}
	}
	return tp
}
