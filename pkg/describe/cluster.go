package describe

import (
	"context"

	istioclient "istio.io/client-go/pkg/clientset/versioned"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"skiff.dev/skiff/pkg/errs"
	"skiff.dev/skiff/pkg/kube"
	"skiff.dev/skiff/pkg/model"
)

// loadCluster lists what the mesh model is built from in every namespace. Istio kinds whose CRDs are not
// installed are skipped, as the control plane does.
func loadCluster(ctx context.Context, c *kube.Clients) (model.Input, error) {
	var in model.Input
	if err := c.Ping(ctx); err != nil {
		return in, err
	}
	ic, err := istioclient.NewForConfig(c.Config)
	if err != nil {
		return in, errs.Failure("building Istio client: %v", err)
	}
	all := metav1.ListOptions{}
	core := c.Typed.CoreV1()
	if l, err := core.Services("").List(ctx, all); err != nil {
		return in, listErr("services", err)
	} else {
		in.Services = ptrs(l.Items)
	}
	if l, err := core.Pods("").List(ctx, all); err != nil {
		return in, listErr("pods", err)
	} else {
		in.Pods = ptrs(l.Items)
	}
	if l, err := c.Typed.DiscoveryV1().EndpointSlices("").List(ctx, all); err != nil {
		return in, listErr("endpointslices", err)
	} else {
		in.EndpointSlices = ptrs(l.Items)
	}
	net, sec := ic.NetworkingV1(), ic.SecurityV1()
	optional := []struct {
		resource string
		list     func() error
	}{
		{"virtualservices", func() error {
			l, err := net.VirtualServices("").List(ctx, all)
			if err == nil {
				in.VirtualServices = l.Items
			}
			return err
		}},
		{"destinationrules", func() error {
			l, err := net.DestinationRules("").List(ctx, all)
			if err == nil {
				in.DestinationRules = l.Items
			}
			return err
		}},
		{"serviceentries", func() error {
			l, err := net.ServiceEntries("").List(ctx, all)
			if err == nil {
				in.ServiceEntries = l.Items
			}
			return err
		}},
		{"gateways", func() error {
			l, err := net.Gateways("").List(ctx, all)
			if err == nil {
				in.Gateways = l.Items
			}
			return err
		}},
		{"sidecars", func() error {
			l, err := net.Sidecars("").List(ctx, all)
			if err == nil {
				in.Sidecars = l.Items
			}
			return err
		}},
		{"peerauthentications", func() error {
			l, err := sec.PeerAuthentications("").List(ctx, all)
			if err == nil {
				in.PeerAuthentications = l.Items
			}
			return err
		}},
		{"authorizationpolicies", func() error {
			l, err := sec.AuthorizationPolicies("").List(ctx, all)
			if err == nil {
				in.AuthorizationPolicies = l.Items
			}
			return err
		}},
	}
	for _, o := range optional {
		if err := o.list(); err != nil && !apierrors.IsNotFound(err) {
			return in, listErr(o.resource, err)
		}
	}
	return in, nil
}

func listErr(resource string, err error) error {
	return errs.Failure("listing %s: %v", resource, err)
}

func ptrs[T any](items []T) []*T {
	out := make([]*T, len(items))
	for i := range items {
		out[i] = &items[i]
	}
	return out
}
