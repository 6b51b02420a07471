package webhook

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	jsonpatchapply "github.com/evanphx/json-patch/v5"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"skiff.dev/skiff/pkg/inject"
)

func newHandler(t *testing.T) *InjectHandler {
	t.Helper()
	inj, err := inject.New(inject.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return NewInjectHandler(inj)
}

func review(t *testing.T, h http.Handler, kind string, obj string) *admissionv1.AdmissionResponse {
	t.Helper()
	body, _ := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID: "42", Kind: metav1.GroupVersionKind{Version: "v1", Kind: kind}, Namespace: "shop",
			Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: []byte(obj)},
		},
	})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/inject", bytes.NewReader(body)))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Response == nil {
		t.Fatalf("bad response %s: %v", rec.Body, err)
	}
	if out.Response.UID != "42" {
		t.Errorf("response UID %q, want the request's", out.Response.UID)
	}
	return out.Response
}

// The patch, applied to the pod the API server sent, must give exactly what the engine produces offline.
func TestPatchMatchesEngine(t *testing.T) {
	pod := `{"apiVersion":"v1","kind":"Pod","metadata":{"generateName":"web-7d9f8-","labels":{"app":"web","pod-template-hash":"7d9f8"},
"ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web-7d9f8","uid":"1","controller":true}]},
"spec":{"containers":[{"name":"web","image":"nginx","readinessProbe":{"httpGet":{"path":"/","port":80}}}]}}`
	resp := review(t, newHandler(t), "Pod", pod)
	if !resp.Allowed || resp.PatchType == nil || *resp.PatchType != admissionv1.PatchTypeJSONPatch {
		t.Fatalf("want an allowed JSON patch, got %+v", resp)
	}
	patch, err := jsonpatchapply.DecodePatch(resp.Patch)
	if err != nil {
		t.Fatal(err)
	}
	patched, err := patch.Apply([]byte(pod))
	if err != nil {
		t.Fatal(err)
	}
	var got, want map[string]any
	_ = json.Unmarshal(patched, &got)
	_ = json.Unmarshal([]byte(pod), &want)
	inj, _ := inject.New(inject.Config{})
	if _, err := inj.InjectTemplate(inject.Workload{Kind: "Deployment", APIVersion: "apps/v1", Name: "web", Namespace: "shop"}, want); err != nil {
		t.Fatal(err)
	}
	wantJSON, _ := json.Marshal(want)
	gotJSON, _ := json.Marshal(got)
	if !reflect.DeepEqual(normalise(wantJSON), normalise(gotJSON)) {
		t.Errorf("patched pod differs from the engine's:\nwant %s\ngot  %s", wantJSON, gotJSON)
	}
	if !strings.Contains(string(patched), "kubernetes://apis/apps/v1/namespaces/shop/deployments/web") {
		t.Error("owner should be the Deployment behind the ReplicaSet")
	}
}

func normalise(b []byte) any {
	var v any
	_ = json.Unmarshal(b, &v)
	return v
}

func TestNotInjected(t *testing.T) {
	h := newHandler(t)
	for name, tc := range map[string]struct{ kind, obj string }{
		"not a pod":    {"Service", `{"kind":"Service","metadata":{"name":"s"}}`},
		"opted out":    {"Pod", `{"metadata":{"name":"p","annotations":{"sidecar.istio.io/inject":"false"}},"spec":{"containers":[{"name":"a"}]}}`},
		"host network": {"Pod", `{"metadata":{"name":"p"},"spec":{"hostNetwork":true,"containers":[{"name":"a"}]}}`},
	} {
		resp := review(t, h, tc.kind, tc.obj)
		if !resp.Allowed || resp.Patch != nil {
			t.Errorf("%s: want allowed without a patch, got %+v", name, resp)
		}
	}
}

func TestBadPodIsDenied(t *testing.T) {
	resp := review(t, newHandler(t), "Pod", `{"metadata":{"name":"p","annotations":{"proxy.istio.io/config":"concurrency: many"}},"spec":{"containers":[{"name":"a"}]}}`)
	if resp.Allowed || resp.Result == nil || !strings.Contains(resp.Result.Message, "proxy.istio.io/config") {
		t.Fatalf("want a denial naming the annotation, got %+v", resp)
	}
}

func TestMalformedRequest(t *testing.T) {
	h := newHandler(t)
	for _, body := range []string{"", "{", `{"kind":"AdmissionReview"}`} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/inject", strings.NewReader(body)))
		if rec.Code != http.StatusBadRequest {
			t.Errorf("%q: status %d, want 400", body, rec.Code)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/inject", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: status %d, want 405", rec.Code)
	}
}
