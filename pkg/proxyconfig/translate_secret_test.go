package proxyconfig

import (
	"bytes"
	"encoding/base64"
	"os"
	"strings"
	"testing"

	"skiff.dev/skiff/pkg/ui"
)

// TestTranslateGatewaySecretRedacted: `skiff x translate` for an ingress gateway lists the credentialName
// Secret it would be served, with its certificate readable, and never prints the private key, in any
// view or format.
func TestTranslateGatewaySecretRedacted(t *testing.T) {
	input := "../xds/testdata/in/gateway-https.yaml"
	key, err := os.ReadFile("../xds/testdata/tls/server-key.pem")
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"istio": "ingressgateway"}
	render := func(o RenderOptions) string {
		var out bytes.Buffer
		err := RunTranslate(t.Context(), TranslateOptions{Files: []string{input}, Proxy: "istio-ingressgateway.istio-system", Type: "router",
			Labels: labels, Streams: ui.Streams{Out: &out}, Render: o})
		if err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	table := render(RenderOptions{View: Secret})
	if !strings.Contains(table, "kubernetes://bookinfo-cert") || !strings.Contains(table, "Cert Chain") || !strings.Contains(table, "ACTIVE") {
		t.Errorf("secret view lacks the gateway credential:\n%s", table)
	}
	for _, o := range []RenderOptions{{View: Secret, Output: YAML}, {View: Secret, Output: JSON}, {View: All, Output: JSON}, {View: All, Output: YAML}} {
		out := render(o)
		for _, leak := range []string{string(key), base64.StdEncoding.EncodeToString(key), "PRIVATE KEY"} {
			if strings.Contains(out, leak) {
				t.Errorf("%s %s output leaks the private key", o.View, o.Output)
			}
		}
		if !strings.Contains(out, base64.StdEncoding.EncodeToString([]byte("[redacted]"))) {
			t.Errorf("%s %s output lacks the redacted key", o.View, o.Output)
		}
	}
}
