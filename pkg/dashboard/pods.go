package dashboard

import (
	"context"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"skiff.dev/skiff/pkg/errs"
)

// SelectPod picks the pod to forward to: a running, ready pod, preferring the newest so a rollout's new
// replica wins; ties broken by name for determinism. It explains why when none qualifies.
func SelectPod(pods []corev1.Pod) (*corev1.Pod, error) {
	ready, err := ReadyPods(pods)
	if err != nil {
		return nil, err
	}
	return &ready[0], nil
}

// ReadyPods keeps the running, ready pods that are not terminating, newest first (ties by name); it
// explains why when none qualifies.
func ReadyPods(pods []corev1.Pod) ([]corev1.Pod, error) {
	var ready []corev1.Pod
	for _, p := range pods {
		if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning && podReady(p) {
			ready = append(ready, p)
		}
	}
	if len(ready) == 0 {
		if len(pods) == 0 {
			return nil, errNoPods
		}
		return nil, &notReadyError{pod: pods[0].Name, phase: string(pods[0].Status.Phase)}
	}
	sort.Slice(ready, func(i, j int) bool {
		ti, tj := ready[i].CreationTimestamp, ready[j].CreationTimestamp
		if !ti.Equal(&tj) {
			return tj.Before(&ti)
		}
		return ready[i].Name < ready[j].Name
	})
	return ready, nil
}

func podReady(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

var errNoPods = errs.Failure("no pods")

type notReadyError struct{ pod, phase string }

func (e *notReadyError) Error() string {
	return "pod " + e.pod + " is not ready (phase " + e.phase + ")"
}

// FindAddonPod lists the addon's pods in namespace matching selector and selects one (SelectPod), turning
// "none" and "none ready" into one-line errors; "none" carries the addon's install hint.
func FindAddonPod(ctx context.Context, cs kubernetes.Interface, a Addon, namespace, selector string) (*corev1.Pod, error) {
	pods, err := FindAddonPods(ctx, cs, a, namespace, selector)
	if err != nil {
		return nil, err
	}
	return &pods[0], nil
}

// FindAddonPods is FindAddonPod for every ready replica, newest first.
func FindAddonPods(ctx context.Context, cs kubernetes.Interface, a Addon, namespace, selector string) ([]corev1.Pod, error) {
	list, err := cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, errs.Failure("listing %s pods in %s: %v", a.Name, namespace, err)
	}
	pods, err := ReadyPods(list.Items)
	switch e := err.(type) {
	case nil:
		return pods, nil
	case *notReadyError:
		return nil, errs.Failure("%s is installed in %s but not ready: %s", a.Name, namespace, e.Error())
	default:
		return nil, errs.Failure("%s is not installed in namespace %s (no pod matches %s); %s", a.Name, namespace, selector, a.hint())
	}
}

// getPod fetches a named pod (the envoy dashboard) and checks it can be forwarded to.
func getPod(ctx context.Context, cs kubernetes.Interface, namespace, name string) (*corev1.Pod, error) {
	p, err := cs.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, errs.Failure("pod %s/%s: %v", namespace, name, err)
	}
	if p.Status.Phase != corev1.PodRunning {
		return nil, errs.Failure("pod %s/%s is not running (phase %s)", namespace, name, p.Status.Phase)
	}
	return p, nil
}
