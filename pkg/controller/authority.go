package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"skiff.dev/skiff/pkg/ca"
)

// Istio's Secret names: the user's CA, and the self-signed root istiod keeps across restarts.
const (
	userCASecret       = "cacerts"
	selfSignedCASecret = "istio-ca-secret"
	selfSignedRootTTL  = 10 * 365 * 24 * time.Hour
)

// errNoRootYet: no root is stored and this replica may not create one (another replica leads).
var errNoRootYet = errors.New("no mesh root stored yet")

// loadAuthority uses the user's cacerts Secret when there is one, else the stored self-signed root, else
// creates and stores a new self-signed root.
func loadAuthority(ctx context.Context, kube kubernetes.Interface, namespace, trustDomain string) (*ca.Authority, string, error) {
	return loadOrCreateAuthority(ctx, kube, namespace, trustDomain, func() bool { return true })
}

// loadOrCreateAuthority is loadAuthority where only a replica mayCreate allows (the leader) creates the root.
func loadOrCreateAuthority(ctx context.Context, kube kubernetes.Interface, namespace, trustDomain string, mayCreate func() bool) (*ca.Authority, string, error) {
	secrets := kube.CoreV1().Secrets(namespace)
	if s, err := secrets.Get(ctx, userCASecret, metav1.GetOptions{}); err == nil {
		a, err := ca.FromSecret(trustDomain, s)
		return a, "secret " + namespace + "/" + userCASecret, err
	} else if !apierrors.IsNotFound(err) {
		return nil, "", fmt.Errorf("reading %s/%s: %w", namespace, userCASecret, err)
	}
	if s, err := secrets.Get(ctx, selfSignedCASecret, metav1.GetOptions{}); err == nil {
		a, err := ca.FromSecret(trustDomain, s)
		return a, "secret " + namespace + "/" + selfSignedCASecret, err
	} else if !apierrors.IsNotFound(err) {
		return nil, "", fmt.Errorf("reading %s/%s: %w", namespace, selfSignedCASecret, err)
	}
	if !mayCreate() {
		return nil, "", errNoRootYet
	}
	a, err := ca.NewSelfSigned(trustDomain, selfSignedRootTTL)
	if err != nil {
		return nil, "", err
	}
	data, err := a.SecretData()
	if err != nil {
		return nil, "", err
	}
	_, err = secrets.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: selfSignedCASecret, Namespace: namespace},
		Type:       corev1.SecretTypeOpaque,
		Data:       data,
	}, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		// Another replica won the race; use its root so all replicas agree.
		return loadOrCreateAuthority(ctx, kube, namespace, trustDomain, mayCreate)
	}
	if err != nil {
		return nil, "", fmt.Errorf("storing the self-signed root in %s/%s: %w", namespace, selfSignedCASecret, err)
	}
	return a, "new self-signed root (stored in " + namespace + "/" + selfSignedCASecret + ")", nil
}
