// Package kube builds Kubernetes clients from Skiff's global settings and turns connection failures
// into one-line errors.
package kube

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"

	"skiff.dev/skiff/pkg/config"
	"skiff.dev/skiff/pkg/errs"
)

// Clients bundles the clients commands need; Mapper refreshes itself after CRDs are installed (call Mapper.Reset()).
type Clients struct {
	Config    *rest.Config
	Typed     kubernetes.Interface
	Dynamic   dynamic.Interface
	Discovery discovery.DiscoveryInterface
	Mapper    *restmapper.DeferredDiscoveryRESTMapper
	// Namespace is the namespace from the flags or, failing that, the kubeconfig context.
	Namespace string
}

// RESTConfig loads the kubeconfig the way kubectl does, honouring --kubeconfig and --context.
func RESTConfig(g config.Global) (*rest.Config, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if g.Kubeconfig != "" {
		rules.ExplicitPath = g.Kubeconfig
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: g.Context})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, "", errs.Failure("no usable kubeconfig: %v (set --kubeconfig or KUBECONFIG)", firstLine(err))
	}
	ns := g.Namespace
	if ns == "" {
		if ns, _, err = cc.Namespace(); err != nil || ns == "" {
			ns = "default"
		}
	}
	cfg.QPS, cfg.Burst = 50, 100
	return cfg, ns, nil
}

// New builds all clients for g.
func New(g config.Global) (*Clients, error) {
	cfg, ns, err := RESTConfig(g)
	if err != nil {
		return nil, err
	}
	return FromConfig(cfg, ns)
}

// FromConfig builds all clients from an existing rest.Config (tests use envtest's).
func FromConfig(cfg *rest.Config, namespace string) (*Clients, error) {
	typed, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	cached := memory.NewMemCacheClient(disc)
	return &Clients{
		Config: cfg, Typed: typed, Dynamic: dyn, Discovery: disc,
		Mapper:    restmapper.NewDeferredDiscoveryRESTMapper(cached),
		Namespace: namespace,
	}, nil
}

// Ping checks that the API server answers, returning a one-line error naming the server when it does not.
func (c *Clients) Ping(ctx context.Context) error {
	if _, err := c.Discovery.ServerVersion(); err != nil {
		return errs.Failure("cannot reach the Kubernetes API server at %s: %v", c.Config.Host, firstLine(err))
	}
	return ctx.Err()
}

// Mapping resolves a GroupVersionKind to its resource, refreshing discovery once if it is not known yet.
func (c *Clients) Mapping(gk schemaGK, version string) (*meta.RESTMapping, error) {
	m, err := c.Mapper.RESTMapping(gk, version)
	if err != nil && meta.IsNoMatchError(err) {
		c.Mapper.Reset()
		m, err = c.Mapper.RESTMapping(gk, version)
	}
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %w", gk, err)
	}
	return m, nil
}
