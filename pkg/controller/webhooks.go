package controller

import (
	"bytes"
	"context"
	"fmt"

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
	adm := p.kube.AdmissionregistrationV1()
	for _, name := range p.mutating {
		cfg, err := adm.MutatingWebhookConfigurations().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("mutating webhook configuration %s: %w", name, err)
		}
		changed := false
		for i := range cfg.Webhooks {
			if !bytes.Equal(cfg.Webhooks[i].ClientConfig.CABundle, p.rootPEM) {
				cfg.Webhooks[i].ClientConfig.CABundle = p.rootPEM
				changed = true
			}
		}
		if changed {
			if _, err := adm.MutatingWebhookConfigurations().Update(ctx, cfg, metav1.UpdateOptions{}); err != nil {
				return fmt.Errorf("mutating webhook configuration %s: %w", name, err)
			}
		}
	}
	for _, name := range p.validating {
		cfg, err := adm.ValidatingWebhookConfigurations().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("validating webhook configuration %s: %w", name, err)
		}
		changed := false
		for i := range cfg.Webhooks {
			if !bytes.Equal(cfg.Webhooks[i].ClientConfig.CABundle, p.rootPEM) {
				cfg.Webhooks[i].ClientConfig.CABundle = p.rootPEM
				changed = true
			}
		}
		if changed {
			if _, err := adm.ValidatingWebhookConfigurations().Update(ctx, cfg, metav1.UpdateOptions{}); err != nil {
				return fmt.Errorf("validating webhook configuration %s: %w", name, err)
			}
		}
	}
	return nil
}
