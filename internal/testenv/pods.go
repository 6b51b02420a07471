package testenv

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// EnsureNamespace creates a namespace if it does not exist yet.
func EnsureNamespace(tb testing.TB, cs kubernetes.Interface, name string, labels map[string]string) {
	tb.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if _, err := cs.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		tb.Fatal(err)
	}
}

// RunningPod creates a pod on nodeName and sets its status to Running and Ready (or not ready), doing the
// kubelet's part, which envtest does not run.
func RunningPod(tb testing.TB, cs kubernetes.Interface, namespace, name, nodeName string, labels map[string]string, ready bool) *corev1.Pod {
	tb.Helper()
	ctx := context.Background()
	EnsureNamespace(tb, cs, namespace, nil)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: labels},
		Spec: corev1.PodSpec{
			NodeName:   nodeName,
			Containers: []corev1.Container{{Name: "main", Image: "example.invalid/app:1"}},
		},
	}
	created, err := cs.CoreV1().Pods(namespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	created.Status.Phase = corev1.PodRunning
	created.Status.PodIP = "127.0.0.1"
	created.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}
	updated, err := cs.CoreV1().Pods(namespace).UpdateStatus(ctx, created, metav1.UpdateOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	return updated
}
