package proxyconfig

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	adminv3 "github.com/envoyproxy/go-control-plane/envoy/admin/v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"skiff.dev/skiff/pkg/config"
	"skiff.dev/skiff/pkg/dashboard"
	"skiff.dev/skiff/pkg/errs"
	"skiff.dev/skiff/pkg/inject"
	"skiff.dev/skiff/pkg/kube"
	"skiff.dev/skiff/pkg/ui"
)

// EnvoyAdminPort is where Istio's sidecars and gateways serve Envoy's admin API, on the pod's loopback.
const EnvoyAdminPort = 15000

// fetchTimeout bounds the whole fetch: a large mesh's dump is megabytes, yet arrives in seconds.
const fetchTimeout = 30 * time.Second

// LiveOptions configures `skiff proxy-config`.
type LiveOptions struct {
	Global  config.Global
	Streams ui.Streams
	// Pod is the pod name, or pod.namespace as istioctl accepts.
	Pod string
	// File, instead of a pod, is a saved /config_dump (curl localhost:15000/config_dump > dump.json).
	File   string
	Render RenderOptions
}

// RunLive fetches the pod's Envoy config dump through a port-forward (or reads a saved one) and renders
// the view.
func RunLive(ctx context.Context, o LiveOptions) error {
	if o.File != "" {
		return renderFile(o)
	}
	c, err := kube.New(o.Global)
	if err != nil {
		return err
	}
	name, ns := o.Pod, c.Namespace
	if n, namespace, ok := strings.Cut(o.Pod, "."); ok && o.Global.Namespace == "" {
		name, ns = n, namespace
	}
	if err := c.Ping(ctx); err != nil {
		return err
	}
	logs := io.Discard
	if o.Global.Verbosity > 0 {
		logs = o.Streams.Err
	}
	dump, err := FetchDump(ctx, c, ns, name, logs)
	if err != nil {
		return err
	}
	return Render(o.Streams.Out, dump, o.Render)
}

func renderFile(o LiveOptions) error {
	b, err := os.ReadFile(o.File)
	if err != nil {
		return errs.BadInput("%v", err) // an *fs.PathError names the file
	}
	dump, err := Decode(b)
	if err != nil {
		return errs.BadInput("%s: %v", o.File, err)
	}
	return Render(o.Streams.Out, dump, o.Render)
}

// FetchDump checks that namespace/pod runs a sidecar and reads its /config_dump?include_eds.
func FetchDump(ctx context.Context, c *kube.Clients, namespace, pod string, logs io.Writer) (*adminv3.ConfigDump, error) {
	if err := checkProxyPod(ctx, c.Typed, namespace, pod); err != nil {
		return nil, err
	}
	fw, err := dashboard.StartForward(c.Config, namespace, pod, "127.0.0.1", 0, EnvoyAdminPort, logs)
	if err != nil {
		return nil, err
	}
	defer fw.Close()
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	url := fmt.Sprintf("http://127.0.0.1:%d/config_dump?include_eds", fw.LocalPort)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, errs.Failure("reading the Envoy admin API of %s/%s (port %d): %v", namespace, pod, EnvoyAdminPort, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, errs.Failure("reading the config dump of %s/%s: %v", namespace, pod, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, errs.Failure("Envoy admin API of %s/%s answered %s: %s", namespace, pod, resp.Status, firstLine(string(body)))
	}
	dump, err := Decode(body)
	if err != nil {
		return nil, errs.Failure("config dump of %s/%s: %v", namespace, pod, err)
	}
	return dump, nil
}

// checkProxyPod explains the usual mistakes before port-forwarding: no such pod, not running, or no
// Envoy in it.
func checkProxyPod(ctx context.Context, cs kubernetes.Interface, namespace, name string) error {
	p, err := cs.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return errs.Failure("pod %s not found in namespace %s (use -n or pod.namespace)", name, namespace)
	}
	if err != nil {
		return errs.Failure("pod %s/%s: %v", namespace, name, err)
	}
	if !hasProxy(p) {
		return errs.Failure("pod %s/%s has no %s sidecar, so there is no Envoy to read; is the namespace labelled istio-injection=enabled?", namespace, name, inject.ProxyContainer)
	}
	if p.Status.Phase != corev1.PodRunning {
		return errs.Failure("pod %s/%s is not running (phase %s)", namespace, name, p.Status.Phase)
	}
	return nil
}

// hasProxy finds the Envoy container, a regular container or a native sidecar (an init container).
func hasProxy(p *corev1.Pod) bool {
	for _, list := range [][]corev1.Container{p.Spec.Containers, p.Spec.InitContainers} {
		for _, c := range list {
			if c.Name == inject.ProxyContainer {
				return true
			}
		}
	}
	return false
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
