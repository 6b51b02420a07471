package precheck

import (
	"context"
	"fmt"
	"slices"
	"strings"

	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"skiff.dev/skiff/pkg/install"
	"skiff.dev/skiff/pkg/kube"
)

// verbs install uses on every object it applies: server-side apply is a patch that may create, readiness
// reads, prune and uninstall delete. Listing (for prune and uninstall) is checked across namespaces.
func objectVerbs() []string { return []string{"get", "create", "patch", "delete"} }

// scope is a resource in a namespace ("" for cluster-scoped resources and for cluster-wide list).
type scope struct {
	resource  schema.GroupResource
	namespace string
}

func (s scope) String() string {
	if s.namespace == "" {
		return s.resource.String()
	}
	return s.resource.String() + " in " + s.namespace
}

func checkPermissions(ctx context.Context, c *kube.Clients, manifests []install.Manifest) Result {
	r := Result{Name: "Permissions"}
	scopes, err := scopesOf(c, manifests)
	if err != nil {
		r.Message = err.Error()
		return r
	}
	var missing []string
	listChecked := map[schema.GroupResource]bool{}
	for _, s := range scopes {
		var denied []string
		for _, v := range objectVerbs() {
			ok, err := allowed(ctx, c, v, s.resource, s.namespace)
			if err != nil {
				r.Message = fmt.Sprintf("cannot check permissions: %v", err)
				return r
			}
			if !ok {
				denied = append(denied, v)
			}
		}
		if !listChecked[s.resource] {
			listChecked[s.resource] = true
			if ok, err := allowed(ctx, c, "list", s.resource, ""); err != nil {
				r.Message = fmt.Sprintf("cannot check permissions: %v", err)
				return r
			} else if !ok {
				denied = append(denied, "list (all namespaces)")
			}
		}
		if len(denied) > 0 {
			missing = append(missing, strings.Join(denied, "/")+" "+s.String())
		}
	}
	if len(missing) == 0 {
		r.OK = true
		r.Message = fmt.Sprintf("allowed to create, patch, delete and list all %d resources the profile installs", len(scopes))
		return r
	}
	r.Message = "missing " + abbreviate(missing, 3)
	r.Hint = "install needs cluster-admin or an equivalent role; ask a cluster administrator"
	return r
}

// scopesOf lists the resources the manifests apply. Kinds the cluster does not serve yet are defined by
// CRDs in the manifests themselves.
func scopesOf(c *kube.Clients, manifests []install.Manifest) ([]scope, error) {
	crds := map[schema.GroupKind]*unstructured.Unstructured{}
	for _, m := range manifests {
		for _, o := range m.Objects {
			if o.GetKind() == "CustomResourceDefinition" {
				group, _, _ := unstructured.NestedString(o.Object, "spec", "group")
				kind, _, _ := unstructured.NestedString(o.Object, "spec", "names", "kind")
				crds[schema.GroupKind{Group: group, Kind: kind}] = o
			}
		}
	}
	var out []scope
	for _, m := range manifests {
		for _, o := range m.Objects {
			gvk := o.GroupVersionKind()
			s := scope{namespace: o.GetNamespace()}
			mapping, err := c.Mapping(gvk.GroupKind(), gvk.Version)
			switch {
			case err == nil:
				s.resource = mapping.Resource.GroupResource()
				if mapping.Scope.Name() != meta.RESTScopeNameNamespace {
					s.namespace = ""
				}
			case meta.IsNoMatchError(err) && crds[gvk.GroupKind()] != nil:
				plural, _, _ := unstructured.NestedString(crds[gvk.GroupKind()].Object, "spec", "names", "plural")
				s.resource = schema.GroupResource{Group: gvk.Group, Resource: plural}
			default:
				return nil, fmt.Errorf("%s %s: %v", gvk.Kind, o.GetName(), err)
			}
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out, nil
}

func allowed(ctx context.Context, c *kube.Clients, verb string, gr schema.GroupResource, namespace string) (bool, error) {
	review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: namespace, Verb: verb, Group: gr.Group, Resource: gr.Resource},
	}}
	res, err := c.Typed.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
	if err != nil {
		return false, err
	}
	return res.Status.Allowed, nil
}

func abbreviate(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, "; ")
	}
	return fmt.Sprintf("%s; and %d more", strings.Join(items[:n], "; "), len(items)-n)
}
