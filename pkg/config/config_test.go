package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/pflag"
)

func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(file, []byte("context: from-file\nnamespace: file-ns\nkubeconfig: /file/kubeconfig\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SKIFF_NAMESPACE", "env-ns")
	t.Setenv("SKIFF_CONFIG", file)

	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	AddFlags(fs)
	if err := fs.Parse([]string{"--kubeconfig", "/flag/kubeconfig"}); err != nil {
		t.Fatal(err)
	}
	g, err := Load(fs)
	if err != nil {
		t.Fatal(err)
	}
	if g.Kubeconfig != "/flag/kubeconfig" || g.Namespace != "env-ns" || g.Context != "from-file" || g.MeshNamespace != DefaultMeshNamespace {
		t.Fatalf("unexpected precedence result: %+v", g)
	}
}

func TestMissingExplicitConfigIsBadInput(t *testing.T) {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	AddFlags(fs)
	_ = fs.Parse([]string{"--config", filepath.Join(t.TempDir(), "nope.yaml")})
	if _, err := Load(fs); err == nil {
		t.Fatal("expected an error for a missing explicit config file")
	}
}

func TestMissingDefaultConfigIsFine(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	AddFlags(fs)
	if _, err := Load(fs); err != nil {
		t.Fatal(err)
	}
}
