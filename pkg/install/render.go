package install

import (
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"skiff.dev/skiff/pkg/version"
)

// Render turns a resolved profile into the ordered manifests of its enabled components, in Components
// order; a component with nothing enabled is left out. Each object carries the install labels.
func Render(p *Profile) ([]Manifest, error) {
	r := renderer{p: p, ns: p.Spec.Namespace}
	builders := []struct {
		c     Component
		build func() ([]runtime.Object, error)
	}{
		{ComponentBase, r.base},
		{ComponentController, r.controller},
		{ComponentIngressGateways, func() ([]runtime.Object, error) { return r.gateways(ingressKind()), nil }},
		{ComponentEgressGateways, func() ([]runtime.Object, error) { return r.gateways(egressKind()), nil }},
		{ComponentAddons, r.addons},
	}
	var out []Manifest
	for _, b := range builders {
		objs, err := b.build()
		if err != nil {
			return nil, fmt.Errorf("rendering %s: %w", b.c, err)
		}
		if len(objs) == 0 {
			continue
		}
		m := Manifest{Component: b.c}
		for _, o := range objs {
			u, err := toUnstructured(o)
			if err != nil {
				return nil, fmt.Errorf("rendering %s: %w", b.c, err)
			}
			m.Objects = append(m.Objects, u)
		}
		if b.c == ComponentBase {
			crdObjs, err := r.crds()
			if err != nil {
				return nil, err
			}
			m.Objects = append(m.Objects, crdObjs...)
		}
		for _, u := range m.Objects {
			r.stampLabels(u, b.c)
		}
		SortForApply(m.Objects)
		out = append(out, m)
	}
	return out, nil
}

// renderer holds what every component's builder needs.
type renderer struct {
	p  *Profile
	ns string
}

func (r renderer) stampLabels(u *unstructured.Unstructured, c Component) {
	l := u.GetLabels()
	if l == nil {
		l = map[string]string{}
	}
	l[LabelManagedBy] = ManagedByValue
	l[LabelComponent] = string(c)
	l[LabelInstallation] = r.p.Installation()
	l[LabelVersion] = version.Get().Version
	u.SetLabels(l)
}

// applyRank orders kinds so that what others depend on exists first: namespaces and CRDs, then identities
// and RBAC, configuration, workloads, and the webhooks last (they call the controller).
func applyRank(kind string) int {
	switch kind {
	case "Namespace":
		return 0
	case "CustomResourceDefinition":
		return 1
	case "ServiceAccount":
		return 2
	case "ClusterRole":
		return 3
	case "ClusterRoleBinding":
		return 4
	case "Role":
		return 5
	case "RoleBinding":
		return 6
	case "ConfigMap", "Secret":
		return 7
	case "Service":
		return 8
	case "Deployment":
		return 9
	case "PodDisruptionBudget", "HorizontalPodAutoscaler":
		return 10
	case "MutatingWebhookConfiguration":
		return 11
	case "ValidatingWebhookConfiguration":
		return 12
	}
	return 10
}

// SortForApply orders objects by applyRank, keeping the rendered order within a kind.
func SortForApply(objs []*unstructured.Unstructured) {
	sort.SliceStable(objs, func(i, j int) bool { return applyRank(objs[i].GetKind()) < applyRank(objs[j].GetKind()) })
}

// toUnstructured converts a typed object (whose TypeMeta is set) and drops what the API server fills in.
func toUnstructured(o runtime.Object) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
	if err != nil {
		return nil, err
	}
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	dropNulls(m)
	dropEmpty(m)
	return &unstructured.Unstructured{Object: m}, nil
}

// dropEmpty removes the empty objects typed structs without omitempty leave behind (strategy: {},
// resources: {}). Only these keys: an empty emptyDir: {} means something.
func dropEmpty(v any) {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if m, ok := x.(map[string]any); ok && len(m) == 0 && (k == "strategy" || k == "resources") {
				delete(t, k)
				continue
			}
			dropEmpty(x)
		}
	case []any:
		for _, x := range t {
			dropEmpty(x)
		}
	}
}

// dropNulls removes null values (creationTimestamp in pod templates, empty pointers) so output is minimal.
func dropNulls(v any) {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if x == nil {
				delete(t, k)
				continue
			}
			if k == "creationTimestamp" {
				delete(t, k)
				continue
			}
			dropNulls(x)
		}
	case []any:
		for _, x := range t {
			dropNulls(x)
		}
	}
}
