// Package benchdata writes synthetic mesh configuration for the analyze benchmarks: per application a
// Service, a Deployment, a VirtualService (90/10 canary) and a DestinationRule, spread over namespaces.
package benchdata

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
)

// Namespaces is how many namespaces (and files) the applications are spread over.
const Namespaces = 50

// Write writes resources objects (rounded down to a multiple of 4) into dir, one file per namespace, and
// returns the file names.
func Write(dir string, resources int) ([]string, error) {
	apps := resources / 4
	var files []string
	writers := make([]*bufio.Writer, Namespaces)
	handles := make([]*os.File, Namespaces)
	for n := range Namespaces {
		name := filepath.Join(dir, fmt.Sprintf("ns-%02d.yaml", n))
		f, err := os.Create(name)
		if err != nil {
			return nil, err
		}
		handles[n], writers[n] = f, bufio.NewWriter(f)
		files = append(files, name)
	}
	for i := range apps {
		n := i % Namespaces
		fmt.Fprintf(writers[n], app, i, n)
	}
	for n := range Namespaces {
		if err := writers[n].Flush(); err != nil {
			return nil, err
		}
		if err := handles[n].Close(); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// app is one application; %[1]d is its number, %[2]d its namespace's.
const app = `apiVersion: v1
kind: Service
metadata:
  name: app-%[1]d
  namespace: ns-%[2]d
  labels: {app: app-%[1]d}
spec:
  selector: {app: app-%[1]d}
  ports:
  - name: http
    port: 9080
    targetPort: 9080
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-%[1]d-v1
  namespace: ns-%[2]d
spec:
  replicas: 2
  selector:
    matchLabels: {app: app-%[1]d, version: v1}
  template:
    metadata:
      labels: {app: app-%[1]d, version: v1}
      annotations: {sidecar.istio.io/proxyCPU: 100m}
    spec:
      containers:
      - name: app
        image: registry.example.com/app:%[1]d
        ports: [{containerPort: 9080}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: app-%[1]d
  namespace: ns-%[2]d
spec:
  hosts: [app-%[1]d]
  http:
  - match:
    - headers:
        end-user: {exact: canary}
    route:
    - destination: {host: app-%[1]d, subset: v2}
  - timeout: 3s
    retries: {attempts: 3, perTryTimeout: 1s}
    route:
    - destination: {host: app-%[1]d, subset: v1}
      weight: 90
    - destination: {host: app-%[1]d, subset: v2}
      weight: 10
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: app-%[1]d
  namespace: ns-%[2]d
spec:
  host: app-%[1]d
  trafficPolicy:
    connectionPool:
      tcp: {maxConnections: 100}
    outlierDetection: {consecutive5xxErrors: 5, interval: 30s, baseEjectionTime: 1m}
  subsets:
  - name: v1
    labels: {version: v1}
  - name: v2
    labels: {version: v2}
---
`
