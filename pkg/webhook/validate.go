package webhook

import (
	"encoding/json"
	"net/http"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"skiff.dev/skiff/pkg/analyze"
)

// ValidateHandler is the configuration validation webhook: it denies Istio objects that Istio's own
// webhook would deny, with the field-level messages `skiff analyze` reports (IST0106, IST0122), so a
// broken VirtualService is refused by `kubectl apply` instead of being ignored by the mesh later.
// Other findings of the same checks come back as admission warnings.
type ValidateHandler struct{}

// NewValidateHandler returns the validation webhook; it holds no state.
func NewValidateHandler() *ValidateHandler { return &ValidateHandler{} }

func (h *ValidateHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	serveReview(w, r, h.Review)
}

// Review decides one admission request. Only CREATE and UPDATE of Istio groups are judged; the
// ValidatingWebhookConfiguration should not send anything else, and anything else is allowed.
func (h *ValidateHandler) Review(req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	allowed := &admissionv1.AdmissionResponse{Allowed: true}
	if (req.Operation != admissionv1.Create && req.Operation != admissionv1.Update) ||
		!strings.HasSuffix(req.Kind.Group, "istio.io") || len(req.Object.Raw) == 0 {
		return allowed
	}
	raw, err := withName(req)
	if err != nil {
		return invalid("decoding the object: " + err.Error())
	}
	var reasons []string
	for _, m := range analyze.ValidateObject(raw) {
		if m.Rejects() {
			reasons = append(reasons, m.Type.Code+" "+m.Text)
		} else {
			allowed.Warnings = append(allowed.Warnings, m.Type.Code+" "+m.Text)
		}
	}
	if len(reasons) > 0 {
		return invalid("configuration is invalid: " + strings.Join(reasons, "; "))
	}
	return allowed
}

// withName fills metadata.name of an object created with generateName (the API server names it after
// admission), since the checks, like `skiff analyze`, want every object named.
func withName(req *admissionv1.AdmissionRequest) ([]byte, error) {
	var obj map[string]any
	if err := json.Unmarshal(req.Object.Raw, &obj); err != nil {
		return nil, err
	}
	meta, _ := obj["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
		obj["metadata"] = meta
	}
	if name, _ := meta["name"].(string); name != "" {
		return req.Object.Raw, nil
	}
	name := req.Name
	if name == "" {
		gen, _ := meta["generateName"].(string)
		name = gen + "generated"
	}
	meta["name"] = name
	return json.Marshal(obj)
}

func invalid(msg string) *admissionv1.AdmissionResponse {
	return &admissionv1.AdmissionResponse{Result: &metav1.Status{
		Status: metav1.StatusFailure, Reason: metav1.StatusReasonInvalid, Code: http.StatusUnprocessableEntity, Message: msg,
	}}
}
