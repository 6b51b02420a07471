package install

import (
	"errors"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
)

// explain turns an API error into one line. The server's Forbidden message already names the user, verb,
// resource and namespace, so it is kept whole and only marked as a permission problem.
func explain(err error) string {
	switch {
	case apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
		// Forbidden too, but not a permission problem: an earlier uninstall is still deleting the namespace.
		return firstLine(err.Error()) + " (wait until the namespace is gone, then retry)"
	case apierrors.IsForbidden(err):
		return "permission denied: " + firstLine(err.Error())
	case meta.IsNoMatchError(err):
		var nm *meta.NoKindMatchError
		if errors.As(err, &nm) {
			return "the cluster does not serve " + nm.GroupKind.String() + " (is its CustomResourceDefinition installed?)"
		}
	}
	return firstLine(err.Error())
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
