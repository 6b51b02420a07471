package testenv

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"skiff.dev/skiff/pkg/install/crds"
)

// InstallIstioCRDs creates the Istio CRDs Skiff installs (pkg/install/crds) and waits until every one of
// them is served, so a test can create VirtualServices and the like right away.
func (e *Environment) InstallIstioCRDs(tb testing.TB) {
	tb.Helper()
	objs, err := crds.Objects()
	if err != nil {
		tb.Fatal(err)
	}
	dyn := dynamic.NewForConfigOrDie(e.Config)
	ctx := context.Background()
	crdGVR := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	var served []schema.GroupVersionResource
	for _, o := range objs {
		if _, err := dyn.Resource(crdGVR).Create(ctx, o, metav1.CreateOptions{}); err != nil {
			tb.Fatalf("creating CRD %s: %v", o.GetName(), err)
		}
		group, _, _ := unstructured.NestedString(o.Object, "spec", "group")
		plural, _, _ := unstructured.NestedString(o.Object, "spec", "names", "plural")
		versions, _, _ := unstructured.NestedSlice(o.Object, "spec", "versions")
		for _, v := range versions {
			if m, ok := v.(map[string]any); ok && m["served"] == true {
				served = append(served, schema.GroupVersionResource{Group: group, Version: m["name"].(string), Resource: plural})
			}
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, gvr := range served {
		for {
			if _, err := dyn.Resource(gvr).List(ctx, metav1.ListOptions{Limit: 1}); err == nil {
				break
			}
			if time.Now().After(deadline) {
				tb.Fatalf("%s not served after 30s", gvr)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}
