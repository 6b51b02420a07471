package analyze

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSuppressionFlag(t *testing.T) {
	cases := []struct {
		flag string
		want int // remaining messages of the grid file IST0102-IST0103 (1 x IST0102, 1 x IST0103)
	}{
		{"IST0102=Namespace *", 1},
		{"IST0102=Namespace plain", 1},
		{"IST0102=Namespace other", 2},
		{"IST0103=Pod injected/*", 1},
		{"IST0103=Pod no-proxy.injected", 1}, // istioctl's name.namespace form
		{"IST0103=Pod *.injected", 1},
		{"IST0103=Pod other/*", 2},
		{"IST0102=Pod *", 2},
		{"*=*", 0},
	}
	for _, c := range cases {
		t.Run(c.flag, func(t *testing.T) {
			o := offline("testdata/grid/IST0102-IST0103.yaml")
			o.Suppress = []string{c.flag}
			if got := len(analyzeOptions(t, o).Messages); got != c.want {
				t.Errorf("%d messages left, want %d", got, c.want)
			}
		})
	}
}

func TestSuppressionAnnotation(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "ns.yaml")
	doc := "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: plain\n  annotations:\n    galley.istio.io/analyze-suppress: \"IST0108, IST0102\"\n" +
		"---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: other\n  annotations:\n    galley.istio.io/analyze-suppress: IST0108\n"
	if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	ms := analyzeOptions(t, offline(file)).Messages
	if len(ms) != 1 || ms[0].Type.Code != "IST0102" || ms[0].Key.Name != "other" {
		t.Fatalf("want only IST0102 on namespace other, got %s", fullText(ms))
	}
}
