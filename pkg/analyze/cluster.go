package analyze

import (
	"context"
	"encoding/json"

	yaml "go.yaml.in/yaml/v3"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"skiff.dev/skiff/pkg/errs"
	"skiff.dev/skiff/pkg/kube"
)

// clusterKinds are the kinds read from the API server: what the analyzers look at. Istio kinds whose CRDs are
// not installed are skipped.
func clusterKinds() []schema.GroupKind {
	gks := []schema.GroupKind{
		{Kind: "Namespace"}, {Kind: "Service"}, {Kind: "Pod"},
		{Group: "apps", Kind: "Deployment"}, {Group: "apps", Kind: "StatefulSet"}, {Group: "apps", Kind: "DaemonSet"},
	}
	for _, k := range istioKinds() {
		gks = append(gks, schema.GroupKind{Group: k.group, Kind: k.kind})
	}
	return gks
}

// loadCluster lists the analysed kinds in every namespace and decodes them like file objects, without lines.
func loadCluster(ctx context.Context, c *kube.Clients, dec *decoder) ([]*Resource, []Message, error) {
	if err := c.Ping(ctx); err != nil {
		return nil, nil, err
	}
	var resources []*Resource
	var msgs []Message
	for _, gk := range clusterKinds() {
		m, err := c.Mapping(gk, "")
		if err != nil {
			if meta.IsNoMatchError(err) || isNoMatch(err) {
				continue // CRD not installed
			}
			return nil, nil, errs.Failure("discovering %s: %v", gk, err)
		}
		list, err := c.Dynamic.Resource(m.Resource).Namespace("").List(ctx, metav1.ListOptions{})
		if err != nil {
			if apierrors.IsNotFound(err) || apierrors.IsForbidden(err) {
				continue
			}
			return nil, nil, errs.Failure("listing %s: %v", m.Resource.Resource, err)
		}
		for i := range list.Items {
			obj := list.Items[i].Object
			delete(obj, "status")
			if md, ok := obj["metadata"].(map[string]any); ok {
				delete(md, "managedFields")
			}
			r, ms, err := decodeClusterObject(dec, obj)
			if err != nil {
				return nil, nil, errs.Failure("encoding %s: %v", m.Resource.Resource, err)
			}
			if r == nil {
				continue
			}
			msgs = append(msgs, ms...)
			resources = append(resources, r)
		}
	}
	return resources, msgs, nil
}

// decodeClusterObject decodes an object read from the cluster like a file object, without lines. The
// resource is nil when the object does not decode; the error is for an object that does not encode.
func decodeClusterObject(dec *decoder, obj any) (*Resource, []Message, error) {
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, nil, err
	}
	var n yaml.Node
	if err := yaml.Unmarshal(b, &n); err != nil || len(n.Content) == 0 {
		return nil, nil, nil
	}
	r, ms, p := dec.decode(document{root: n.Content[0]}, Origin{Cluster: true})
	if p != nil {
		return nil, nil, nil
	}
	return r, ms, nil
}

func isNoMatch(err error) bool {
	var nm *meta.NoKindMatchError
	return asError(err, &nm)
}
