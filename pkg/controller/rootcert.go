package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	corev1listers "k8s.io/client-go/listers/core/v1"
)

// RootCertConfigMap is the ConfigMap Istio's sidecar template mounts to verify the control plane and peers.
const (
	RootCertConfigMap = "istio-ca-root-cert"
	rootCertKey       = "root-cert.pem"
)

// rootCertPublisher keeps istio-ca-root-cert current in every active namespace. published remembers
// namespaces already done so a steady state costs no API calls; it is owned by the push loop.
type rootCertPublisher struct {
	kube       kubernetes.Interface
	namespaces corev1listers.NamespaceLister
	rootPEM    string
	published  map[string]bool
}

func (p *rootCertPublisher) publish(ctx context.Context) error {
	list, err := p.namespaces.List(labels.Everything())
	if err != nil {
		return err
	}
	for _, ns := range list {
		if p.published[ns.Name] || ns.Status.Phase == corev1.NamespaceTerminating {
			continue
		}
		if err := p.ensure(ctx, ns.Name); err != nil {
			return fmt.Errorf("namespace %s: %w", ns.Name, err)
		}
		p.published[ns.Name] = true
	}
	return nil
}

func (p *rootCertPublisher) ensure(ctx context.Context, namespace string) error {
	cms := p.kube.CoreV1().ConfigMaps(namespace)
	cm, err := cms.Get(ctx, RootCertConfigMap, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = cms.Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: RootCertConfigMap, Namespace: namespace, Labels: map[string]string{"istio.io/config": "true"}},
			Data:       map[string]string{rootCertKey: p.rootPEM},
		}, metav1.CreateOptions{})
		return err
	}
	if err != nil || cm.Data[rootCertKey] == p.rootPEM {
		return err
	}
	cm = cm.DeepCopy()
	if cm.Data == nil {
		cm.Data = map[string]string{}
	}
	cm.Data[rootCertKey] = p.rootPEM
	_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
	return err
}
