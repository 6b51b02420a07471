package controller

import (
	"bytes"
	"context"
	"fmt"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// caBundlePatcher keeps the caBundle of the controller's webhook configurations equal to the mesh root,
// which signs the webhook port's serving certificate, so the API server trusts the controller.
type caBundlePatcher struct {
	kube       kubernetes.Interface
	rootPEM    []byte
	mutating   []string
	validating []string
}

// patch updates each named configuration whose webhooks do not carry the root yet; missing ones are
// skipped (the installer may not have created them, or the revision has none).
func (p *caBundlePatcher) patch(ctx context.Context) error {
	mutating := p.kube.AdmissionregistrationV1().MutatingWebhookConfigurations()
	err := patchEach(ctx, p.rootPEM, "mutating", p.mutating, mutating.Get,
		func(c *admissionregistrationv1.MutatingWebhookConfiguration) []*admissionregistrationv1.WebhookClientConfig {
			out := make([]*admissionregistrationv1.WebhookClientConfig, len(c.Webhooks))
			for i := range c.Webhooks {
				out[i] = &c.Webhooks[i].ClientConfig
			}
			return out
		}, mutating.Update)
	if err != nil {
		return err
	}
	validating := p.kube.AdmissionregistrationV1().ValidatingWebhookConfigurations()
	return patchEach(ctx, p.rootPEM, "validating", p.validating, validating.Get,
		func(c *admissionregistrationv1.ValidatingWebhookConfiguration) []*admissionregistrationv1.WebhookClientConfig {
			out := make([]*admissionregistrationv1.WebhookClientConfig, len(c.Webhooks))
			for i := range c.Webhooks {
				out[i] = &c.Webhooks[i].ClientConfig
			}
			return out
		}, validating.Update)
}

// patchEach is the get/compare/update loop both configuration kinds share; their Go types differ only in
// the webhook element type, so clientConfigs hands out the fields to patch.
func patchEach[T any](ctx context.Context, rootPEM []byte, kind string, names []string,
	get func(context.Context, string, metav1.GetOptions) (T, error),
	clientConfigs func(T) []*admissionregistrationv1.WebhookClientConfig,
	update func(context.Context, T, metav1.UpdateOptions) (T, error),
) error {
	for _, name := range names {
		cfg, err := get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("%s webhook configuration %s: %w", kind, name, err)
		}
		changed := false
		for _, cc := range clientConfigs(cfg) {
			if !bytes.Equal(cc.CABundle, rootPEM) {
				cc.CABundle = rootPEM
				changed = true
			}
		}
		if changed {
			if _, err := update(ctx, cfg, metav1.UpdateOptions{}); err != nil {
				return fmt.Errorf("%s webhook configuration %s: %w", kind, name, err)
			}
		}
	}
	return nil
}
