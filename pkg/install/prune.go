package install

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"skiff.dev/skiff/pkg/kube"
)

// managedKinds are the kinds Skiff's profiles render. Prune and uninstall search them for Skiff's labels
// (listing every resource in the cluster would be slow and need far wider permissions); a test checks
// that every built-in profile renders only these.
func managedKinds() []schema.GroupVersionKind {
	return []schema.GroupVersionKind{
		{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"},
		{Version: "v1", Kind: "Namespace"},
		{Version: "v1", Kind: "ServiceAccount"},
		{Version: "v1", Kind: "ConfigMap"},
		{Version: "v1", Kind: "Secret"},
		{Version: "v1", Kind: "Service"},
		{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole"},
		{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRoleBinding"},
		{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "Role"},
		{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "RoleBinding"},
		{Group: "admissionregistration.k8s.io", Version: "v1", Kind: "MutatingWebhookConfiguration"},
		{Group: "admissionregistration.k8s.io", Version: "v1", Kind: "ValidatingWebhookConfiguration"},
		{Group: "apps", Version: "v1", Kind: "Deployment"},
		{Group: "apps", Version: "v1", Kind: "DaemonSet"},
		{Group: "apps", Version: "v1", Kind: "StatefulSet"},
		{Group: "policy", Version: "v1", Kind: "PodDisruptionBudget"},
		{Group: "autoscaling", Version: "v2", Kind: "HorizontalPodAutoscaler"},
		{Group: "networking.k8s.io", Version: "v1", Kind: "Ingress"},
	}
}

// withCRDKinds adds the kinds the CRDs among objs define (in their first served version): an install may
// create instances of its own CRDs, and prune and uninstall must find those too.
func withCRDKinds(kinds []schema.GroupVersionKind, objs []*unstructured.Unstructured) []schema.GroupVersionKind {
	for _, o := range objs {
		if o.GroupVersionKind().GroupKind() != gkCRD {
			continue
		}
		group, _, _ := unstructured.NestedString(o.Object, "spec", "group")
		kind, _, _ := unstructured.NestedString(o.Object, "spec", "names", "kind")
		versions, _, _ := unstructured.NestedSlice(o.Object, "spec", "versions")
		for _, v := range versions {
			v, _ := v.(map[string]any)
			if name, _ := v["name"].(string); name != "" && v["served"] == true {
				if gvk := (schema.GroupVersionKind{Group: group, Version: name, Kind: kind}); !slices.Contains(kinds, gvk) {
					kinds = append(kinds, gvk)
				}
				break
			}
		}
	}
	return kinds
}

// installationSelector selects the objects one installation created.
func installationSelector(installation string) string {
	return LabelManagedBy + "=" + ManagedByValue + "," + LabelInstallation + "=" + installation
}

// objectKey identifies an object independently of its API version.
type objectKey struct {
	gk              schema.GroupKind
	namespace, name string
}

func keyOf(o *unstructured.Unstructured) objectKey {
	return objectKey{o.GroupVersionKind().GroupKind(), o.GetNamespace(), o.GetName()}
}

// listManaged lists, across all namespaces, the objects of the given kinds that match selector.
// Kinds the cluster does not serve (a CRD that is not installed) have no objects.
func listManaged(ctx context.Context, c *kube.Clients, kinds []schema.GroupVersionKind, selector string) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for _, gvk := range kinds {
		m, err := c.Mapping(gvk.GroupKind(), gvk.Version)
		if meta.IsNoMatchError(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		list, err := c.Dynamic.Resource(m.Resource).Namespace(metav1.NamespaceAll).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return nil, fmt.Errorf("listing %s: %s", m.Resource.GroupResource(), explain(err))
		}
		for i := range list.Items {
			out = append(out, &list.Items[i])
		}
	}
	return out, nil
}

// pruneCandidates returns the objects a previous install of the same installation created that the new
// manifests no longer contain. CRDs and namespaces are never pruned: deleting them deletes users'
// configuration and workloads with them; only `skiff uninstall` removes them.
func pruneCandidates(ctx context.Context, c *kube.Clients, manifests []Manifest, installation string) ([]*unstructured.Unstructured, error) {
	keep := map[objectKey]bool{}
	kinds := managedKinds()
	for _, m := range manifests {
		for _, o := range m.Objects {
			keep[keyOf(o)] = true
			if gvk := o.GroupVersionKind(); !slices.Contains(kinds, gvk) {
				kinds = append(kinds, gvk)
			}
		}
		kinds = withCRDKinds(kinds, m.Objects)
	}
	kinds = slices.DeleteFunc(kinds, func(k schema.GroupVersionKind) bool {
		return k.GroupKind() == gkCRD || k.GroupKind() == gkNamespace
	})
	live, err := listManaged(ctx, c, kinds, installationSelector(installation))
	if err != nil {
		return nil, err
	}
	stale := slices.DeleteFunc(live, func(o *unstructured.Unstructured) bool { return keep[keyOf(o)] })
	sortForDeletion(stale)
	return stale, nil
}

// sortForDeletion orders objects for removal: the reverse of install order (add-ons first, Base last),
// and within a component, CRDs and namespaces last so their contents go first.
func sortForDeletion(objs []*unstructured.Unstructured) {
	rank := func(o *unstructured.Unstructured) int {
		switch o.GroupVersionKind().GroupKind() {
		case gkCRD:
			return 2
		case gkNamespace:
			return 1
		}
		return 0
	}
	slices.SortStableFunc(objs, func(a, b *unstructured.Unstructured) int {
		ca := slices.Index(Components, Component(a.GetLabels()[LabelComponent]))
		cb := slices.Index(Components, Component(b.GetLabels()[LabelComponent]))
		return cmp.Or(cmp.Compare(cb, ca), cmp.Compare(rank(a), rank(b)))
	})
}

// deleteObject deletes obj, letting the garbage collector remove dependents (ReplicaSets, Pods) in the
// background; foreground deletion would hang on clusters without a garbage collector.
func deleteObject(ctx context.Context, c *kube.Clients, obj *unstructured.Unstructured, dryRun bool) error {
	ri, err := resourceFor(c, obj)
	if err != nil {
		return err
	}
	policy := metav1.DeletePropagationBackground
	opts := metav1.DeleteOptions{PropagationPolicy: &policy}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	err = ri.Delete(ctx, obj.GetName(), opts)
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
