package proxyconfig

import (
	"context"
	"io"
	"slices"
	"strings"

	adminv3 "github.com/envoyproxy/go-control-plane/envoy/admin/v3"
	corev1 "k8s.io/api/core/v1"

	"skiff.dev/skiff/pkg/errs"
	"skiff.dev/skiff/pkg/model"
	"skiff.dev/skiff/pkg/ui"
	"skiff.dev/skiff/pkg/xds"
)

// TranslateOptions configures `skiff x translate`.
type TranslateOptions struct {
	Streams ui.Streams
	// Files are YAML files or directories (read for *.yaml, *.yml); "-" reads standard input.
	Files []string
	// Proxy names the workload: a Pod in the files (name or name.namespace), or the value of their app
	// label. With Labels set it may name a workload that is not in the files.
	Proxy string
	// Type is sidecar, router or grpc; empty picks router for pods labelled istio=ingressgateway or
	// istio=egressgateway, sidecar otherwise.
	Type   string
	Labels map[string]string
	Render RenderOptions
}

// RunTranslate computes what the proxy would receive from the control plane and renders it exactly as
// proxy-config renders a live proxy's dump.
func RunTranslate(_ context.Context, o TranslateOptions) error {
	dump, err := TranslateDump(o)
	if err != nil {
		return err
	}
	return Render(o.Streams.Out, dump, o.Render)
}

// TranslateDump loads the files, generates the proxy's resources and wraps them as a config dump.
func TranslateDump(o TranslateOptions) (*adminv3.ConfigDump, error) {
	if len(o.Files) == 0 {
		return nil, errs.Usage("no input: pass the mesh configuration with -f file.yaml[,dir]")
	}
	if o.Proxy == "" {
		return nil, errs.Usage("no proxy: name the workload with --proxy <pod>[.<namespace>]")
	}
	in, err := loadInput(o.Files, o.Streams.In)
	if err != nil {
		return nil, err
	}
	proxy, err := resolveProxy(in, o.Proxy, o.Type, o.Labels)
	if err != nil {
		return nil, err
	}
	return FromResources(xds.Generate(model.Build(in), proxy))
}

func loadInput(paths []string, stdin io.Reader) (model.Input, error) {
	d, err := model.NewDecoder()
	if err != nil {
		return model.Input{}, err
	}
	var in model.Input
	err = model.ReadPaths(paths, stdin, func(name string, data []byte) error { return d.AddYAML(&in, name, data) })
	return in, err
}

// resolveProxy turns --proxy into the model's proxy: a pod of the files gives namespace, labels and IP.
func resolveProxy(in model.Input, ref, typ string, labels map[string]string) (*model.Proxy, error) {
	name, ns, _ := strings.Cut(ref, ".")
	pod := findPod(in.Pods, name, ns)
	p := &model.Proxy{Namespace: ns}
	switch {
	case pod != nil:
		p.Namespace, p.IP, p.Labels = podNamespace(pod), podIP(in, pod), pod.Labels
		name = pod.Name
	case len(labels) > 0:
	default:
		return nil, errs.BadInput("no pod named %q or labelled app=%s in the input%s; pass --labels to translate for a workload the files do not contain", ref, name, podList(in.Pods))
	}
	if len(labels) > 0 {
		p.Labels = labels
	}
	if p.Namespace == "" {
		p.Namespace = "default"
	}
	switch typ {
	case "":
		if g := p.Labels["istio"]; g == "ingressgateway" || g == "egressgateway" {
			p.Type = model.Router
		}
	case "sidecar":
		p.Type = model.Sidecar
	case "router":
		p.Type = model.Router
	case "grpc":
		p.Type = model.ProxylessGRPC
	default:
		return nil, errs.Usage("unknown proxy type %q (choose one of: sidecar, router, grpc)", typ)
	}
	p.ID = p.Type.String() + "~" + p.IP + "~" + name + "." + p.Namespace + "~" + p.Namespace + ".svc." + model.DefaultDomainSuffix
	return p, nil
}

// findPod prefers a pod of that name and falls back to the first pod (by name) whose app label matches.
func findPod(pods []*corev1.Pod, name, ns string) *corev1.Pod {
	inNS := func(p *corev1.Pod) bool { return ns == "" || podNamespace(p) == ns }
	for _, p := range pods {
		if p.Name == name && inNS(p) {
			return p
		}
	}
	var found *corev1.Pod
	for _, p := range pods {
		if p.Labels["app"] == name && inNS(p) && (found == nil || p.Name < found.Name) {
			found = p
		}
	}
	return found
}

// podIP is the pod's status IP or, as files written by hand rarely carry status, the address an
// EndpointSlice lists for it; inbound listeners are generated for the ports served on that address.
func podIP(in model.Input, pod *corev1.Pod) string {
	if pod.Status.PodIP != "" {
		return pod.Status.PodIP
	}
	for _, s := range in.EndpointSlices {
		for _, ep := range s.Endpoints {
			ref := ep.TargetRef
			if ref != nil && ref.Kind == "Pod" && ref.Name == pod.Name && (ref.Namespace == "" || ref.Namespace == podNamespace(pod)) && len(ep.Addresses) > 0 {
				return ep.Addresses[0]
			}
		}
	}
	return ""
}

func podNamespace(p *corev1.Pod) string {
	if p.Namespace == "" {
		return "default"
	}
	return p.Namespace
}

func podList(pods []*corev1.Pod) string {
	if len(pods) == 0 {
		return " (it has no pods)"
	}
	var names []string
	for _, p := range pods {
		names = append(names, p.Name+"."+podNamespace(p))
	}
	slices.Sort(names)
	return " (its pods: " + strings.Join(names, ", ") + ")"
}
