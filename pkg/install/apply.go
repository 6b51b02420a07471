package install

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"skiff.dev/skiff/pkg/kube"
)

var (
	gkCRD       = schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}
	gkNamespace = schema.GroupKind{Kind: "Namespace"}
	gkDeploy    = schema.GroupKind{Group: "apps", Kind: "Deployment"}
)

// applier applies objects with server-side apply, as field manager "skiff", taking over conflicting
// fields: the profile is the source of truth for every field it sets.
type applier struct {
	clients *kube.Clients
	dryRun  bool
	// pending holds what this dry run would create but the server cannot know yet: CRDs (by the kind
	// they define) and namespaces; objects depending on them are reported, not failed.
	pendingKinds      map[schema.GroupKind]bool
	pendingNamespaces map[string]bool
}

// applyResult counts what applying one manifest did.
type applyResult struct {
	applied    int
	unverified []string // dry run only: objects the server could not check because a dependency does not exist yet
	crds       []*unstructured.Unstructured
}

func newApplier(c *kube.Clients, dryRun bool) *applier {
	return &applier{clients: c, dryRun: dryRun, pendingKinds: map[schema.GroupKind]bool{}, pendingNamespaces: map[string]bool{}}
}

// applyManifest applies m's objects in order and stops at the first failure.
func (a *applier) applyManifest(ctx context.Context, m Manifest) (applyResult, error) {
	var r applyResult
	for _, obj := range m.Objects {
		err := a.apply(ctx, obj)
		if a.dryRun && a.dependsOnPending(obj, err) {
			r.unverified = append(r.unverified, describe(obj))
			continue
		}
		if err != nil {
			return r, fmt.Errorf("%s: %s", describe(obj), explain(err))
		}
		r.applied++
		if obj.GroupVersionKind().GroupKind() == gkCRD {
			r.crds = append(r.crds, obj)
		}
	}
	return r, nil
}

func (a *applier) apply(ctx context.Context, obj *unstructured.Unstructured) error {
	ri, err := resourceFor(a.clients, obj)
	if err != nil {
		return err
	}
	opts := metav1.ApplyOptions{FieldManager: FieldManager, Force: true}
	if a.dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	_, err = ri.Apply(ctx, obj.GetName(), obj, opts)
	if err == nil && a.dryRun {
		a.notePending(ctx, obj)
	}
	return err
}

// notePending remembers, in a dry run, the kinds and namespaces that exist only because of this run.
func (a *applier) notePending(ctx context.Context, obj *unstructured.Unstructured) {
	switch obj.GroupVersionKind().GroupKind() {
	case gkCRD:
		group, _, _ := unstructured.NestedString(obj.Object, "spec", "group")
		kind, _, _ := unstructured.NestedString(obj.Object, "spec", "names", "kind")
		gk := schema.GroupKind{Group: group, Kind: kind}
		if _, err := a.clients.Mapper.RESTMapping(gk); err != nil {
			a.pendingKinds[gk] = true
		}
	case gkNamespace:
		if _, err := a.clients.Typed.CoreV1().Namespaces().Get(ctx, obj.GetName(), metav1.GetOptions{}); apierrors.IsNotFound(err) {
			a.pendingNamespaces[obj.GetName()] = true
		}
	}
}

func (a *applier) dependsOnPending(obj *unstructured.Unstructured, err error) bool {
	if err == nil {
		return false
	}
	if meta.IsNoMatchError(err) && a.pendingKinds[obj.GroupVersionKind().GroupKind()] {
		return true
	}
	return apierrors.IsNotFound(err) && a.pendingNamespaces[obj.GetNamespace()]
}

// resourceFor returns the dynamic client for obj's resource, in obj's namespace when it is namespaced.
func resourceFor(c *kube.Clients, obj *unstructured.Unstructured) (dynamic.ResourceInterface, error) {
	gvk := obj.GroupVersionKind()
	m, err := c.Mapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, err
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return c.Dynamic.Resource(m.Resource).Namespace(obj.GetNamespace()), nil
	}
	return c.Dynamic.Resource(m.Resource), nil
}

// describe names an object the way the output shows it: "Deployment istio-system/istiod".
func describe(obj *unstructured.Unstructured) string {
	if ns := obj.GetNamespace(); ns != "" {
		return obj.GetKind() + " " + ns + "/" + obj.GetName()
	}
	return obj.GetKind() + " " + obj.GetName()
}
