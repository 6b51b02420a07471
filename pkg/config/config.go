// Package config reads Skiff's global settings once, at the root command: flags, then SKIFF_* environment
// variables, then the config file (~/.config/skiff/config.yaml), into a typed Global. No package keeps a viper.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"skiff.dev/skiff/pkg/errs"
)

// Global holds the settings every command shares.
type Global struct {
	ConfigFile string `mapstructure:"config"`
	Kubeconfig string `mapstructure:"kubeconfig"`
	Context    string `mapstructure:"context"`
	// Namespace is the namespace commands act in; empty means the kubeconfig context's namespace.
	Namespace string `mapstructure:"namespace"`
	// MeshNamespace is where the control plane is installed (istio-system).
	MeshNamespace string `mapstructure:"mesh-namespace"`
	Verbosity     int    `mapstructure:"v"`
}

// DefaultMeshNamespace is Istio's control-plane namespace, kept so existing runbooks work.
const DefaultMeshNamespace = "istio-system"

// AddFlags registers the global flags on the root command's persistent flag set.
func AddFlags(fs *pflag.FlagSet) {
	fs.String("config", "", "config file (default ~/.config/skiff/config.yaml)")
	fs.String("kubeconfig", "", "path to the kubeconfig file (default $KUBECONFIG or ~/.kube/config)")
	fs.String("context", "", "kubeconfig context to use")
	fs.StringP("namespace", "n", "", "namespace to act in (default: the context's namespace)")
	fs.String("mesh-namespace", DefaultMeshNamespace, "namespace the control plane is installed in")
	fs.IntP("v", "v", 0, "log verbosity (0-9)")
}

// Load resolves Global from fs, the environment and the config file. Precedence: flag > SKIFF_* env > file > default.
func Load(fs *pflag.FlagSet) (Global, error) {
	v := viper.New()
	v.SetEnvPrefix("SKIFF")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	v.AutomaticEnv()
	if err := v.BindPFlags(fs); err != nil {
		return Global{}, err
	}
	file := v.GetString("config")
	explicit := file != ""
	if !explicit {
		file = defaultConfigFile()
	}
	if file != "" {
		v.SetConfigFile(file)
		v.SetConfigType("yaml")
		if err := v.ReadInConfig(); err != nil {
			var notFound *os.PathError
			if explicit || !errors.As(err, &notFound) {
				return Global{}, errs.BadInput("config file %s: %v", file, err)
			}
		}
	}
	var g Global
	if err := v.Unmarshal(&g); err != nil {
		return Global{}, errs.BadInput("config file %s: %v", file, err)
	}
	return g, nil
}

func defaultConfigFile() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "skiff", "config.yaml")
}

// String is for -v debugging output.
func (g Global) String() string {
	return fmt.Sprintf("kubeconfig=%q context=%q namespace=%q mesh-namespace=%q", g.Kubeconfig, g.Context, g.Namespace, g.MeshNamespace)
}
