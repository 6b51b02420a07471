package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	analysisv1alpha1 "istio.io/api/analysis/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/record"

	"skiff.dev/skiff/pkg/analyze"
)

// Event reasons on Istio objects the controller leaves out or overrides.
const (
	ReasonInvalidConfig     = "InvalidConfig"
	ReasonConflictingConfig = "ConflictingConfig"
	ReasonConfigWarning     = "ConfigWarning"
)

// configStatus writes the controller's findings to the objects' status (validationMessages, through the
// status subresource) and emits a Warning Event each time it writes findings. It only writes when the
// stored status differs from the findings, so its own writes, which come back through the informers and
// trigger a rebuild, find nothing to do: there is no write loop. The observedGeneration written with the
// messages makes the event once per object generation, across restarts and leader changes.
type configStatus struct {
	dyn      dynamic.Interface
	recorder record.EventRecorder
	// written remembers each patch until the informer has caught up with it, so a rebuild in between does
	// not write (and emit) twice.
	written map[string]writtenStatus
	// pending holds the latest rebuild's reports for the writer (capacity 1: older ones are superseded).
	pending chan []configReport
}

// statusWriteTimeout bounds one status patch, so a hung API server cannot stall the writer for good.
const statusWriteTimeout = 10 * time.Second

func newConfigStatus(dyn dynamic.Interface) *configStatus {
	return &configStatus{dyn: dyn, written: map[string]writtenStatus{}, pending: make(chan []configReport, 1)}
}

// submit hands a rebuild's reports to the writer without waiting; called from the push loop only.
func (s *configStatus) submit(reports []configReport) {
	select {
	case <-s.pending: // superseded
	default:
	}
	s.pending <- reports
}

// run writes status apart from the push loop, so a slow or unreachable API server never holds a push
// back. Only the leader writes; failed is told about errors (the caller schedules a retry).
func (s *configStatus) run(ctx context.Context, isLeader func() bool, failed func(error)) {
	for {
		select {
		case <-ctx.Done():
			return
		case reports := <-s.pending:
			if !isLeader() {
				continue
			}
			if err := s.reconcile(ctx, reports); err != nil && ctx.Err() == nil {
				failed(err)
			}
		}
	}
}

type writtenStatus struct {
	signature string
	// fromVersion is the resourceVersion the patch was computed from: while the cache still holds it, the
	// patch is in flight.
	fromVersion string
}

// reconcile brings every object's status in line with its report. Only the leader calls it.
func (s *configStatus) reconcile(ctx context.Context, reports []configReport) error {
	var errs []error
	live := make(map[string]bool, len(reports))
	for _, r := range reports {
		key := r.obj.key()
		live[key] = true
		want := statusMessages(r.findings)
		gen := r.obj.meta.GetGeneration()
		current := r.obj.status.GetValidationMessages()
		sig := signature(want, gen)
		if len(want) == 0 && len(current) == 0 {
			delete(s.written, key)
			continue
		}
		if len(want) > 0 && sameMessages(current, want) && r.obj.status.GetObservedGeneration() == gen {
			delete(s.written, key)
			continue
		}
		rv := r.obj.meta.GetResourceVersion()
		if w, ok := s.written[key]; ok && w.signature == sig && w.fromVersion == rv {
			continue // our patch has not reached the cache yet
		}
		if err := s.patch(ctx, r, want, gen); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			errs = append(errs, fmt.Errorf("status of %s: %w", key, err))
			continue
		}
		s.written[key] = writtenStatus{signature: sig, fromVersion: rv}
		if len(want) > 0 {
			s.event(r)
		}
	}
	for key := range s.written {
		if !live[key] {
			delete(s.written, key)
		}
	}
	return errors.Join(errs...)
}

// patch replaces status.validationMessages with a JSON merge patch on the status subresource; other status
// fields (conditions) are left alone. No messages removes the field.
func (s *configStatus) patch(ctx context.Context, r configReport, msgs []statusMessage, gen int64) error {
	status := map[string]any{"validationMessages": nil}
	if len(msgs) > 0 {
		status = map[string]any{"validationMessages": msgs, "observedGeneration": gen}
	}
	body, err := json.Marshal(map[string]any{"status": status})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, statusWriteTimeout)
	defer cancel()
	_, err = s.dyn.Resource(r.obj.gvr).Namespace(r.obj.meta.GetNamespace()).
		Patch(ctx, r.obj.meta.GetName(), types.MergePatchType, body, metav1.PatchOptions{}, "status")
	return err
}

func (s *configStatus) event(r configReport) {
	reason, msg := ReasonConfigWarning, findingTexts(r.findings)
	switch {
	case r.invalid:
		reason, msg = ReasonInvalidConfig, "ignored by the mesh: "+msg
	case r.conflict:
		reason, msg = ReasonConflictingConfig, "overridden by an older object: "+msg
	}
	ref := &corev1.ObjectReference{
		APIVersion: r.obj.gvr.GroupVersion().String(), Kind: r.obj.kind,
		Namespace: r.obj.meta.GetNamespace(), Name: r.obj.meta.GetName(),
		UID: r.obj.meta.GetUID(), ResourceVersion: r.obj.meta.GetResourceVersion(),
	}
	s.recorder.Event(ref, corev1.EventTypeWarning, reason, msg)
}

// statusMessage is Istio's AnalysisMessageBase as the CRDs store it (the message text goes to the Event:
// the status schema has no field for it).
type statusMessage struct {
	Type struct {
		Code string `json:"code"`
		Name string `json:"name"`
	} `json:"type"`
	Level            string `json:"level"`
	DocumentationURL string `json:"documentationUrl,omitempty"`
}

func statusMessages(fs []finding) []statusMessage {
	var out []statusMessage
	seen := map[string]bool{}
	for _, f := range fs {
		m := statusMessage{Level: statusLevel(f.Type.Level)}
		m.Type.Code, m.Type.Name = f.Type.Code, f.Type.Name
		if strings.HasPrefix(f.Type.Code, "IST") {
			m.DocumentationURL = "https://istio.io/latest/docs/reference/config/analysis/" + strings.ToLower(f.Type.Code) + "/"
		}
		if k := m.Type.Code + m.Level; !seen[k] { // one entry per code: the event has every text
			seen[k] = true
			out = append(out, m)
		}
	}
	return out
}

func statusLevel(l analyze.Level) string {
	switch l {
	case analyze.Error:
		return analysisv1alpha1.AnalysisMessageBase_ERROR.String()
	case analyze.Warning:
		return analysisv1alpha1.AnalysisMessageBase_WARNING.String()
	}
	return analysisv1alpha1.AnalysisMessageBase_INFO.String()
}

func sameMessages(current []*analysisv1alpha1.AnalysisMessageBase, want []statusMessage) bool {
	if len(current) != len(want) {
		return false
	}
	for i, c := range current {
		w := want[i]
		if c.GetType().GetCode() != w.Type.Code || c.GetType().GetName() != w.Type.Name || c.GetLevel().String() != w.Level ||
			c.GetDocumentationUrl() != w.DocumentationURL {
			return false
		}
	}
	return true
}

func signature(msgs []statusMessage, gen int64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d", gen)
	for _, m := range msgs {
		b.WriteString("|" + m.Type.Code + "/" + m.Level)
	}
	return b.String()
}
