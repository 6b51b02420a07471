package install

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestSortForDeletionReversesInstallOrder(t *testing.T) {
	mk := func(kind, name string, c Component) *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion("v1")
		if kind == "CustomResourceDefinition" {
			u.SetAPIVersion("apiextensions.k8s.io/v1")
		}
		u.SetKind(kind)
		u.SetName(name)
		u.SetLabels(map[string]string{LabelComponent: string(c)})
		return u
	}
	objs := []*unstructured.Unstructured{
		mk("CustomResourceDefinition", "crd", ComponentBase),
		mk("Namespace", "ns", ComponentBase),
		mk("ConfigMap", "mesh", ComponentBase),
		mk("Service", "istiod", ComponentController),
		mk("Service", "kiali", ComponentAddons),
		mk("Service", "ingress", ComponentIngressGateways),
	}
	sortForDeletion(objs)
	var got []string
	for _, o := range objs {
		got = append(got, o.GetName())
	}
	want := []string{"kiali", "ingress", "istiod", "mesh", "ns", "crd"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("deletion order %v, want %v", got, want)
		}
	}
}

func TestAbbreviate(t *testing.T) {
	if got := abbreviate([]string{"a", "b"}, 3); got != "a, b" {
		t.Error(got)
	}
	if got := abbreviate([]string{"a", "b", "c", "d"}, 2); got != "a, b and 2 more" {
		t.Error(got)
	}
}
