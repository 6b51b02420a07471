package inject

import (
	"fmt"
	"strings"
	"testing"
)

// manyDeployments is a manifest of n typical Deployments (probes, ports, labels) separated by Services.
func manyDeployments(n int) []byte {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-%[1]d
  namespace: bench
spec:
  replicas: 2
  selector:
    matchLabels: {app: app-%[1]d}
  template:
    metadata:
      labels: {app: app-%[1]d, version: v1}
    spec:
      containers:
      - name: app
        image: example/app:%[1]d
        ports:
        - {name: http, containerPort: 8080}
        readinessProbe:
          httpGet: {path: /ready, port: http}
        livenessProbe:
          tcpSocket: {port: 8080}
        resources:
          requests: {cpu: 100m, memory: 64Mi}
`, i)
	}
	return []byte(b.String())
}

func BenchmarkInject1000Deployments(b *testing.B) {
	src := manyDeployments(1000)
	inj, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		res, err := inj.InjectManifest(src, "bench.yaml")
		if err != nil || len(res.Records) != 1000 || res.Records[999].Verb != "injected" {
			b.Fatalf("not all injected: %v", err)
		}
	}
}
