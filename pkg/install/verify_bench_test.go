package install

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// demoObjects renders the demo profile, the largest built-in one, for the benchmarks.
func demoObjects(b *testing.B) []*unstructured.Unstructured {
	p, err := LoadProfile(ProfileOptions{Profile: "demo"})
	if err != nil {
		b.Fatal(err)
	}
	ms, err := Render(p)
	if err != nil {
		b.Fatal(err)
	}
	var objs []*unstructured.Unstructured
	for _, m := range ms {
		objs = append(objs, m.Objects...)
	}
	return objs
}

// BenchmarkVerifyCompare measures verify-install's local work per profile: the field-by-field check
// against an identical live object (the common case), and the full drift walk.
func BenchmarkVerifyCompare(b *testing.B) {
	objs := demoObjects(b)
	live := make([]*unstructured.Unstructured, len(objs))
	for i, o := range objs {
		live[i] = o.DeepCopy()
	}
	b.Run("contains", func(b *testing.B) {
		for b.Loop() {
			for i, o := range objs {
				if !contains(live[i].Object, o.Object) {
					b.Fatal("identical objects differ")
				}
			}
		}
	})
	b.Run("drift", func(b *testing.B) {
		for b.Loop() {
			for i, o := range objs {
				if d := drift(o.Object, live[i].Object); len(d) != 0 {
					b.Fatal(d)
				}
			}
		}
	})
}
