package install

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"

	"skiff.dev/skiff/pkg/errs"
	"skiff.dev/skiff/pkg/kube"
)

// deleteNamespace deletes a namespace Skiff created, unless it holds objects Skiff did not create:
// deleting a namespace deletes everything in it, and uninstall removes only what install created.
func (u *uninstaller) deleteNamespace(ctx context.Context, ns *unstructured.Unstructured) (bool, error) {
	foreign, err := foreignObjects(ctx, u.c, ns.GetName())
	if err != nil {
		return false, errs.Failure("checking namespace %s before removing it: %v (everything else was removed)", ns.GetName(), err)
	}
	if len(foreign) > 0 {
		u.p.Warning("Kept namespace %s: it holds objects Skiff did not create (%s)", ns.GetName(), abbreviate(foreign, 3))
		return false, nil
	}
	if err := deleteObject(ctx, u.c, ns, false); err != nil {
		return false, errs.Failure("removing namespace %s: %s (everything else was removed)", ns.GetName(), explain(err))
	}
	return true, nil
}

// namespaceControllerGrace is how long a terminating namespace may show no sign of the namespace
// controller: its first pass over a namespace records status conditions (or removes it outright).
const namespaceControllerGrace = 10 * time.Second

// awaitNamespace waits for a deleted namespace to be gone. The API server only marks a namespace
// Terminating; kube-controller-manager's namespace controller empties it and removes its "kubernetes"
// finalizer. Without one (a bare API server) it stays Terminating forever, which is the cluster's
// business, not a failed uninstall: say so and carry on.
func (u *uninstaller) awaitNamespace(ctx context.Context, ns *unstructured.Unstructured) error {
	name := ns.GetName()
	var nr *notReadyError
	err := waitGone(ctx, u.c, []*unstructured.Unstructured{ns}, earliest(u.deadline, time.Now().Add(namespaceControllerGrace)))
	if errors.As(err, &nr) && time.Now().Before(u.deadline) && namespaceControllerActive(ctx, u.c, name) {
		err = waitGone(ctx, u.c, []*unstructured.Unstructured{ns}, u.deadline)
	}
	switch {
	case errors.As(err, &nr):
		u.p.Warning("Namespace %s is still terminating: %s", name, namespaceHint(ctx, u.c, name))
		return nil
	case err != nil:
		return errs.Failure("removing namespace %s: %v", name, err)
	}
	u.p.Success("Removed namespace %s", name)
	return nil
}

// namespaceControllerActive reports whether the namespace controller has recorded conditions on ns.
func namespaceControllerActive(ctx context.Context, c *kube.Clients, name string) bool {
	ns, err := c.Typed.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	return err == nil && len(ns.Status.Conditions) > 0
}

// namespaceHint explains a namespace that will not go away, from the controller's own conditions.
func namespaceHint(ctx context.Context, c *kube.Clients, name string) string {
	ns, err := c.Typed.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	if err != nil || len(ns.Status.Conditions) == 0 {
		return "no namespace controller has processed it (is kube-controller-manager running?); it is removed once one does"
	}
	var msgs []string
	for _, cond := range ns.Status.Conditions {
		if cond.Status == corev1.ConditionTrue {
			msgs = append(msgs, cond.Message)
		}
	}
	if len(msgs) == 0 {
		return "the cluster's namespace controller is still removing its contents"
	}
	return strings.Join(msgs, "; ")
}

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// foreignObjects lists what is in namespace ns besides Skiff's objects and what Kubernetes creates by
// itself there (dependents with owner references, events, the default ServiceAccount, the root CA
// ConfigMap).
func foreignObjects(ctx context.Context, c *kube.Clients, ns string) ([]string, error) {
	lists, err := c.Discovery.ServerPreferredNamespacedResources()
	if err != nil && !discovery.IsGroupDiscoveryFailedError(err) {
		return nil, err
	}
	var out []string
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range l.APIResources {
			// Events come and go by themselves; core Endpoints are deprecated and mirrored by EndpointSlices,
			// which carry their Service as owner.
			if strings.Contains(r.Name, "/") || !slices.Contains(r.Verbs, "list") || r.Name == "events" || (gv.Group == "" && r.Name == "endpoints") {
				continue
			}
			list, err := c.Dynamic.Resource(gv.WithResource(r.Name)).Namespace(ns).List(ctx, metav1.ListOptions{Limit: 100})
			if apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("listing %s: %s", r.Name, explain(err))
			}
			for i := range list.Items {
				if o := &list.Items[i]; !createdForUs(o, r.Kind) {
					out = append(out, r.Kind+" "+ns+"/"+o.GetName())
				}
			}
		}
	}
	return out, nil
}

func createdForUs(o *unstructured.Unstructured, kind string) bool {
	switch {
	case o.GetLabels()[LabelManagedBy] == ManagedByValue, len(o.GetOwnerReferences()) > 0, o.GetDeletionTimestamp() != nil:
		return true
	case kind == "ServiceAccount" && o.GetName() == "default",
		kind == "ConfigMap" && o.GetName() == "kube-root-ca.crt":
		return true
	}
	return false
}
