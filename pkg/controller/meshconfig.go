package controller

import (
	"log/slog"
	"sync"
	"time"

	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"skiff.dev/skiff/pkg/model"
)

// meshConfigSource follows the mesh config ConfigMap (istio, or istio-<revision>, key "mesh") in the mesh
// namespace, so that a change of Telemetry providers or access log settings rebuilds the mesh. An update
// that does not parse keeps the last good config, as istiod does; a missing ConfigMap means defaults.
type meshConfigSource struct {
	lister corev1listers.ConfigMapNamespaceLister
	name   string
	log    *slog.Logger

	mu      sync.Mutex
	version string // resourceVersion of the ConfigMap last parsed
	last    *meshv1alpha1.MeshConfig
}

// watchMeshConfig registers the ConfigMap informer on the sources' Kubernetes factory (started with the
// others), watching only that one object. It is registered by type, so the factory's ConfigMap informer
// is this filtered one.
func (s *sources) watchMeshConfig(namespace, name string, log *slog.Logger, onChange func()) error {
	if name == "" {
		name = model.MeshConfigMapName
	}
	inf := s.kube.InformerFor(&corev1.ConfigMap{}, func(c kubernetes.Interface, resync time.Duration) cache.SharedIndexInformer {
		return coreinformers.NewFilteredConfigMapInformer(c, namespace, resync, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc},
			func(o *metav1.ListOptions) { o.FieldSelector = "metadata.name=" + name })
	})
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { onChange() },
		UpdateFunc: func(any, any) { onChange() },
		DeleteFunc: func(any) { onChange() },
	}); err != nil {
		return err
	}
	s.synced = append(s.synced, inf.HasSynced)
	s.meshConfig = &meshConfigSource{lister: corev1listers.NewConfigMapLister(inf.GetIndexer()).ConfigMaps(namespace), name: name, log: log}
	return nil
}

// current is the mesh config to build the model with; nil (Istio's defaults) before a ConfigMap exists.
func (m *meshConfigSource) current() *meshv1alpha1.MeshConfig {
	if m == nil {
		return nil
	}
	cm, err := m.lister.Get(m.name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		m.version, m.last = "", nil
		return nil
	}
	if cm.ResourceVersion == m.version {
		return m.last
	}
	m.version = cm.ResourceVersion
	mc, err := model.ParseMeshConfig([]byte(cm.Data[model.MeshConfigKey]))
	if err != nil {
		m.log.Error("mesh config not applied; keeping the previous one", "configMap", cm.Namespace+"/"+cm.Name, "error", err)
		return m.last
	}
	m.last = mc
	return mc
}
