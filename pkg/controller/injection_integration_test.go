package controller

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"

	"skiff.dev/skiff/internal/testenv"
	"skiff.dev/skiff/pkg/install"
)

// TestInjectionWebhookUsesInstalledConfig: the controller's webhook injects with the injector ConfigMaps the
// installer rendered into the cluster (here with a custom hub), not with built-in defaults.
func TestInjectionWebhookUsesInstalledConfig(t *testing.T) {
	env := testenv.Start(t)
	cs := kubernetes.NewForConfigOrDie(env.Config)
	ctx := context.Background()

	if _, err := injectionWebhooks(ctx, env.Config, "istio-system", ""); err == nil ||
		!strings.Contains(err.Error(), "ConfigMap istio-system/istio not found") {
		t.Fatalf("without an installed mesh: got %v", err)
	}

	p, err := install.LoadProfile(install.ProfileOptions{Profile: "minimal", Sets: []string{"values.global.hub=registry.example/mesh"}})
	if err != nil {
		t.Fatal(err)
	}
	manifests, err := install.Render(p)
	if err != nil {
		t.Fatal(err)
	}
	testenv.EnsureNamespace(t, cs, "istio-system", nil)
	for _, m := range manifests {
		for _, obj := range m.Objects {
			if obj.GetKind() != "ConfigMap" {
				continue
			}
			var cm corev1.ConfigMap
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &cm); err != nil {
				t.Fatal(err)
			}
			if _, err := cs.CoreV1().ConfigMaps(cm.Namespace).Create(ctx, &cm, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}

	h, err := injectionWebhooks(ctx, env.Config, "istio-system", "default")
	if err != nil {
		t.Fatal(err)
	}
	pod := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","labels":{"app":"web"}},"spec":{"containers":[{"name":"web","image":"nginx"}]}}`
	body, _ := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID: "1", Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}, Namespace: "shop",
			Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: []byte(pod)},
		},
	})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, InjectPath, bytes.NewReader(body)))
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Response == nil || !out.Response.Allowed {
		t.Fatalf("status %d, response %s", rec.Code, rec.Body)
	}
	if !bytes.Contains(out.Response.Patch, []byte("registry.example/mesh/skiff-proxy")) {
		t.Fatalf("the patch does not use the installed hub:\n%s", out.Response.Patch)
	}

	// The same handler validates Istio configuration at the path the installer's ValidatingWebhookConfiguration uses.
	if msg := serveValidation(t, h, install.ValidatePath); !strings.Contains(msg, "configuration is invalid") {
		t.Fatalf("%s did not reject an invalid VirtualService: %q", install.ValidatePath, msg)
	}
}

func serveValidation(t *testing.T, h http.Handler, path string) string {
	t.Helper()
	body := invalidVirtualServiceReview()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body)))
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Response == nil || out.Response.Allowed || out.Response.Result == nil {
		return rec.Body.String()
	}
	return out.Response.Result.Message
}
