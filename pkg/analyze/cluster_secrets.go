package analyze

import (
	"context"
	"maps"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"skiff.dev/skiff/pkg/errs"
	"skiff.dev/skiff/pkg/kube"
	"skiff.dev/skiff/pkg/model"
)

// loadClusterSecrets lists the cluster's Secrets for the gateway credential checks, keeping only the data keys
// credentials are read from (model.CredentialKeys): the analysis never holds other secret data. listed is
// false when the user may not list Secrets; the credential checks are then skipped rather than reporting
// every credential as missing.
func loadClusterSecrets(ctx context.Context, c *kube.Clients, dec *decoder) (resources []*Resource, listed bool, err error) {
	list, err := c.Typed.CoreV1().Secrets("").List(ctx, metav1.ListOptions{FieldSelector: model.SecretFieldSelector})
	if err != nil {
		if apierrors.IsForbidden(err) || apierrors.IsNotFound(err) {
			return nil, false, nil
		}
		return nil, false, errs.Failure("listing secrets: %v", err)
	}
	for i := range list.Items {
		s := &list.Items[i]
		slim := corev1.Secret{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
			ObjectMeta: metav1.ObjectMeta{Name: s.Name, Namespace: s.Namespace, Labels: s.Labels, Annotations: s.Annotations},
			Type:       s.Type,
			Data:       model.CredentialData(s.Data),
		}
		if _, ok := s.Annotations[corev1.LastAppliedConfigAnnotation]; ok { // a copy of all the data
			slim.Annotations = maps.Clone(s.Annotations)
			delete(slim.Annotations, corev1.LastAppliedConfigAnnotation)
		}
		r, _, err := decodeClusterObject(dec, &slim)
		if err != nil {
			return nil, false, errs.Failure("encoding secret %s/%s: %v", s.Namespace, s.Name, err)
		}
		if r != nil {
			resources = append(resources, r)
		}
	}
	return resources, true, nil
}
