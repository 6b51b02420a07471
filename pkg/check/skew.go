package check

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"skiff.dev/skiff/pkg/inject"
	"skiff.dev/skiff/pkg/version"
)

const (
	groupVersions   = "skiff-versions"
	nameVersionSkew = "skiff-version-skew"
	proxyContainer  = "istio-proxy"
)

// proxyVersion is an injected pod's proxy version, from its istio-proxy image tag.
type proxyVersion struct {
	pod     string // namespace/name
	version string
}

func (in *inspector) versionSkew(ctx context.Context) Result {
	d, err := in.c.Typed.AppsV1().Deployments(in.ns).Get(ctx, version.ControllerName, metav1.GetOptions{})
	controller := ""
	switch {
	case err == nil:
		controller = d.Labels[version.LabelVersion]
	case !apierrors.IsNotFound(err):
		return result(groupVersions, nameVersionSkew, StatusError, "reading the controller Deployment: "+firstLine(err), "check your access to the cluster")
	}
	pods, err := in.c.Typed.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return result(groupVersions, nameVersionSkew, StatusError, "listing pods: "+firstLine(err), "check your access to the cluster")
	}
	return versionSkew(version.Get().Version, controller, injectedProxies(pods.Items))
}

// injectedProxies reads the proxy version of every pod carrying the injection status annotation.
func injectedProxies(pods []corev1.Pod) []proxyVersion {
	var out []proxyVersion
	for _, p := range pods {
		if _, ok := p.Annotations[inject.AnnotationStatus]; !ok {
			continue
		}
		v := ""
		for _, c := range append(append([]corev1.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
			if c.Name == proxyContainer {
				v = imageTag(c.Image)
			}
		}
		out = append(out, proxyVersion{pod: p.Namespace + "/" + p.Name, version: v})
	}
	return out
}

// imageTag is the tag of an image reference ("" when it has none, or only a digest).
func imageTag(image string) string {
	if i := strings.IndexByte(image, '@'); i >= 0 {
		image = image[:i]
	}
	slash := strings.LastIndexByte(image, '/')
	if i := strings.LastIndexByte(image, ':'); i > slash {
		return image[i+1:]
	}
	return ""
}

// versionSkew allows the client, the controller and the proxies to be one minor release apart (a warning:
// mid-upgrade) and fails beyond that, Istio's supported skew.
func versionSkew(client, controller string, proxies []proxyVersion) Result {
	hint := "upgrade with 'skiff install' from the matching skiff, then restart the workloads ('kubectl rollout restart') so their proxies are re-injected"
	if controller == "" {
		return result(groupVersions, nameVersionSkew, StatusWarning, "the controller Deployment has no "+version.LabelVersion+" label (or is missing); skew not checked", hint)
	}
	worst, notes := StatusOK, []string{}
	note := func(s Status, msg string) {
		if rank(s) > rank(worst) {
			worst = s
		}
		notes = append(notes, msg)
	}
	if s := skew(client, controller); s != StatusOK {
		note(s, fmt.Sprintf("client %s vs controller %s", client, controller))
	}
	byVersion := map[string][]string{}
	for _, p := range proxies {
		byVersion[p.version] = append(byVersion[p.version], p.pod)
	}
	versions := make([]string, 0, len(byVersion))
	for v := range byVersion {
		versions = append(versions, v)
	}
	sort.Strings(versions)
	for _, v := range versions {
		pods := byVersion[v]
		shown := v
		if v == "" {
			shown = "unknown"
		}
		if s := skew(v, controller); s != StatusOK {
			note(s, fmt.Sprintf("%s at %s (e.g. %s)", count(len(pods), "proxy", "proxies"), shown, pods[0]))
		}
	}
	if worst == StatusOK {
		return result(groupVersions, nameVersionSkew, StatusOK, fmt.Sprintf("client %s, controller %s, %s on the same release", client, controller, count(len(proxies), "proxy", "proxies")), "")
	}
	return result(groupVersions, nameVersionSkew, worst, "controller "+controller+": "+strings.Join(notes, "; "), hint)
}

// skew compares two versions by major.minor: equal is ok, one minor apart a warning, more an error.
// A version that cannot be parsed is a warning.
func skew(a, b string) Status {
	amaj, amin, aok := majorMinor(a)
	bmaj, bmin, bok := majorMinor(b)
	switch {
	case !aok || !bok:
		return StatusWarning
	case amaj != bmaj:
		return StatusError
	case amin == bmin:
		return StatusOK
	case amin-bmin == 1 || bmin-amin == 1:
		return StatusWarning
	}
	return StatusError
}

func majorMinor(v string) (int, int, bool) {
	parts := strings.SplitN(strings.TrimPrefix(v, "v"), ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	maj, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(strings.SplitN(parts[1], "-", 2)[0])
	return maj, minor, err1 == nil && err2 == nil
}

func rank(s Status) int {
	switch s {
	case StatusError:
		return 2
	case StatusWarning:
		return 1
	}
	return 0
}
