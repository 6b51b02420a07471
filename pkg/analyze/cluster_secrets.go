package analyze

import (
	"context"
	"encoding/json"
	"maps"

	yaml "go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"skiff.dev/skiff/pkg/errs"
	"skiff.dev/skiff/pkg/kube"
	"skiff.dev/skiff/pkg/model"
)

// secretFieldSelector skips Secrets that are numerous, large and never gateway credentials, as the
// controller's watch does.
const secretFieldSelector = "type!=" + string(corev1.SecretTypeServiceAccountToken) + ",type!=helm.sh/release.v1"

// loadClusterSecrets lists the cluster's Secrets for the gateway credential checks, keeping only the data keys
// credentials are read from (model.CredentialKeys): the analysis never holds other secret data. listed is
// false when the user may not list Secrets; the credential checks are then skipped rather than reporting
// every credential as missing.
func loadClusterSecrets(ctx context.Context, c *kube.Clients, dec *decoder) (resources []*Resource, listed bool, err error) {
	list, err := c.Typed.CoreV1().Secrets("").List(ctx, metav1.ListOptions{FieldSelector: secretFieldSelector})
	if err != nil {
		if apierrors.IsForbidden(err) || apierrors.IsNotFound(err) {
			return nil, false, nil
		}
		return nil, false, errs.Failure("listing secrets: %v", err)
	}
	keep := model.CredentialKeys()
	for i := range list.Items {
		s := &list.Items[i]
		slim := corev1.Secret{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
			ObjectMeta: metav1.ObjectMeta{Name: s.Name, Namespace: s.Namespace, Labels: s.Labels, Annotations: s.Annotations},
			Type:       s.Type,
		}
		if _, ok := s.Annotations[corev1.LastAppliedConfigAnnotation]; ok { // a copy of all the data
			slim.Annotations = maps.Clone(s.Annotations)
			delete(slim.Annotations, corev1.LastAppliedConfigAnnotation)
		}
		for _, k := range keep {
			if v, ok := s.Data[k]; ok {
				if slim.Data == nil {
					slim.Data = map[string][]byte{}
				}
				slim.Data[k] = v
			}
		}
		b, err := json.Marshal(&slim)
		if err != nil {
			return nil, false, errs.Failure("encoding secret %s/%s: %v", s.Namespace, s.Name, err)
		}
		var n yaml.Node
		if err := yaml.Unmarshal(b, &n); err != nil || len(n.Content) == 0 {
			continue
		}
		if r, _, p := dec.decode(document{root: n.Content[0]}, Origin{Cluster: true}); p == nil {
			resources = append(resources, r)
		}
	}
	return resources, true, nil
}
