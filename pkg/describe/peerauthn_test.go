package describe

import (
	"testing"

	"skiff.dev/skiff/pkg/model"
)

// TestMTLSSource checks that the policy describe names is the one whose mode model.InboundMTLS applies.
func TestMTLSSource(t *testing.T) {
	in, err := model.LoadFiles(map[string][]byte{"pa.yaml": []byte(`
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec: {mtls: {mode: STRICT}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: unset, namespace: shop}
spec: {mtls: {mode: UNSET}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: legacy, namespace: shop}
spec:
  selector: {matchLabels: {app: legacy}}
  mtls: {mode: DISABLE}
  portLevelMtls: {8443: {mode: STRICT}}
`)})
	if err != nil {
		t.Fatal(err)
	}
	m := model.Build(in)
	cases := []struct {
		ns     string
		labels map[string]string
		port   uint32
		mode   model.MTLSMode
		source string
	}{
		{"shop", map[string]string{"app": "web"}, 80, model.MTLSStrict, "mesh-wide PeerAuthentication istio-system/default"},
		{"shop", map[string]string{"app": "legacy"}, 80, model.MTLSDisable, "workload PeerAuthentication shop/legacy"},
		{"shop", map[string]string{"app": "legacy"}, 8443, model.MTLSStrict, "port-level setting of PeerAuthentication shop/legacy"},
		{"other", nil, 80, model.MTLSStrict, "mesh-wide PeerAuthentication istio-system/default"},
	}
	for _, c := range cases {
		if got := m.InboundMTLS(c.ns, c.labels, c.port); got != c.mode {
			t.Errorf("%s %v :%d: mode %s, want %s", c.ns, c.labels, c.port, got, c.mode)
		}
		if got := mtlsSource(m, model.DefaultRootNamespace, c.ns, c.labels, c.port); got != c.source {
			t.Errorf("%s %v :%d: source %q, want %q", c.ns, c.labels, c.port, got, c.source)
		}
	}
}
