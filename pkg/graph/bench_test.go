package graph

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"skiff.dev/skiff/pkg/model"
)

// benchInput is a mesh of n services in 10 namespaces, each with two pods, a DestinationRule with two
// subsets and a 90/10 VirtualService.
func benchInput(b *testing.B, n int) model.Input {
	b.Helper()
	var y strings.Builder
	for i := range n {
		ns := fmt.Sprintf("ns%d", i%10)
		fmt.Fprintf(&y, `apiVersion: v1
kind: Service
metadata: {name: svc%[1]d, namespace: %[2]s}
spec: {selector: {app: svc%[1]d}, ports: [{name: http, port: 80}]}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: svc%[1]d, namespace: %[2]s}
spec: {host: svc%[1]d, subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: svc%[1]d, namespace: %[2]s}
spec:
  hosts: [svc%[1]d]
  http: [{route: [{destination: {host: svc%[1]d, subset: v1}, weight: 90}, {destination: {host: svc%[1]d, subset: v2}, weight: 10}]}]
---
`, i, ns)
		for _, v := range []string{"v1", "v2"} {
			fmt.Fprintf(&y, `apiVersion: v1
kind: Pod
metadata: {name: svc%[1]d-%[3]s, namespace: %[2]s, labels: {app: svc%[1]d, version: %[3]s}, annotations: {sidecar.istio.io/status: "{}"}}
spec: {containers: [{name: app, image: app}]}
---
`, i, ns, v)
		}
	}
	in, err := model.LoadFiles(map[string][]byte{"mesh.yaml": []byte(y.String())})
	if err != nil {
		b.Fatal(err)
	}
	return in
}

// BenchmarkGraph500 builds the graph of a 500-service mesh and writes it as DOT and built-in SVG.
func BenchmarkGraph500(b *testing.B) {
	in := benchInput(b, 500)
	m := model.Build(in)
	b.ResetTimer()
	for b.Loop() {
		g := Build(m, in)
		if err := WriteDOT(io.Discard, g); err != nil {
			b.Fatal(err)
		}
		if err := WriteSVG(io.Discard, g); err != nil {
			b.Fatal(err)
		}
	}
}
