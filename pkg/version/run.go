package version

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"skiff.dev/skiff/pkg/config"
	"skiff.dev/skiff/pkg/errs"
	"skiff.dev/skiff/pkg/kube"
)

// ControllerName is the control plane Deployment's name; Istio's, so runbooks keep working.
const ControllerName = "istiod"

// LabelVersion is set on every object Skiff installs, with the version of the skiff that rendered it.
const LabelVersion = "app.kubernetes.io/version"

// Options configures `skiff version`.
type Options struct {
	Global config.Global
	Out    io.Writer
	Remote bool
	Output string
}

// Report is what `skiff version -o json|yaml` prints.
type Report struct {
	Client Info  `json:"client"`
	Mesh   *Info `json:"mesh,omitempty"`
}

// Run prints the client's version and, with Remote, the installed controller's.
func Run(ctx context.Context, o Options) error {
	switch o.Output {
	case "short", "json", "yaml":
	default:
		return errs.Usage("unknown output format %q (want short, json or yaml)", o.Output)
	}
	r := Report{Client: Get()}
	if o.Remote {
		remote, err := RemoteVersion(ctx, o.Global)
		if err != nil {
			return err
		}
		r.Mesh = &remote
	}
	switch o.Output {
	case "json":
		b, _ := json.MarshalIndent(r, "", "  ")
		_, err := fmt.Fprintln(o.Out, string(b))
		return err
	case "yaml":
		b, _ := yaml.Marshal(r)
		_, err := o.Out.Write(b)
		return err
	}
	fmt.Fprintf(o.Out, "client version: %s\n", r.Client.Version)
	if r.Mesh != nil {
		fmt.Fprintf(o.Out, "control plane version: %s\n", r.Mesh.Version)
	}
	return nil
}

// RemoteVersion reads the version label of the installed controller Deployment.
func RemoteVersion(ctx context.Context, g config.Global) (Info, error) {
	c, err := kube.New(g)
	if err != nil {
		return Info{}, err
	}
	d, err := c.Typed.AppsV1().Deployments(g.MeshNamespace).Get(ctx, ControllerName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return Info{}, errs.Failure("no control plane in namespace %s (install one with 'skiff install')", g.MeshNamespace)
	}
	if err != nil {
		return Info{}, errs.Failure("reading the control plane's version: %v", err)
	}
	return Info{Version: d.Labels[LabelVersion]}, nil
}
