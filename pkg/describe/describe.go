// Package describe explains how the mesh treats one pod or service: which VirtualServices route to it and
// with what weight, which DestinationRule and subsets apply, the mTLS mode on both ends and the
// AuthorizationPolicies in force. It reads the same model the control plane serves from, so what it says is
// what the proxies get.
package describe

import (
	"cmp"
	"context"
	"io"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"skiff.dev/skiff/pkg/errs"
	"skiff.dev/skiff/pkg/model"
	"skiff.dev/skiff/pkg/ui"
)

// canonicalKind maps the kinds describe accepts, with kubectl's aliases, to pod or service.
func canonicalKind(kind string) (string, bool) {
	switch strings.ToLower(kind) {
	case "pod", "pods", "po":
		return "pod", true
	case "service", "services", "svc":
		return "service", true
	}
	return "", false
}

// Options are the inputs of `skiff x describe`.
type Options struct {
	Source
	// Kind is pod or service (or an alias: po, pods, svc, services).
	Kind string
	// Name is the object's name, optionally "name.namespace" as istioctl accepts.
	Name string
	Out  io.Writer
}

// Run loads the mesh and prints the description of one pod or service.
func Run(ctx context.Context, o Options) error {
	kind, ok := canonicalKind(o.Kind)
	if !ok {
		return errs.Usage("cannot describe %q: the kinds are pod (po) and service (svc)", o.Kind)
	}
	if o.Name == "" {
		return errs.Usage("name the %s to describe", kind)
	}
	in, err := o.Load(ctx)
	if err != nil {
		return err
	}
	in.RootNamespace = o.Global.MeshNamespace
	m := model.Build(in)
	var sections []ui.Section
	switch kind {
	case "pod":
		pod, err := find(in.Pods, "pod", o.Name, o.Global.Namespace)
		if err != nil {
			return err
		}
		sections = Pod(m, in, pod)
	default:
		svc, err := find(in.Services, "service", o.Name, o.Global.Namespace)
		if err != nil {
			return err
		}
		sections = Service(m, in, svc)
	}
	ui.NewPrinter(o.Out).Sections(sections)
	return nil
}

type named interface {
	*corev1.Pod | *corev1.Service
	GetName() string
	GetNamespace() string
}

// find picks the object called name in namespace, or in any namespace when namespace is empty; a name
// found in several namespaces must be qualified.
func find[T named](objs []T, kind, name, namespace string) (T, error) {
	match := func(n, ns string) []T {
		var out []T
		for _, o := range objs {
			if o.GetName() == n && (ns == "" || o.GetNamespace() == ns) {
				out = append(out, o)
			}
		}
		return out
	}
	found := match(name, namespace)
	if n, ns, ok := strings.Cut(name, "."); len(found) == 0 && ok && (namespace == "" || namespace == ns) {
		found = match(n, ns)
	}
	switch len(found) {
	case 0:
		where := "in any namespace"
		if namespace != "" {
			where = "in namespace " + namespace
		}
		return nil, errs.Failure("%s %q not found %s", kind, name, where)
	case 1:
		return found[0], nil
	}
	var nss []string
	for _, o := range found {
		nss = append(nss, o.GetNamespace())
	}
	slices.Sort(nss)
	return nil, errs.Usage("%s %q is in several namespaces (%s): choose one with -n or write %s.<namespace>", kind, name, strings.Join(nss, ", "), name)
}

// servicesOf lists the Kubernetes Services whose selector picks the pod, by name.
func servicesOf(in model.Input, pod *corev1.Pod) []*corev1.Service {
	var out []*corev1.Service
	for _, s := range in.Services {
		if s.Namespace == pod.Namespace && model.SelectorMatches(s.Spec.Selector, pod.Labels) {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b *corev1.Service) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// podsOf lists the pods a Service selects, by name.
func podsOf(in model.Input, svc *corev1.Service) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range in.Pods {
		if p.Namespace == svc.Namespace && model.SelectorMatches(svc.Spec.Selector, p.Labels) {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b *corev1.Pod) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// TargetPort is the pod port a service port forwards to: a named target is looked up in the pod's
// containers, an absent one is the service port.
func TargetPort(sp corev1.ServicePort, pod *corev1.Pod) uint32 {
	tp := sp.TargetPort
	if tp.StrVal != "" {
		if pod != nil {
			for _, c := range pod.Spec.Containers {
				for _, cp := range c.Ports {
					if cp.Name == tp.StrVal {
						return uint32(cp.ContainerPort)
					}
				}
			}
		}
		return 0
	}
	if tp.IntVal != 0 {
		return uint32(tp.IntVal)
	}
	return uint32(sp.Port)
}

// protocolOf is the protocol the mesh model gives a service port.
func protocolOf(m *model.Mesh, host string, port int32) string {
	if s := m.Service(host); s != nil {
		for _, p := range s.Ports {
			if p.Number == uint32(port) {
				return string(p.Protocol)
			}
		}
	}
	return "UDP"
}
