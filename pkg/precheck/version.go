package precheck

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/version"

	"skiff.dev/skiff/pkg/kube"
)

// MinKubernetes is the oldest Kubernetes release Skiff supports (the oldest upstream still patches).
const MinKubernetes = "1.30"

func checkVersion(c *kube.Clients) Result {
	r := Result{Name: "Kubernetes version"}
	info, err := c.Discovery.ServerVersion()
	if err != nil {
		r.Message = "cannot read the API server's version: " + err.Error()
		return r
	}
	v, err := version.ParseGeneric(info.GitVersion)
	if err != nil {
		r.Message = fmt.Sprintf("cannot parse the API server's version %q", info.GitVersion)
		return r
	}
	r.OK = v.AtLeast(version.MustParseGeneric(MinKubernetes))
	r.Message = fmt.Sprintf("%s (minimum %s)", info.GitVersion, MinKubernetes)
	if !r.OK {
		r.Message = fmt.Sprintf("%s is older than the minimum %s", info.GitVersion, MinKubernetes)
		r.Hint = "upgrade the cluster to Kubernetes " + MinKubernetes + " or later"
	}
	return r
}
