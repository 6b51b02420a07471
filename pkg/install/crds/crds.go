package crds

import (
	_ "embed"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
)

//go:embed crds.gen.json
var generated []byte

// Objects returns fresh copies of the CRDs, in install order; callers may modify them.
func Objects() ([]*unstructured.Unstructured, error) {
	var file struct {
		Items []map[string]any `json:"items"`
	}
	// apimachinery's decoder keeps integers as int64, as unstructured objects expect
	if err := utiljson.Unmarshal(generated, &file); err != nil {
		return nil, fmt.Errorf("embedded CRDs: %v", err)
	}
	out := make([]*unstructured.Unstructured, 0, len(file.Items))
	for _, obj := range file.Items {
		out = append(out, &unstructured.Unstructured{Object: obj})
	}
	return out, nil
}
