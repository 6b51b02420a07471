package kubeinject

import (
	"context"
	"os"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"skiff.dev/skiff/pkg/errs"
	"skiff.dev/skiff/pkg/inject"
	"skiff.dev/skiff/pkg/install"
	"skiff.dev/skiff/pkg/kube"
)

// rawConfig is injection configuration in the form the mesh stores it: the istio ConfigMap's "mesh" key and
// the istio-sidecar-injector ConfigMap's "config" and "values" keys.
type rawConfig struct {
	mesh, template, values string
	revision               string
	source                 string // where it came from, for error messages
}

// resolveConfig builds the injector configuration: from the cluster (--from-cluster) or the rendered
// profile, then each --meshConfigFile/--injectConfigFile/--valuesFile replacing its part.
func resolveConfig(ctx context.Context, o Options) (inject.Config, error) {
	var raw rawConfig
	var err error
	allFiles := o.MeshConfigFile != "" && o.InjectConfigFile != "" && o.ValuesFile != ""
	switch {
	case o.FromCluster:
		raw, err = fromCluster(ctx, o)
	case !allFiles: // with all three files given, as istioctl users do, the profile is not needed
		raw, err = fromProfile(o.Profile)
	}
	if err != nil {
		return inject.Config{}, err
	}
	if o.Revision != "" {
		raw.revision = o.Revision
	}
	for _, f := range []struct {
		path   string
		target *string
	}{{o.MeshConfigFile, &raw.mesh}, {o.InjectConfigFile, &raw.template}, {o.ValuesFile, &raw.values}} {
		if f.path == "" {
			continue
		}
		b, err := os.ReadFile(f.path)
		if err != nil {
			return inject.Config{}, errs.BadInput("%v", err)
		}
		*f.target = string(b)
	}
	return parseRaw(raw, o)
}

func parseRaw(raw rawConfig, o Options) (inject.Config, error) {
	cfg := inject.Config{Revision: raw.revision}
	var err error
	if raw.mesh != "" {
		if cfg.Mesh, err = inject.ParseMeshConfig([]byte(raw.mesh)); err != nil {
			return cfg, errs.BadInput("mesh config (%s): %v", firstNonEmpty(o.MeshConfigFile, raw.source), err)
		}
	}
	if raw.template != "" {
		if cfg.Template, err = inject.ParseInjectConfig([]byte(raw.template)); err != nil {
			return cfg, errs.BadInput("injector config (%s): %v", firstNonEmpty(o.InjectConfigFile, raw.source), err)
		}
	}
	if raw.values != "" {
		if cfg.Values, err = inject.ParseValues([]byte(raw.values)); err != nil {
			return cfg, errs.BadInput("values (%s): %v", firstNonEmpty(o.ValuesFile, raw.source), err)
		}
	}
	return cfg, nil
}

// fromProfile renders the profile like `skiff manifest generate` and takes the two ConfigMaps the
// controller would read, so offline injection matches what the installed webhook does.
func fromProfile(po install.ProfileOptions) (rawConfig, error) {
	p, err := install.LoadProfile(po)
	if err != nil {
		return rawConfig{}, err
	}
	manifests, err := install.Render(p)
	if err != nil {
		return rawConfig{}, err
	}
	raw := rawConfig{revision: p.Spec.Revision, source: "profile " + p.Spec.Profile}
	for _, m := range manifests {
		for _, obj := range m.Objects {
			if obj.GetKind() != "ConfigMap" {
				continue
			}
			data := stringMap(obj.Object, "data")
			switch obj.GetName() {
			case suffixed(install.MeshConfigMapName, raw.revision):
				raw.mesh = data[install.MeshConfigKey]
			case suffixed(install.InjectorConfigMapName, raw.revision):
				raw.template = data[install.InjectorConfigKey]
				raw.values = data[install.InjectorValuesKey]
			}
		}
	}
	return raw, nil
}

// fromCluster reads the installed mesh's ConfigMaps from the mesh namespace.
func fromCluster(ctx context.Context, o Options) (rawConfig, error) {
	clients, err := kube.New(o.Global)
	if err != nil {
		return rawConfig{}, err
	}
	return readClusterConfig(ctx, clients.Typed, firstNonEmpty(o.Global.MeshNamespace, "istio-system"), o.Revision)
}

// ClusterConfig is the injector configuration of an installed mesh, read from its ConfigMaps in namespace;
// the controller's injection webhook and `kube-inject --from-cluster` share it so both inject alike.
func ClusterConfig(ctx context.Context, cs kubernetes.Interface, namespace, revision string) (inject.Config, error) {
	raw, err := readClusterConfig(ctx, cs, namespace, revision)
	if err != nil {
		return inject.Config{}, err
	}
	return parseRaw(raw, Options{Revision: revision})
}

func readClusterConfig(ctx context.Context, cs kubernetes.Interface, ns, revision string) (rawConfig, error) {
	raw := rawConfig{revision: revision}
	get := func(name string) (map[string]string, error) {
		cm, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, errs.Failure("ConfigMap %s/%s not found: is the mesh installed (revision %q)?", ns, name, firstNonEmpty(revision, "default"))
		}
		if err != nil {
			return nil, errs.Failure("reading ConfigMap %s/%s: %v", ns, name, err)
		}
		return cm.Data, nil
	}
	meshName := revisioned(install.MeshConfigMapName, revision)
	mesh, err := get(meshName)
	if err != nil {
		return raw, err
	}
	injName := revisioned(install.InjectorConfigMapName, revision)
	injector, err := get(injName)
	if err != nil {
		return raw, err
	}
	raw.mesh = mesh[install.MeshConfigKey]
	raw.template = injector[install.InjectorConfigKey]
	raw.values = injector[install.InjectorValuesKey]
	raw.source = "ConfigMaps " + ns + "/" + meshName + ", " + ns + "/" + injName
	return raw, nil
}

// suffixed names an object of a rendered revision, as the renderer does (any non-empty revision).
func suffixed(name, revision string) string {
	if revision == "" {
		return name
	}
	return name + "-" + revision
}

// revisioned suffixes a name with a non-default revision, as the installer names its objects.
func revisioned(name, revision string) string {
	if revision == "" || revision == "default" {
		return name
	}
	return name + "-" + revision
}

func stringMap(obj map[string]any, field string) map[string]string {
	m, _ := obj[field].(map[string]any)
	out := make(map[string]string, len(m))
	for k, v := range m {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
