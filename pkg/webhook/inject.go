// Package webhook holds the controller's admission webhooks.
package webhook

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"

	"gomodules.xyz/jsonpatch/v2"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"skiff.dev/skiff/pkg/inject"
)

// maxReviewBytes bounds a request body; the API server sends at most a few MiB per object.
const maxReviewBytes = 8 << 20

// InjectHandler is the sidecar injection webhook: it answers AdmissionReviews for Pod CREATE with a JSON
// patch computed by the same engine as `skiff kube-inject`. Which namespaces and pods reach it is the
// MutatingWebhookConfiguration's job (istio-injection=enabled, sidecar.istio.io/inject); the handler
// still honours the pod's own opt-out and skips pods it must not touch.
type InjectHandler struct {
	injector atomic.Pointer[inject.Injector]
}

// NewInjectHandler serves injection with inj.
func NewInjectHandler(inj *inject.Injector) *InjectHandler {
	h := &InjectHandler{}
	h.SetInjector(inj)
	return h
}

// SetInjector swaps the configuration, e.g. when the istio-sidecar-injector ConfigMap changes.
func (h *InjectHandler) SetInjector(inj *inject.Injector) { h.injector.Store(inj) }

func (h *InjectHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	serveReview(w, r, h.Review)
}

// Review decides one admission request: allowed, with a patch when the pod was injected. A pod the engine
// rejects (e.g. a malformed proxy.istio.io/config) is denied with the reason, as Istio's webhook does.
func (h *InjectHandler) Review(req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	allowed := &admissionv1.AdmissionResponse{Allowed: true}
	if req.Kind.Kind != "Pod" || req.Operation != admissionv1.Create || len(req.Object.Raw) == 0 {
		return allowed
	}
	var pod map[string]any
	if err := json.Unmarshal(req.Object.Raw, &pod); err != nil {
		return denied(fmt.Errorf("decoding pod: %v", err))
	}
	out, err := h.injector.Load().InjectTemplate(workloadOf(pod, req.Namespace), pod)
	if err != nil {
		return denied(err)
	}
	if !out.Injected {
		return allowed
	}
	injected, err := json.Marshal(pod)
	if err != nil {
		return denied(err)
	}
	ops, err := jsonpatch.CreatePatch(req.Object.Raw, injected)
	if err != nil {
		return denied(err)
	}
	patch, err := json.Marshal(ops)
	if err != nil {
		return denied(err)
	}
	pt := admissionv1.PatchTypeJSONPatch
	allowed.Patch, allowed.PatchType = patch, &pt
	return allowed
}

func denied(err error) *admissionv1.AdmissionResponse {
	return &admissionv1.AdmissionResponse{Result: &metav1.Status{Status: metav1.StatusFailure, Message: "sidecar injection: " + err.Error()}}
}

// workloadOf names the pod's owning workload the way Istio does: a ReplicaSet created by a Deployment
// stands for the Deployment, other controllers for themselves, a bare pod for itself.
func workloadOf(pod map[string]any, namespace string) inject.Workload {
	var meta metav1.ObjectMeta
	if b, err := json.Marshal(pod["metadata"]); err == nil {
		_ = json.Unmarshal(b, &meta)
	}
	w := inject.Workload{Kind: "Pod", APIVersion: "v1", Name: meta.Name, Namespace: namespace}
	if w.Name == "" {
		w.Name = strings.TrimSuffix(meta.GenerateName, "-")
	}
	for _, ref := range meta.OwnerReferences {
		if ref.Controller == nil || !*ref.Controller {
			continue
		}
		w.Kind, w.APIVersion, w.Name = ref.Kind, ref.APIVersion, ref.Name
		if hash := meta.Labels["pod-template-hash"]; ref.Kind == "ReplicaSet" && hash != "" && strings.HasSuffix(ref.Name, "-"+hash) {
			w.Kind, w.APIVersion, w.Name = "Deployment", "apps/v1", strings.TrimSuffix(ref.Name, "-"+hash)
		}
	}
	return w
}
