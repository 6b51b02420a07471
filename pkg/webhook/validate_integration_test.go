package webhook

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	admissionregv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"skiff.dev/skiff/internal/testenv"
)

// TestValidationWebhookWithAPIServer registers the validation webhook (real TLS, caBundle from a test CA)
// with a real kube-apiserver that serves Istio's CRDs. Objects the CRDs' structural schemas accept but
// Istio rejects (a bad regex, an HTTP rule without an action, a negative weight) are refused with the webhook's field-level
// message; valid objects are stored.
func TestValidationWebhookWithAPIServer(t *testing.T) {
	env := testenv.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cs := kubernetes.NewForConfigOrDie(env.Config)
	dyn := dynamic.NewForConfigOrDie(env.Config)
	env.InstallIstioCRDs(t)
	testenv.EnsureNamespace(t, cs, "shop", nil)
	vsGVR := schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: "virtualservices"}
	vss := dyn.Resource(vsGVR).Namespace("shop")

	badRegex := object(t, "bad-regex", "{match: [{uri: {regex: '(a'}}], route: [{destination: {host: reviews}}]}")
	noAction := object(t, "no-action", "match: [{uri: {prefix: /}}]")
	negativeWeight := object(t, "valid", "route: [{destination: {host: reviews}, weight: -1}]")
	valid := object(t, "valid", "{match: [{uri: {regex: '/v[0-9]+/.*'}}], route: [{destination: {host: reviews}}]}")

	// Without the webhook the CRD schema stores both broken objects: the webhook is what stops them.
	for _, o := range []*unstructured.Unstructured{badRegex, noAction, negativeWeight} {
		if _, err := vss.Create(ctx, o, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
			t.Fatalf("the CRD schema alone already rejects %s, pick another case: %v", o.GetName(), err)
		}
	}

	caPEM, serverCert := selfSignedServing(t)
	mux := http.NewServeMux()
	mux.Handle("/validate", NewValidateHandler())
	srv := httptest.NewUnstartedServer(mux)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{serverCert}, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	defer srv.Close()
	url := srv.URL + "/validate"
	none := admissionregv1.SideEffectClassNone
	fail := admissionregv1.Fail
	ops := []admissionregv1.OperationType{admissionregv1.Create, admissionregv1.Update}
	_, err := cs.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, &admissionregv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "istio-validator-istio-system"},
		Webhooks: []admissionregv1.ValidatingWebhook{{
			Name:         "rev.validation.istio.io",
			ClientConfig: admissionregv1.WebhookClientConfig{URL: &url, CABundle: caPEM},
			Rules: []admissionregv1.RuleWithOperations{{Operations: ops, Rule: admissionregv1.Rule{
				APIGroups: []string{"networking.istio.io", "security.istio.io", "telemetry.istio.io"}, APIVersions: []string{"*"}, Resources: []string{"*"}}}},
			SideEffects:             &none,
			FailurePolicy:           &fail,
			AdmissionReviewVersions: []string{"v1"},
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	// The API server picks up new webhook configurations asynchronously: dry-run until it rejects.
	for {
		_, err = vss.Create(ctx, badRegex, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil && strings.Contains(err.Error(), "configuration is invalid") {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the webhook never rejected the bad regex; last answer: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}

	_, err = vss.Create(ctx, badRegex, metav1.CreateOptions{})
	wantRejected(t, err, `admission webhook "rev.validation.istio.io" denied the request`, "IST0122", `"(a"`)
	_, err = vss.Create(ctx, noAction, metav1.CreateOptions{})
	wantRejected(t, err, "IST0106 Schema validation error: spec.http[0]: an http rule needs route, redirect, directResponse or delegate")

	stored, err := vss.Create(ctx, valid, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("a valid VirtualService was rejected: %v", err)
	}
	// Breaking a stored object is refused too.
	negativeWeight.SetResourceVersion(stored.GetResourceVersion())
	_, err = vss.Update(ctx, negativeWeight, metav1.UpdateOptions{})
	wantRejected(t, err, "spec.http[0].route[0].weight: weight -1 must not be negative")
	t.Logf("example rejection: %v", err)
}

func wantRejected(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("the API server stored an invalid object")
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("rejection %q lacks %q", err, w)
		}
	}
}

// object is a VirtualService in namespace shop with one HTTP rule.
func object(t *testing.T, name, rule string) *unstructured.Unstructured {
	t.Helper()
	y := "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: " + name + "}\n" +
		"spec:\n  hosts: [reviews]\n  http:\n  - " + rule + "\n"
	var u unstructured.Unstructured
	if err := yaml.Unmarshal([]byte(y), &u.Object); err != nil {
		t.Fatal(err)
	}
	return &u
}
