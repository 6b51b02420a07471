package check

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"skiff.dev/skiff/pkg/install"
)

const (
	groupCRDs      = "skiff-crds"
	nameCRDsServed = "skiff-crds-served"
)

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// wantedCRD is a CRD Skiff installs: its name and a resource to list to prove it is served.
type wantedCRD struct {
	name string
	gvr  schema.GroupVersionResource
}

// installedCRDs are the CRDs of the default profile's Base component (every profile installs the same).
func installedCRDs() ([]wantedCRD, error) {
	prof, err := install.LoadProfile(install.ProfileOptions{Profile: "default"})
	if err != nil {
		return nil, err
	}
	ms, err := install.Render(prof)
	if err != nil {
		return nil, err
	}
	var out []wantedCRD
	for _, m := range ms {
		for _, o := range m.Objects {
			if o.GetKind() != "CustomResourceDefinition" {
				continue
			}
			group, _, _ := unstructured.NestedString(o.Object, "spec", "group")
			plural, _, _ := unstructured.NestedString(o.Object, "spec", "names", "plural")
			out = append(out, wantedCRD{name: o.GetName(), gvr: schema.GroupVersionResource{Group: group, Version: servedVersion(o), Resource: plural}})
		}
	}
	return out, nil
}

// servedVersion picks the storage version, else the first served one.
func servedVersion(crd *unstructured.Unstructured) string {
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	first := ""
	for _, v := range versions {
		m, _ := v.(map[string]any)
		name, _ := m["name"].(string)
		served, _ := m["served"].(bool)
		if !served {
			continue
		}
		if storage, _ := m["storage"].(bool); storage {
			return name
		}
		if first == "" {
			first = name
		}
	}
	return first
}

func (in *inspector) crdsServed(ctx context.Context) Result {
	wanted, err := installedCRDs()
	if err != nil {
		return result(groupCRDs, nameCRDsServed, StatusError, "rendering the CRDs Skiff installs: "+firstLine(err), "")
	}
	var problems []string
	for _, w := range wanted {
		crd, err := in.c.Dynamic.Resource(crdResource).Get(ctx, w.name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			problems = append(problems, w.name+" is missing")
			continue
		}
		if err != nil {
			problems = append(problems, w.name+": "+firstLine(err))
			continue
		}
		if reason := notEstablished(crd); reason != "" {
			problems = append(problems, w.name+": "+reason)
			continue
		}
		if _, err := in.c.Dynamic.Resource(w.gvr).List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
			problems = append(problems, fmt.Sprintf("%s: listing %s: %s", w.name, w.gvr.GroupResource(), firstLine(err)))
		}
	}
	if len(problems) > 0 {
		return result(groupCRDs, nameCRDsServed, StatusError, fmt.Sprintf("%d of %d Istio CRDs are not served: %s", len(problems), len(wanted), strings.Join(problems, "; ")),
			"reinstall the CRDs with 'skiff install'")
	}
	return result(groupCRDs, nameCRDsServed, StatusOK, fmt.Sprintf("all %d Istio CRDs are established and served", len(wanted)), "")
}

// notEstablished says why a CRD is not usable yet, or "" when its Established condition is True.
func notEstablished(crd *unstructured.Unstructured) string {
	if crd.GetDeletionTimestamp() != nil {
		return "being deleted"
	}
	conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] != "Established" {
			continue
		}
		if m["status"] == "True" {
			return ""
		}
		msg, _ := m["message"].(string)
		return "not established: " + msg
	}
	return "not established yet"
}
