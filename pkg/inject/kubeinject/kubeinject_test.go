package kubeinject

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"skiff.dev/skiff/internal/testenv"
	"skiff.dev/skiff/pkg/config"
	"skiff.dev/skiff/pkg/errs"
	"skiff.dev/skiff/pkg/inject"
	"skiff.dev/skiff/pkg/install"
	"skiff.dev/skiff/pkg/ui"
)

const app = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx
        readinessProbe:
          httpGet: {path: /ready, port: 8080}
---
# a Service, untouched
kind: Service
metadata: {name: web}
`

func streams(in string) (ui.Streams, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	return ui.Streams{In: strings.NewReader(in), Out: &out, Err: &errOut}, &out, &errOut
}

// Stdin in, stdout out, configuration from the default profile rendered by the installer.
func TestStdinWithProfile(t *testing.T) {
	s, out, report := streams(app)
	err := Run(context.Background(), Options{Filename: "-", Profile: install.ProfileOptions{Profile: "default"}, Streams: s})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "name: istio-proxy") || !strings.HasSuffix(out.String(), "# a Service, untouched\nkind: Service\nmetadata: {name: web}\n") {
		t.Errorf("unexpected output:\n%s", out)
	}
	if report.String() != "deployment \"web\" injected\n" {
		t.Errorf("report %q", report)
	}
}

func TestDirectoryToFileAndBack(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.yaml"), app)
	write(t, filepath.Join(dir, "sub", "b.yml"), "kind: Pod\nmetadata: {name: p}\nspec: {hostNetwork: true, containers: [{name: c}]}\n")
	write(t, filepath.Join(dir, "notes.txt"), "not a manifest")
	outFile := filepath.Join(t.TempDir(), "out.yaml")
	s, stdout, report := streams("")
	if err := Run(context.Background(), Options{Filename: dir, Output: outFile, Profile: install.ProfileOptions{Profile: "default"}, Streams: s}); err != nil {
		t.Fatal(err)
	}
	if stdout.Len() != 0 {
		t.Error("with -o nothing goes to stdout")
	}
	if want := "deployment \"web\" injected\npod \"p\" skipped: hostNetwork\n"; report.String() != want {
		t.Errorf("report %q, want %q", report, want)
	}
	injected, _ := os.ReadFile(outFile)
	if !strings.Contains(string(injected), "\n---\nkind: Pod\n") {
		t.Errorf("files should be joined by ---:\n%s", injected)
	}

	s, stdout, report = streams(string(injected))
	if err := Uninject(context.Background(), UninjectOptions{Filename: "-", Streams: s}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stdout.String(), "istio") || !strings.Contains(report.String(), "deployment \"web\" uninjected") {
		t.Errorf("uninject left injected fields or misreported:\n%s\n%s", stdout, report)
	}
}

func TestBadInputExitCodeKeepsOutput(t *testing.T) {
	s, out, _ := streams(app + "---\nkind: Pod\nmetadata: [\n")
	err := Run(context.Background(), Options{Filename: "-", Profile: install.ProfileOptions{Profile: "default"}, Streams: s})
	if errs.Code(err) != errs.ExitBadInput || !strings.Contains(err.Error(), "<stdin>: document 3 (line 21)") {
		t.Fatalf("want exit 65 naming document 3 line 21, got %d: %v", errs.Code(err), err)
	}
	if !strings.Contains(out.String(), "name: istio-proxy") || !strings.HasSuffix(out.String(), "metadata: [\n") {
		t.Errorf("output must hold every document:\n%s", out)
	}
	if err := Run(context.Background(), Options{Filename: "/nonexistent.yaml", Streams: s}); errs.Code(err) != errs.ExitBadInput {
		t.Errorf("missing file: want exit 65, got %v", err)
	}
	if err := Run(context.Background(), Options{Streams: s}); errs.Code(err) != errs.ExitUsage {
		t.Errorf("no -f: want exit 64, got %v", err)
	}
}

// istioctl-style files replace the profile: an injector config wrapping the template under
// templates.sidecar, a mesh config, and JSON values.
func TestIstioctlStyleFiles(t *testing.T) {
	dir := t.TempDir()
	tmpl := strings.ReplaceAll(inject.DefaultTemplate(), "- proxy\n    - sidecar\n", "- proxy\n    - sidecar\n    - --custom-template\n")
	injectCfg := "policy: enabled\ntemplates:\n  sidecar: |\n" + indent(tmpl, "    ")
	write(t, filepath.Join(dir, "inject.yaml"), injectCfg)
	write(t, filepath.Join(dir, "mesh.yaml"), "trustDomain: example.org\ndefaultConfig:\n  statusPort: 15099\n")
	write(t, filepath.Join(dir, "values.json"), `{"global":{"hub":"example.io/mesh","tag":"9.9"}}`)
	s, out, _ := streams(app)
	err := Run(context.Background(), Options{Filename: "-", Streams: s,
		InjectConfigFile: filepath.Join(dir, "inject.yaml"), MeshConfigFile: filepath.Join(dir, "mesh.yaml"), ValuesFile: filepath.Join(dir, "values.json")})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"--custom-template", "spiffe://example.org/", "port: 15099", "image: example.io/mesh/skiff-proxy:9.9"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	write(t, filepath.Join(dir, "bad.yaml"), "{{ omitNil .Values }}")
	s, _, _ = streams(app)
	err = Run(context.Background(), Options{Filename: "-", Streams: s, InjectConfigFile: filepath.Join(dir, "bad.yaml")})
	if errs.Code(err) != errs.ExitBadInput || !strings.Contains(err.Error(), "omitNil") {
		t.Errorf("an Istio (sprig) template should be rejected clearly, got %v", err)
	}
}

func TestFromCluster(t *testing.T) {
	env := testenv.Start(t)
	ctx := context.Background()
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "mesh-system"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]map[string]string{
		"istio":                  {"mesh": "trustDomain: cluster.example\n"},
		"istio-sidecar-injector": {"config": inject.DefaultTemplate(), "values": `{"global":{"hub":"cluster.io/hub"}}`},
	} {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "mesh-system"}, Data: data}
		if _, err := cs.CoreV1().ConfigMaps("mesh-system").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	global := config.Global{Kubeconfig: env.Kubeconfig(t), MeshNamespace: "mesh-system"}
	s, out, _ := streams(app)
	if err := Run(ctx, Options{Filename: "-", FromCluster: true, Global: global, Streams: s}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"spiffe://cluster.example/", "image: cluster.io/hub/skiff-proxy:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q: the cluster's ConfigMaps were not used", want)
		}
	}
	s, _, _ = streams(app)
	err = Run(ctx, Options{Filename: "-", FromCluster: true, Revision: "canary", Global: global, Streams: s})
	if err == nil || !strings.Contains(err.Error(), "mesh-system/istio-canary not found") {
		t.Errorf("want a clear not-found error for revision canary, got %v", err)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func indent(s, pad string) string {
	return pad + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n"+pad) + "\n"
}
