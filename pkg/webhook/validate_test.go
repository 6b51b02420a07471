package webhook

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"
)

var vsKind = metav1.GroupVersionKind{Group: "networking.istio.io", Version: "v1", Kind: "VirtualService"}

// virtualService is a valid VirtualService whose first HTTP rule is replaced by rule (YAML), when given.
func virtualService(t *testing.T, rule string) []byte {
	t.Helper()
	if rule == "" {
		rule = "route: [{destination: {host: reviews}}]"
	}
	y := "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: reviews, namespace: shop}\n" +
		"spec:\n  hosts: [reviews]\n  http:\n  - " + rule + "\n"
	b, err := yaml.YAMLToJSON([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func validationReview(t *testing.T, req admissionv1.AdmissionRequest) (int, *admissionv1.AdmissionReview) {
	t.Helper()
	body, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"}, Request: &req})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	NewValidateHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/validate", bytes.NewReader(body)))
	var out admissionv1.AdmissionReview
	if rec.Code == http.StatusOK {
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Response == nil {
			t.Fatalf("bad answer %s: %v", rec.Body, err)
		}
	}
	return rec.Code, &out
}

func TestValidateHandler(t *testing.T) {
	cases := []struct {
		name string
		req  admissionv1.AdmissionRequest
		// deny lists substrings the denial message must contain; empty means the object is allowed.
		deny []string
		warn string
	}{
		{name: "valid VirtualService", req: admissionv1.AdmissionRequest{Kind: vsKind, Operation: admissionv1.Create,
			Object: runtime.RawExtension{Raw: virtualService(t, "")}}},
		{name: "negative weight", req: admissionv1.AdmissionRequest{Kind: vsKind, Operation: admissionv1.Create,
			Object: runtime.RawExtension{Raw: virtualService(t, "route: [{destination: {host: reviews}, weight: -1}]")}},
			deny: []string{"IST0106 Schema validation error: spec.http[0].route[0].weight: weight -1 must not be negative"}},
		{name: "unknown field on update", req: admissionv1.AdmissionRequest{Kind: vsKind, Operation: admissionv1.Update,
			Object: runtime.RawExtension{Raw: virtualService(t, "rout: [{destination: {host: reviews}}]")}},
			deny: []string{`spec.http[0].rout: unknown field "rout"`}},
		{name: "bad regex and missing host, both listed", req: admissionv1.AdmissionRequest{Kind: vsKind, Operation: admissionv1.Create,
			Object: runtime.RawExtension{Raw: virtualService(t, "{match: [{uri: {regex: '(a'}}], route: [{destination: {port: {number: 80}}}]}")}},
			deny: []string{"IST0122", `"(a"`, "spec.http[0].route[0].destination: destination host is required", "; "}},
		{name: "wrong type", req: admissionv1.AdmissionRequest{Kind: vsKind, Operation: admissionv1.Create,
			Object: runtime.RawExtension{Raw: []byte(`{"apiVersion":"networking.istio.io/v1","kind":"VirtualService","metadata":{"name":"r"},"spec":{"hosts":"reviews"}}`)}},
			deny: []string{"spec.hosts: expected a list, got string"}},
		{name: "generateName is enough", req: admissionv1.AdmissionRequest{Kind: vsKind, Operation: admissionv1.Create,
			Object: runtime.RawExtension{Raw: []byte(`{"apiVersion":"networking.istio.io/v1","kind":"DestinationRule","metadata":{"generateName":"r-"},"spec":{"host":"reviews"}}`)}}},
		{name: "DestinationRule without host", req: admissionv1.AdmissionRequest{Kind: metav1.GroupVersionKind{Group: "networking.istio.io", Version: "v1", Kind: "DestinationRule"},
			Operation: admissionv1.Create,
			Object:    runtime.RawExtension{Raw: []byte(`{"apiVersion":"networking.istio.io/v1","kind":"DestinationRule","metadata":{"name":"r"},"spec":{"subsets":[{"name":"v1"}]}}`)}},
			deny: []string{"spec.host: host is required"}},
		{name: "unknown Istio kind is allowed with a warning", req: admissionv1.AdmissionRequest{Kind: metav1.GroupVersionKind{Group: "networking.istio.io", Version: "v1", Kind: "Mystery"},
			Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: []byte(`{"apiVersion":"networking.istio.io/v1","kind":"Mystery","metadata":{"name":"m"},"spec":{"x":1}}`)}},
			warn: "SKF0005"},
		{name: "other groups are not judged", req: admissionv1.AdmissionRequest{Kind: metav1.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, Operation: admissionv1.Create,
			Object: runtime.RawExtension{Raw: []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":"not-a-map"}`)}}},
		{name: "delete is allowed", req: admissionv1.AdmissionRequest{Kind: vsKind, Operation: admissionv1.Delete,
			OldObject: runtime.RawExtension{Raw: virtualService(t, "rout: []")}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.UID = types.UID("uid-" + tc.name)
			code, out := validationReview(t, tc.req)
			if code != http.StatusOK {
				t.Fatalf("status %d", code)
			}
			resp := out.Response
			if resp.UID != tc.req.UID || out.APIVersion != "admission.k8s.io/v1" {
				t.Errorf("the answer does not echo the UID and apiVersion: %q %q", resp.UID, out.APIVersion)
			}
			if len(tc.deny) == 0 {
				if !resp.Allowed {
					t.Fatalf("denied: %s", resp.Result.Message)
				}
				if tc.warn != "" && !strings.Contains(strings.Join(resp.Warnings, "\n"), tc.warn) {
					t.Errorf("warnings %q lack %q", resp.Warnings, tc.warn)
				}
				return
			}
			if resp.Allowed || resp.Result == nil {
				t.Fatal("allowed an invalid object")
			}
			if resp.Result.Code != http.StatusUnprocessableEntity || resp.Result.Reason != metav1.StatusReasonInvalid {
				t.Errorf("status %d %s, want 422 Invalid", resp.Result.Code, resp.Result.Reason)
			}
			for _, want := range tc.deny {
				if !strings.Contains(resp.Result.Message, want) {
					t.Errorf("message %q lacks %q", resp.Result.Message, want)
				}
			}
		})
	}
}

func TestValidateHandlerRejectsNonReviews(t *testing.T) {
	h := NewValidateHandler()
	for _, r := range []*http.Request{
		httptest.NewRequest(http.MethodGet, "/validate", nil),
		httptest.NewRequest(http.MethodPost, "/validate", strings.NewReader("{not json")),
		httptest.NewRequest(http.MethodPost, "/validate", strings.NewReader(`{"kind":"AdmissionReview"}`)),
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code < 400 {
			t.Errorf("%s %v: status %d, want an error", r.Method, r.Body, rec.Code)
		}
	}
}
