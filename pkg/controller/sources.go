package controller

import (
	"bytes"
	"fmt"
	"log/slog"
	"maps"

	istioclient "istio.io/client-go/pkg/clientset/versioned"
	istioinformers "istio.io/client-go/pkg/informers/externalversions"
	networkingv1listers "istio.io/client-go/pkg/listers/networking/v1"
	securityv1listers "istio.io/client-go/pkg/listers/security/v1"
	telemetryv1listers "istio.io/client-go/pkg/listers/telemetry/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
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
	// secretsFactory watches Secrets apart: its own field selector and transform (see slimSecret).
	secretsFactory kubeinformers.SharedInformerFactory

	services       corev1listers.ServiceLister
	endpointSlices discoveryv1listers.EndpointSliceLister
	pods           corev1listers.PodLister
	namespaces     corev1listers.NamespaceLister
	secrets        corev1listers.SecretLister

	virtualServices        networkingv1listers.VirtualServiceLister
	destinationRules       networkingv1listers.DestinationRuleLister
	serviceEntries         networkingv1listers.ServiceEntryLister
	gateways               networkingv1listers.GatewayLister
	sidecars               networkingv1listers.SidecarLister
	peerAuthentications    securityv1listers.PeerAuthenticationLister
	authorizationPolicies  securityv1listers.AuthorizationPolicyLister
	requestAuthentications securityv1listers.RequestAuthenticationLister
	telemetries            telemetryv1listers.TelemetryLister
	meshConfig             *meshConfigSource // see meshconfig.go

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
		secretsFactory: kubeinformers.NewSharedInformerFactoryWithOptions(kube, 0, kubeinformers.WithTransform(slimSecret),
			kubeinformers.WithTweakListOptions(func(o *metav1.ListOptions) { o.FieldSelector = model.SecretFieldSelector })),
	}
	// The controller writes the status of Istio objects; a status-only update must not cause a rebuild.
	istioHandler := handler
	istioHandler.UpdateFunc = func(old, obj any) {
		if !statusOnlyUpdate(old, obj) {
			onChange()
		}
	}
	add := func(inf cache.SharedIndexInformer, h cache.ResourceEventHandler) error {
		if _, err := inf.AddEventHandler(h); err != nil {
			return err
		}
		s.synced = append(s.synced, inf.HasSynced)
		return nil
	}
	core := s.kube.Core().V1()
	for _, inf := range []cache.SharedIndexInformer{core.Services().Informer(), s.kube.Discovery().V1().EndpointSlices().Informer(), core.Pods().Informer(), core.Namespaces().Informer()} {
		if err := add(inf, handler); err != nil {
			return nil, err
		}
	}
	s.services = core.Services().Lister()
	s.endpointSlices = s.kube.Discovery().V1().EndpointSlices().Lister()
	s.pods = core.Pods().Lister()
	s.namespaces = core.Namespaces().Lister()
	if err := add(s.secretsFactory.Core().V1().Secrets().Informer(), secretHandler(onChange)); err != nil {
		return nil, err
	}
	s.secrets = s.secretsFactory.Core().V1().Secrets().Lister()

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
		if err := add(o.inf, istioHandler); err != nil {
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
	s.secretsFactory.Start(stop)
}

// input snapshots the informers' caches. The objects are shared with the caches and must not be changed;
// model.Build only reads them.
func (s *sources) input(domainSuffix string) (model.Input, error) {
	in := model.Input{DomainSuffix: domainSuffix, MeshConfig: s.meshConfig.current()}
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
	if in.Secrets, err = s.secrets.List(all); err != nil {
		return in, fmt.Errorf("listing secrets: %w", err)
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

// statusOnlyUpdate says whether an Istio object changed in nothing the model reads: same generation (so
// the same spec), labels and annotations.
func statusOnlyUpdate(old, obj any) bool {
	a, errA := meta.Accessor(old)
	b, errB := meta.Accessor(obj)
	if errA != nil || errB != nil {
		return false
	}
	return a.GetGeneration() == b.GetGeneration() && a.GetGeneration() != 0 && b.GetDeletionTimestamp() == nil &&
		maps.Equal(a.GetLabels(), b.GetLabels()) && maps.Equal(a.GetAnnotations(), b.GetAnnotations())
}

// secretHandler rebuilds only for Secrets that hold credential keys, and on updates only when those
// changed: most Secrets are application data the mesh never reads.
func secretHandler(onChange func()) cache.ResourceEventHandler {
	relevant := func(obj any) bool {
		if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		sec, ok := obj.(*corev1.Secret)
		return !ok || len(sec.Data) > 0
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if relevant(obj) {
				onChange()
			}
		},
		UpdateFunc: func(old, obj any) {
			a, okA := old.(*corev1.Secret)
			b, okB := obj.(*corev1.Secret)
			if !okA || !okB || a.Type != b.Type || !maps.EqualFunc(a.Data, b.Data, bytes.Equal) {
				onChange()
			}
		},
		DeleteFunc: func(obj any) {
			if relevant(obj) {
				onChange()
			}
		},
	}
}

// slimSecret keeps only the data keys gateway credentials are read from (model.CredentialKeys), and no
// annotations or managed fields: kubectl's last-applied annotation would hold a second copy of the key.
func slimSecret(obj any) (any, error) {
	sec, ok := obj.(*corev1.Secret)
	if !ok {
		return obj, nil
	}
	return &corev1.Secret{
		TypeMeta: sec.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name: sec.Name, Namespace: sec.Namespace, UID: sec.UID, ResourceVersion: sec.ResourceVersion,
			CreationTimestamp: sec.CreationTimestamp, Labels: sec.Labels,
		},
		Type: sec.Type,
		Data: model.CredentialData(sec.Data),
	}, nil
}
