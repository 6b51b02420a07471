package model

import (
	"strings"
	"testing"

	"skiff.dev/skiff/pkg/errs"
)

const meshYAML = `apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec:
  clusterIP: 10.0.0.1
  ports:
  - {name: http, port: 9080}
  - {name: udp-dns, port: 53, protocol: UDP}
  - {name: metrics, port: 15020, appProtocol: tcp}
---
apiVersion: v1
kind: Pod
metadata: {name: reviews-v2, namespace: default, labels: {version: v2}}
spec: {serviceAccountName: bookinfo-reviews, containers: [{name: c, image: i}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: reviews-1, namespace: default, labels: {kubernetes.io/service-name: reviews}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints:
- addresses: [10.1.0.2]
  targetRef: {kind: Pod, name: reviews-v2}
- addresses: [10.1.0.1]
  conditions: {ready: false}
---
apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata: {name: in-default, namespace: default, creationTimestamp: "2024-01-02T00:00:00Z"}
spec: {host: reviews}
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: wildcard, namespace: shop, creationTimestamp: "2024-01-01T00:00:00Z"}
spec: {host: "*.default.svc.cluster.local"}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: b, namespace: default, creationTimestamp: "2024-01-02T00:00:00Z"}
spec: {hosts: [reviews]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: a, namespace: default, creationTimestamp: "2024-01-03T00:00:00Z"}
spec: {hosts: [reviews.default.svc.cluster.local]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: wild, namespace: default, creationTimestamp: "2024-01-01T00:00:00Z"}
spec: {hosts: ["*.svc.cluster.local"]}
`

func TestBuildFromYAML(t *testing.T) {
	in, err := LoadFiles(map[string][]byte{"mesh.yaml": []byte(meshYAML)})
	if err != nil {
		t.Fatal(err)
	}
	m := Build(in)
	svc := m.Service("reviews.default.svc.cluster.local")
	if svc == nil {
		t.Fatal("reviews not in the model")
	}
	if len(svc.Ports) != 2 || svc.Ports[0].Number != 9080 || svc.Ports[0].Protocol != HTTP || svc.Ports[1].Protocol != TCP {
		t.Fatalf("ports %+v: want http 9080 and tcp 15020, UDP dropped", svc.Ports)
	}
	if len(svc.Endpoints) != 1 {
		t.Fatalf("endpoints %+v: the not-ready one must be dropped", svc.Endpoints)
	}
	ep := svc.Endpoints[0]
	if ep.Address != "10.1.0.2" || ep.TargetPort(svc.Ports[0]) != 8080 || ep.Labels["version"] != "v2" || ep.ServiceAccount != "bookinfo-reviews" {
		t.Fatalf("endpoint %+v: want pod labels and service account joined via targetRef", ep)
	}
	// Exact host beats the older wildcard; among exact hosts the older one wins.
	if vss := m.VirtualServicesFor(svc.Hostname); len(vss) != 3 || vss[0].Name != "b" || vss[1].Name != "a" || vss[2].Name != "wild" {
		t.Fatalf("VirtualServicesFor order: %v", names(vss))
	}
	// A DestinationRule in the proxy's namespace wins; from elsewhere, the service's namespace beats a wildcard.
	if dr := m.DestinationRuleFor(svc.Hostname, "shop"); dr == nil || dr.Name != "wildcard" {
		t.Fatalf("from shop: got %+v, want the wildcard rule in shop", dr)
	}
	if dr := m.DestinationRuleFor(svc.Hostname, "other"); dr == nil || dr.Name != "in-default" {
		t.Fatalf("from other: got %+v, want the rule in the service's namespace", dr)
	}
}

func names[T interface{ GetName() string }](in []T) []string {
	var out []string
	for _, x := range in {
		out = append(out, x.GetName())
	}
	return out
}

func TestLoadYAMLErrorsNameFileAndLine(t *testing.T) {
	bad := "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\n# second\napiVersion: networking.istio.io/v1\nkind: VirtualService\nspec: {hosts: 3}\n"
	_, err := LoadFiles(map[string][]byte{"cfg.yaml": []byte(bad)})
	if errs.KindOf(err) != errs.KindBadInput || !strings.HasPrefix(err.Error(), "cfg.yaml:5:") {
		t.Fatalf("got %v, want a bad-input error at cfg.yaml:5", err)
	}
	// Kinds the model does not use are skipped, not errors.
	if _, err := LoadFiles(map[string][]byte{"x.yaml": []byte("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n")}); err != nil {
		t.Fatalf("unknown kind: %v", err)
	}
}

func TestResolveHostAndProtocol(t *testing.T) {
	for _, c := range []struct{ host, ns, want string }{
		{"reviews", "default", "reviews.default.svc.cluster.local"},
		{"reviews.other.svc.cluster.local", "default", "reviews.other.svc.cluster.local"},
		{"*.example.com", "default", "*.example.com"},
		{"*", "default", "*"},
	} {
		if got := ResolveHost(c.host, c.ns, DefaultDomainSuffix); got != c.want {
			t.Errorf("ResolveHost(%q) = %q, want %q", c.host, got, c.want)
		}
	}
	if !HostMatches("*.example.com", "a.example.com") || HostMatches("*.example.com", "example.com") {
		t.Error("HostMatches wildcard semantics")
	}
	for _, c := range []struct {
		name, app, transport string
		want                 Protocol
	}{
		{"http-web", "", "TCP", HTTP}, {"grpc", "", "", GRPC}, {"x", "kubernetes.io/h2c", "", HTTP2},
		{"tcp-db", "", "", TCP}, {"dns", "", "UDP", UDP}, {"web", "", "", Unknown}, {"https", "", "", HTTPS},
	} {
		if got := PortProtocol(c.name, c.app, c.transport); got != c.want {
			t.Errorf("PortProtocol(%q, %q) = %s, want %s", c.name, c.app, got, c.want)
		}
	}
}
