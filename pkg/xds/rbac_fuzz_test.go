package xds

import (
	"fmt"
	"testing"

	rbachttpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/rbac/v3"
	rbacnetv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/rbac/v3"
	securityapi "istio.io/api/security/v1beta1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// FuzzAuthzTranslation builds random AuthorizationPolicies from odd values (empty strings, lone and
// double wildcards, zoned and malformed addresses, out-of-range ports, bad header names, unknown keys)
// and checks that the RBAC filters for every target pass Envoy's validation: an unusable value is
// skipped, never emitted.
func FuzzAuthzTranslation(f *testing.F) {
	for _, seed := range [][]byte{{}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, {255, 254, 253, 7, 7, 7, 0, 1, 0, 1, 200, 100, 50}} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b := &byteSource{data: data}
		values := func(pool ...string) []string {
			var out []string
			for range b.intn(3) {
				out = append(out, b.pick(pool...))
			}
			return out
		}
		strs := []string{"", "*", "**", "a*", "*a", "/x", "cluster.local/ns/a/sa/b", "x.y*", "GET", "ä", "a\nb"}
		ips := []string{"", "10.0.0.0/8", "10.0.0.1", "::1", "fe80::1%eth0", "300.1.1.1", "10.0.0.0/33", "2001:db8::/129", "*"}
		ports := []string{"", "0", "80", "65535", "65536", "-1", "http", "*"}
		keys := []string{"request.headers[x-a]", "request.headers[]", "request.headers[a b]", "request.headers[grpc-x]", "request.headers[:scheme]",
			"request.headers[:authority]", "source.ip", "remote.ip", "source.namespace", "source.principal", "destination.port", "request.auth.claims[x]", "nonsense",
			"request.auth.principal", "request.auth.audiences", "request.auth.presenter", "request.auth.claims[a][b]", "request.auth.claims[]", "request.auth.claims[a][]"}
		var policies []*securityv1.AuthorizationPolicy
		for i := range 1 + b.intn(3) {
			ap := &securityv1.AuthorizationPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: fmt.Sprint("p", i)}}
			ap.Spec.Action = securityapi.AuthorizationPolicy_Action(b.intn(5))
			for range b.intn(3) {
				r := &securityapi.Rule{}
				for range b.intn(3) {
					r.From = append(r.From, &securityapi.Rule_From{Source: &securityapi.Source{
						Principals: values(strs...), NotPrincipals: values(strs...), Namespaces: values(strs...), NotNamespaces: values(strs...),
						IpBlocks: values(ips...), NotIpBlocks: values(ips...), RemoteIpBlocks: values(ips...), NotRemoteIpBlocks: values(ips...),
						RequestPrincipals: values(strs...), NotRequestPrincipals: values(strs...),
					}})
				}
				for range b.intn(3) {
					r.To = append(r.To, &securityapi.Rule_To{Operation: &securityapi.Operation{
						Methods: values(strs...), NotMethods: values(strs...), Paths: values(strs...), NotPaths: values(strs...),
						Ports: values(ports...), NotPorts: values(ports...), Hosts: values(strs...), NotHosts: values(strs...),
					}})
				}
				for range b.intn(3) {
					key := b.pick(keys...)
					pool := strs
					switch key {
					case "source.ip", "remote.ip":
						pool = ips
					case "destination.port":
						pool = ports
					}
					r.When = append(r.When, &securityapi.Condition{Key: key, Values: values(pool...), NotValues: values(pool...)})
				}
				ap.Spec.Rules = append(ap.Spec.Rules, r)
			}
			policies = append(policies, ap)
		}
		for _, target := range []authzTarget{authzHTTP, authzGRPC, authzTCP} {
			a := translateAuthz(policies, target)
			for _, rules := range []*rbachttpv3.RBAC{{Rules: a.deny}, {Rules: a.allow}} {
				if rules.Rules == nil {
					continue
				}
				var err error
				if target == authzTCP {
					err = (&rbacnetv3.RBAC{Rules: rules.Rules, StatPrefix: "tcp."}).ValidateAll()
				} else {
					err = rules.ValidateAll()
				}
				if err != nil {
					t.Fatalf("target %d: %v\n%s", target, err, protoYAML(t, rules))
				}
			}
		}
	})
}
