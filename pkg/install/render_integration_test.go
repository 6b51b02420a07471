package install

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"skiff.dev/skiff/internal/testenv"
	"skiff.dev/skiff/pkg/kube"
)

// TestRenderedObjectsAreAccepted server-side applies everything the demo profile renders (with a revision
// and a custom namespace) to a real API server, which validates every object against its schema: field
// names, types, webhook and selector rules. It catches renderings no golden file would notice.
func TestRenderedObjectsAreAccepted(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an API server")
	}
	env := testenv.Start(t)
	c, err := kube.FromConfig(env.Config, "default")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, sets := range [][]string{nil, {"revision=canary", "namespace=mesh"}} {
		ms := renderOK(t, ProfileOptions{Profile: "demo", Sets: sets})
		for _, o := range AllObjects(ms) {
			gvk := o.GroupVersionKind()
			m, err := c.Mapping(gvk.GroupKind(), gvk.Version)
			if err != nil {
				t.Fatal(err)
			}
			data, err := o.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			force := true
			_, err = c.Dynamic.Resource(m.Resource).Namespace(o.GetNamespace()).
				Patch(ctx, o.GetName(), types.ApplyPatchType, data, metav1.PatchOptions{FieldManager: FieldManager, Force: &force})
			if err != nil {
				t.Errorf("%v: applying %s %s/%s: %v", sets, o.GetKind(), o.GetNamespace(), o.GetName(), err)
			}
		}
	}
}
