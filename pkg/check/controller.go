package check

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"skiff.dev/skiff/pkg/version"
)

const (
	groupController     = "skiff-controller"
	nameControllerReady = "skiff-controller-ready"
)

func (in *inspector) controllerReady(ctx context.Context) Result {
	d, err := in.c.Typed.AppsV1().Deployments(in.ns).Get(ctx, version.ControllerName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return result(groupController, nameControllerReady, StatusError,
			fmt.Sprintf("no %s Deployment in namespace %s", version.ControllerName, in.ns),
			"install the mesh with 'skiff install' (or pass --istio-namespace)")
	}
	if err != nil {
		return result(groupController, nameControllerReady, StatusError, "reading the controller Deployment: "+firstLine(err), "check your access to the cluster")
	}
	return deploymentReady(d)
}

// deploymentReady is the rollout check kubectl rollout status makes: the newest spec observed and every
// wanted replica updated and available.
func deploymentReady(d *appsv1.Deployment) Result {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	s := d.Status
	hint := fmt.Sprintf("look at 'kubectl -n %s describe deployment %s' and the istiod pods' logs", d.Namespace, d.Name)
	switch {
	case want == 0:
		return result(groupController, nameControllerReady, StatusError, fmt.Sprintf("Deployment %s/%s is scaled to 0 replicas", d.Namespace, d.Name),
			fmt.Sprintf("scale it up: 'kubectl -n %s scale deployment %s --replicas=1'", d.Namespace, d.Name))
	case s.ObservedGeneration < d.Generation:
		return result(groupController, nameControllerReady, StatusError, fmt.Sprintf("Deployment %s/%s: the newest spec is not rolled out yet", d.Namespace, d.Name), hint)
	case s.UpdatedReplicas < want || s.AvailableReplicas < want || s.ReadyReplicas < want:
		return result(groupController, nameControllerReady, StatusError,
			fmt.Sprintf("Deployment %s/%s: %d of %d replicas ready (%d updated, %d available)", d.Namespace, d.Name, s.ReadyReplicas, want, s.UpdatedReplicas, s.AvailableReplicas), hint)
	}
	return result(groupController, nameControllerReady, StatusOK, fmt.Sprintf("Deployment %s/%s: %d of %d replicas ready", d.Namespace, d.Name, s.ReadyReplicas, want), "")
}
