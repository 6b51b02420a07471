package install

import (
	"context"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"skiff.dev/skiff/pkg/kube"
)

// pollInterval is how often waits re-read the objects they wait for.
const pollInterval = 200 * time.Millisecond

// notReadyError lists what was still not ready when the time ran out.
type notReadyError struct {
	after     time.Duration
	pending   []string
	namespace string // of the first object still pending, for hints
}

func (e *notReadyError) Error() string {
	return fmt.Sprintf("not ready after %s: %s", e.after.Round(time.Millisecond), strings.Join(e.pending, "; "))
}

// waitsFor reports whether install waits for obj: only kinds with a readiness signal the API server
// exposes (CRDs Established, Deployments available); everything else is ready once applied.
func waitsFor(obj *unstructured.Unstructured) bool {
	gk := obj.GroupVersionKind().GroupKind()
	return gk == gkCRD || gk == gkDeploy
}

// waitReady polls objs until each is ready or the deadline passes.
func waitReady(ctx context.Context, c *kube.Clients, objs []*unstructured.Unstructured, deadline time.Time) error {
	start := time.Now()
	var pending []*unstructured.Unstructured
	for _, o := range objs {
		if waitsFor(o) {
			pending = append(pending, o)
		}
	}
	for {
		var reasons []string
		var still []*unstructured.Unstructured
		for _, o := range pending {
			reason, err := notReady(ctx, c, o)
			if err != nil {
				return fmt.Errorf("%s: %s", describe(o), explain(err))
			}
			if reason != "" {
				still = append(still, o)
				reasons = append(reasons, describe(o)+": "+reason)
			}
		}
		if pending = still; len(pending) == 0 {
			return nil
		}
		if !time.Now().Before(deadline) {
			return &notReadyError{after: time.Since(start), pending: reasons, namespace: pending[0].GetNamespace()}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(min(pollInterval, time.Until(deadline))):
		}
	}
}

// notReady returns why the live obj is not ready yet, or "" when it is.
func notReady(ctx context.Context, c *kube.Clients, obj *unstructured.Unstructured) (string, error) {
	ri, err := resourceFor(c, obj)
	if err != nil {
		return "", err
	}
	live, err := ri.Get(ctx, obj.GetName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "does not exist", nil
	}
	if err != nil {
		return "", err
	}
	switch obj.GroupVersionKind().GroupKind() {
	case gkCRD:
		var crd apiextensionsv1.CustomResourceDefinition
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(live.Object, &crd); err != nil {
			return "", err
		}
		return crdNotReady(&crd), nil
	case gkDeploy:
		var d appsv1.Deployment
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(live.Object, &d); err != nil {
			return "", err
		}
		return deploymentNotReady(&d), nil
	}
	return "", nil
}

func crdNotReady(crd *apiextensionsv1.CustomResourceDefinition) string {
	for _, cond := range crd.Status.Conditions {
		if cond.Type == apiextensionsv1.NamesAccepted && cond.Status == apiextensionsv1.ConditionFalse {
			return "names not accepted: " + cond.Message
		}
		if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
			return ""
		}
	}
	return "not established yet"
}

// deploymentNotReady mirrors `kubectl rollout status`: the controller has seen the latest spec and
// every wanted replica is updated and available.
func deploymentNotReady(d *appsv1.Deployment) string {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	switch {
	case d.Status.ObservedGeneration < d.Generation:
		return "rollout not observed by the deployment controller yet"
	case d.Status.UpdatedReplicas < want:
		return fmt.Sprintf("%d of %d replicas updated", d.Status.UpdatedReplicas, want)
	case d.Status.AvailableReplicas < want:
		return fmt.Sprintf("%d of %d replicas available", d.Status.AvailableReplicas, want)
	}
	return ""
}
