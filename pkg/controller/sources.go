package controller

import (
	"fmt"
	"log/slog"

	istioclient "istio.io/client-go/pkg/clientset/versioned"
	istioinformers "istio.io/client-go/pkg/informers/externalversions"
	networkingv1listers "istio.io/client-go/pkg/listers/networking/v1"
	securityv1listers "istio.io/client-go/pkg/listers/security/v1"
	telemetryv1listers "istio.io/client-go/pkg/listers/telemetry/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/discovery"
	kubeinformers "k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corev1listers "k8s.io/client-go/listers/core/v1"
	discoveryv1listers "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"

	"skiff.dev/skiff/pkg/model"
)

// sources are the informers the mesh model is built from. Istio kinds whose CRDs are not installed are
// simply absent: the control plane still serves Kubernetes services.
type sources struct {
	kube  kubeinformers.SharedInformerFactory
	istio istioinformers.SharedInformerFactory

	services       corev1listers.ServiceLister
	endpointSlices discoveryv1listers.EndpointSliceLister
	pods           corev1listers.PodLister
	namespaces     corev1listers.NamespaceLister

	virtualServices        networkingv1listers.VirtualServiceLister
	destinationRules       networkingv1listers.DestinationRuleLister
	serviceEntries         networkingv1listers.ServiceEntryLister
	gateways               networkingv1listers.GatewayLister
	sidecars               networkingv1listers.SidecarLister
	peerAuthentications    securityv1listers.PeerAuthenticationLister
	authorizationPolicies  securityv1listers.AuthorizationPolicyLister
	requestAuthentications securityv1listers.RequestAuthenticationLister
	telemetries            telemetryv1listers.TelemetryLister

	synced []cache.InformerSynced
}

// newSources registers every informer with onChange as its event handler.
func newSources(kube kubernetes.Interface, istio istioclient.Interface, disc discovery.DiscoveryInterface, log *slog.Logger, onChange func()) (*sources, error) {
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { onChange() },
		UpdateFunc: func(any, any) { onChange() },
		DeleteFunc: func(any) { onChange() },
	}
	s := &sources{
		kube:  kubeinformers.NewSharedInformerFactoryWithOptions(kube, 0, kubeinformers.WithTransform(slimPod)),
		istio: istioinformers.NewSharedInformerFactory(istio, 0),
	}
	add := func(inf cache.SharedIndexInformer) error {
		if _, err := inf.AddEventHandler(handler); err != nil {
			return err
		}
		s.synced = append(s.synced, inf.HasSynced)
		return nil
	}
	core := s.kube.Core().V1()
	for _, inf := range []cache.SharedIndexInformer{core.Services().Informer(), s.kube.Discovery().V1().EndpointSlices().Informer(), core.Pods().Informer(), core.Namespaces().Informer()} {
		if err := add(inf); err != nil {
			return nil, err
		}
	}
	s.services = core.Services().Lister()
	s.endpointSlices = s.kube.Discovery().V1().EndpointSlices().Lister()
	s.pods = core.Pods().Lister()
	s.namespaces = core.Namespaces().Lister()

	served := servedResources(disc, log)
	net := s.istio.Networking().V1()
	sec := s.istio.Security().V1()
	tel := s.istio.Telemetry().V1()
	optional := []struct {
		gvr  string
		inf  cache.SharedIndexInformer
		bind func()
	}{
		{"networking.istio.io/v1/virtualservices", net.VirtualServices().Informer(), func() { s.virtualServices = net.VirtualServices().Lister() }},
		{"networking.istio.io/v1/destinationrules", net.DestinationRules().Informer(), func() { s.destinationRules = net.DestinationRules().Lister() }},
		{"networking.istio.io/v1/serviceentries", net.ServiceEntries().Informer(), func() { s.serviceEntries = net.ServiceEntries().Lister() }},
		{"networking.istio.io/v1/gateways", net.Gateways().Informer(), func() { s.gateways = net.Gateways().Lister() }},
		{"networking.istio.io/v1/sidecars", net.Sidecars().Informer(), func() { s.sidecars = net.Sidecars().Lister() }},
		{"security.istio.io/v1/peerauthentications", sec.PeerAuthentications().Informer(), func() { s.peerAuthentications = sec.PeerAuthentications().Lister() }},
		{"security.istio.io/v1/authorizationpolicies", sec.AuthorizationPolicies().Informer(), func() { s.authorizationPolicies = sec.AuthorizationPolicies().Lister() }},
		{"security.istio.io/v1/requestauthentications", sec.RequestAuthentications().Informer(), func() { s.requestAuthentications = sec.RequestAuthentications().Lister() }},
		{"telemetry.istio.io/v1/telemetries", tel.Telemetries().Informer(), func() { s.telemetries = tel.Telemetries().Lister() }},
	}
	for _, o := range optional {
		if !served[o.gvr] {
			log.Warn("Istio kind not served by the API server; its configuration is ignored until restart", "resource", o.gvr)
			continue
		}
		if err := add(o.inf); err != nil {
			return nil, err
		}
		o.bind()
	}
	return s, nil
}

// servedResources lists group/version/resource names the API server serves, for the Istio groups.
func servedResources(disc discovery.DiscoveryInterface, log *slog.Logger) map[string]bool {
	out := map[string]bool{}
	for _, gv := range []string{"networking.istio.io/v1", "security.istio.io/v1", "telemetry.istio.io/v1"} {
		list, err := disc.ServerResourcesForGroupVersion(gv)
		if err != nil {
			log.Debug("group version not served", "groupVersion", gv, "error", err)
			continue
		}
		for _, r := range list.APIResources {
			out[gv+"/"+r.Name] = true
		}
	}
	return out
}

func (s *sources) start(stop <-chan struct{}) {
	s.kube.Start(stop)
	s.istio.Start(stop)
}

// input snapshots the informers' caches. The objects are shared with the caches and must not be changed;
// model.Build only reads them.
func (s *sources) input(domainSuffix string) (model.Input, error) {
	in := model.Input{DomainSuffix: domainSuffix}
	var err error
	all := labels.Everything()
	if in.Services, err = s.services.List(all); err != nil {
		return in, fmt.Errorf("listing services: %w", err)
	}
	if in.EndpointSlices, err = s.endpointSlices.List(all); err != nil {
		return in, fmt.Errorf("listing endpoint slices: %w", err)
	}
	if in.Pods, err = s.pods.List(all); err != nil {
		return in, fmt.Errorf("listing pods: %w", err)
	}
	if s.virtualServices != nil {
		if in.VirtualServices, err = s.virtualServices.List(all); err != nil {
			return in, err
		}
	}
	if s.destinationRules != nil {
		if in.DestinationRules, err = s.destinationRules.List(all); err != nil {
			return in, err
		}
	}
	if s.serviceEntries != nil {
		if in.ServiceEntries, err = s.serviceEntries.List(all); err != nil {
			return in, err
		}
	}
	if s.gateways != nil {
		if in.Gateways, err = s.gateways.List(all); err != nil {
			return in, err
		}
	}
	if s.sidecars != nil {
		if in.Sidecars, err = s.sidecars.List(all); err != nil {
			return in, err
		}
	}
	if s.peerAuthentications != nil {
		if in.PeerAuthentications, err = s.peerAuthentications.List(all); err != nil {
			return in, err
		}
	}
	if s.authorizationPolicies != nil {
		if in.AuthorizationPolicies, err = s.authorizationPolicies.List(all); err != nil {
			return in, err
		}
	}
	if s.requestAuthentications != nil {
		if in.RequestAuthentications, err = s.requestAuthentications.List(all); err != nil {
			return in, err
		}
	}
	if s.telemetries != nil {
		if in.Telemetries, err = s.telemetries.List(all); err != nil {
			return in, err
		}
	}
	return in, nil
}

// slimPod keeps only what the model reads from pods (labels, service account), which cuts the cache's
// memory several-fold in large clusters.
func slimPod(obj any) (any, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	return &corev1.Pod{
		TypeMeta:   pod.TypeMeta,
		ObjectMeta: metaWithoutManagedFields(pod),
		Spec:       corev1.PodSpec{ServiceAccountName: pod.Spec.ServiceAccountName, NodeName: pod.Spec.NodeName},
		Status:     corev1.PodStatus{PodIP: pod.Status.PodIP, Phase: pod.Status.Phase},
	}, nil
}

func metaWithoutManagedFields(pod *corev1.Pod) metav1.ObjectMeta {
	m := *pod.ObjectMeta.DeepCopy()
	m.ManagedFields = nil
	m.Annotations = nil
	return m
}
