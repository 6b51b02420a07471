package crds

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestGeneratedIsCurrent fails when crds.gen.json differs from what hack/gencrds would write now, e.g.
// after an istio.io/api upgrade or a hand edit. Fix with `go generate ./pkg/install/crds`.
func TestGeneratedIsCurrent(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}\t{{.Path}}@{{.Version}}", "istio.io/api").Output()
	if err != nil {
		t.Fatalf("locating istio.io/api: %v", err)
	}
	dir, module, _ := strings.Cut(strings.TrimSpace(string(out)), "\t")
	source, err := os.ReadFile(filepath.Join(dir, SourcePath))
	if err != nil {
		t.Fatal(err)
	}
	want, err := Generate(source, module+" "+SourcePath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want, generated) {
		t.Fatal("crds.gen.json is stale or hand-edited; run `go generate ./pkg/install/crds`")
	}
}

func TestObjectsCoverEveryAcceptedKind(t *testing.T) {
	objs, err := Objects()
	if err != nil {
		t.Fatal(err)
	}
	kinds := AcceptedKinds()
	if len(objs) != len(kinds) {
		t.Fatalf("got %d CRDs, want %d", len(objs), len(kinds))
	}
	for i, o := range objs {
		group, _, _ := unstructured.NestedString(o.Object, "spec", "group")
		kind, _, _ := unstructured.NestedString(o.Object, "spec", "names", "kind")
		if o.GetKind() != "CustomResourceDefinition" || group != kinds[i].Group || kind != kinds[i].Kind {
			t.Errorf("CRD %d is %s %s.%s, want %s.%s", i, o.GetKind(), kind, group, kinds[i].Kind, kinds[i].Group)
		}
	}
}

func TestGenerateFailsOnMissingKind(t *testing.T) {
	src := "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nspec:\n  group: networking.istio.io\n  names:\n    kind: Gateway\n"
	if _, err := Generate([]byte(src), "test"); err == nil || !strings.Contains(err.Error(), "DestinationRule") {
		t.Fatalf("want an error naming the first missing kind, got %v", err)
	}
}
