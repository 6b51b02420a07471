package analyze

// defaultIngressGatewayYAML stands in for the ingress gateway a mesh installation provides, as istioctl does
// when it analyses files without a cluster, so `selector: {istio: ingressgateway}` is not reported as missing.
const defaultIngressGatewayYAML = `apiVersion: v1
kind: Pod
metadata:
  name: istio-ingressgateway
  labels: {istio: ingressgateway, app: istio-ingressgateway}
spec:
  containers:
  - name: istio-proxy
    ports: [{containerPort: 8080}, {containerPort: 8443}]
---
apiVersion: v1
kind: Service
metadata:
  name: istio-ingressgateway
spec:
  selector: {istio: ingressgateway}
  ports:
  - {name: http2, port: 80, targetPort: 8080}
  - {name: https, port: 443, targetPort: 8443}
`

func defaultIngressGateway(dec *decoder, meshNamespace string) []*Resource {
	docs, _ := splitDocuments("", []byte(defaultIngressGatewayYAML))
	nsDec := &decoder{kinds: dec.kinds, defaultNamespace: meshNamespace}
	var out []*Resource
	for _, d := range docs {
		if r, _, p := nsDec.decode(d, Origin{Synthetic: true}); p == nil {
			out = append(out, r)
		}
	}
	return out
}
