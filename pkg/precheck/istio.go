package precheck

import (
	"context"
	"fmt"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"skiff.dev/skiff/pkg/install"
	"skiff.dev/skiff/pkg/kube"
)

// checkExistingIstio fails when Istio (or anything else that is not Skiff) already owns the control
// plane's Deployment name or Istio's CRDs: install would take them over with server-side apply.
func checkExistingIstio(ctx context.Context, c *kube.Clients) Result {
	r := Result{Name: "Existing Istio", Hint: "remove it first ('istioctl uninstall --purge'), or use another cluster"}
	var found []string
	deps, err := c.Typed.AppsV1().Deployments(metav1.NamespaceAll).List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=istiod"})
	if err != nil {
		r.Message = "cannot list Deployments: " + err.Error()
		r.Hint = ""
		return r
	}
	for _, d := range deps.Items {
		if d.Labels[install.LabelManagedBy] != install.ManagedByValue {
			found = append(found, "Deployment "+d.Namespace+"/"+d.Name)
		}
	}
	crds, err := c.Dynamic.Resource(apiextensionsv1.SchemeGroupVersion.WithResource("customresourcedefinitions")).List(ctx, metav1.ListOptions{})
	if err != nil {
		r.Message = "cannot list CustomResourceDefinitions: " + err.Error()
		r.Hint = ""
		return r
	}
	foreignCRDs := 0
	for _, u := range crds.Items {
		var crd apiextensionsv1.CustomResourceDefinition
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &crd); err != nil {
			continue
		}
		if strings.HasSuffix(crd.Spec.Group, "istio.io") && crd.Labels[install.LabelManagedBy] != install.ManagedByValue {
			foreignCRDs++
		}
	}
	if foreignCRDs > 0 {
		found = append(found, fmt.Sprintf("%d istio.io CRDs", foreignCRDs))
	}
	if len(found) == 0 {
		r.OK = true
		r.Message = "none found (no istiod Deployment or istio.io CRDs that Skiff did not install)"
		r.Hint = ""
		return r
	}
	r.Message = "found an installation Skiff did not make: " + strings.Join(found, ", ")
	return r
}
