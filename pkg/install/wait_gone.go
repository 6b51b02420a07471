package install

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"skiff.dev/skiff/pkg/kube"
)

// waitGone polls until the API server no longer has any of objs, or the deadline passes.
func waitGone(ctx context.Context, c *kube.Clients, objs []*unstructured.Unstructured, deadline time.Time) error {
	start := time.Now()
	pending := objs
	for {
		var still []*unstructured.Unstructured
		var reasons []string
		for _, o := range pending {
			exists, reason, err := stillThere(ctx, c, o)
			if err != nil {
				return fmt.Errorf("%s: %s", describe(o), explain(err))
			}
			if exists {
				still = append(still, o)
				reasons = append(reasons, describe(o)+": "+reason)
			}
		}
		if pending = still; len(pending) == 0 {
			return nil
		}
		if !time.Now().Before(deadline) {
			return &notReadyError{after: time.Since(start), pending: reasons}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(min(pollInterval, time.Until(deadline))):
		}
	}
}

func stillThere(ctx context.Context, c *kube.Clients, obj *unstructured.Unstructured) (bool, string, error) {
	ri, err := resourceFor(c, obj)
	if meta.IsNoMatchError(err) {
		return false, "", nil // its CRD is gone, so it is too
	}
	if err != nil {
		return false, "", err
	}
	live, err := ri.Get(ctx, obj.GetName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, "", nil
	}
	if err != nil {
		return false, "", err
	}
	if fin := live.GetFinalizers(); len(fin) > 0 {
		return true, fmt.Sprintf("still terminating, waiting for finalizers %v", fin), nil
	}
	return true, "still exists", nil
}
