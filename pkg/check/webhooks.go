package check

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"skiff.dev/skiff/pkg/install"
	"skiff.dev/skiff/pkg/version"
)

const (
	groupWebhooks          = "skiff-webhooks"
	nameWebhooksConfigured = "skiff-webhooks-configured"
	nameWebhooksCABundle   = "skiff-webhooks-ca-bundle"
	nameWebhookCertExpiry  = "skiff-webhook-cert-expiry"
)

// webhook is one webhook of a Mutating- or ValidatingWebhookConfiguration, reduced to what the checks read.
type webhook struct {
	config   string // "MutatingWebhookConfiguration/istio-sidecar-injector"
	name     string
	service  *admissionv1.ServiceReference
	caBundle []byte
}

func (w webhook) String() string { return w.config + " webhook " + w.name }

// webhookSet is what the cluster has: Skiff's webhook configurations of both kinds.
type webhookSet struct {
	mutating, validating int
	hooks                []webhook
}

func (in *inspector) webhooks(ctx context.Context) []Result {
	set, err := in.listWebhooks(ctx)
	if err != nil {
		msg := "listing webhook configurations: " + firstLine(err)
		return []Result{
			result(groupWebhooks, nameWebhooksConfigured, StatusError, msg, "check your access to the cluster"),
			result(groupWebhooks, nameWebhooksCABundle, StatusError, "not checked: "+msg, ""),
			result(groupWebhooks, nameWebhookCertExpiry, StatusError, "not checked: "+msg, ""),
		}
	}
	_, svcErr := in.c.Typed.CoreV1().Services(in.ns).Get(ctx, version.ControllerName, metav1.GetOptions{})
	configured := webhooksConfigured(set, in.ns, svcErr == nil)
	if svcErr != nil && !apierrors.IsNotFound(svcErr) {
		configured = result(groupWebhooks, nameWebhooksConfigured, StatusError, "reading the istiod Service: "+firstLine(svcErr), "check your access to the cluster")
	}
	out := []Result{configured}
	bundle, r := caBundle(set)
	out = append(out, r)
	if bundle == nil {
		return append(out, result(groupWebhooks, nameWebhookCertExpiry, StatusError, "not checked: no usable caBundle", "fix "+nameWebhooksCABundle+" first"))
	}
	served, servedErr := in.servedWebhookChain(ctx)
	return append(out, webhookCertExpiry(bundle, served, servedErr, serviceDNSName(in.ns), in.now))
}

func (in *inspector) listWebhooks(ctx context.Context) (webhookSet, error) {
	sel := metav1.ListOptions{LabelSelector: install.LabelManagedBy + "=" + install.ManagedByValue}
	var set webhookSet
	ar := in.c.Typed.AdmissionregistrationV1()
	mut, err := ar.MutatingWebhookConfigurations().List(ctx, sel)
	if err != nil {
		return set, err
	}
	for _, c := range mut.Items {
		set.mutating++
		for _, w := range c.Webhooks {
			set.hooks = append(set.hooks, webhook{config: "MutatingWebhookConfiguration/" + c.Name, name: w.Name, service: w.ClientConfig.Service, caBundle: w.ClientConfig.CABundle})
		}
	}
	val, err := ar.ValidatingWebhookConfigurations().List(ctx, sel)
	if err != nil {
		return set, err
	}
	for _, c := range val.Items {
		set.validating++
		for _, w := range c.Webhooks {
			set.hooks = append(set.hooks, webhook{config: "ValidatingWebhookConfiguration/" + c.Name, name: w.Name, service: w.ClientConfig.Service, caBundle: w.ClientConfig.CABundle})
		}
	}
	return set, nil
}

// webhooksConfigured wants both kinds of configuration, every webhook calling the istiod Service in the
// mesh namespace, and that Service to exist.
func webhooksConfigured(set webhookSet, ns string, serviceExists bool) Result {
	fail := func(msg string) Result {
		return result(groupWebhooks, nameWebhooksConfigured, StatusError, msg, "reinstall with 'skiff install' to restore the webhook configurations")
	}
	switch {
	case set.mutating == 0:
		return fail("no sidecar injector MutatingWebhookConfiguration installed by Skiff")
	case set.validating == 0:
		return fail("no ValidatingWebhookConfiguration installed by Skiff")
	}
	for _, w := range set.hooks {
		if w.service == nil {
			return fail(w.String() + " calls a URL, not the istiod Service")
		}
		if w.service.Namespace != ns || !strings.HasPrefix(w.service.Name, version.ControllerName) {
			return fail(fmt.Sprintf("%s calls Service %s/%s, not %s/%s", w, w.service.Namespace, w.service.Name, ns, version.ControllerName))
		}
	}
	if !serviceExists {
		return result(groupWebhooks, nameWebhooksConfigured, StatusError, fmt.Sprintf("the webhooks call Service %s/%s, which does not exist", ns, version.ControllerName),
			"reinstall with 'skiff install' to restore the Service")
	}
	return result(groupWebhooks, nameWebhooksConfigured, StatusOK,
		fmt.Sprintf("%d webhooks in %d configurations call Service %s/%s", len(set.hooks), set.mutating+set.validating, ns, version.ControllerName), "")
}

// caBundle wants every webhook to carry a caBundle of parseable certificates; it returns the certificates
// of all bundles (deduplicated) for the expiry check, nil when any bundle is unusable.
func caBundle(set webhookSet) ([]*x509.Certificate, Result) {
	hint := "the controller writes the caBundle when it starts; check that it is running (" + nameControllerReady + ") and its logs"
	if len(set.hooks) == 0 {
		return nil, result(groupWebhooks, nameWebhooksCABundle, StatusError, "no webhooks to check", "fix "+nameWebhooksConfigured+" first")
	}
	var certs []*x509.Certificate
	seen := map[string]bool{}
	for _, w := range set.hooks {
		if len(w.caBundle) == 0 {
			return nil, result(groupWebhooks, nameWebhooksCABundle, StatusError, w.String()+" has no caBundle", hint)
		}
		cs, err := parseCerts(w.caBundle)
		if err != nil {
			return nil, result(groupWebhooks, nameWebhooksCABundle, StatusError, fmt.Sprintf("%s: caBundle: %v", w, err), hint)
		}
		for _, c := range cs {
			if !seen[string(c.Raw)] {
				seen[string(c.Raw)] = true
				certs = append(certs, c)
			}
		}
	}
	return certs, result(groupWebhooks, nameWebhooksCABundle, StatusOK, fmt.Sprintf("all %d webhooks have a caBundle (%s)", len(set.hooks), count(len(certs), "certificate", "certificates")), "")
}

// webhookCertExpiry judges the caBundle certificates' expiry and, when the webhook could be reached, that
// the certificate it serves is valid now for the Service's DNS name and chains to the caBundle.
// servedErr is why the served chain could not be read (the bundle alone is then judged).
func webhookCertExpiry(bundle []*x509.Certificate, served []*x509.Certificate, servedErr error, dnsName string, now time.Time) Result {
	hint := "rotate the mesh CA (see docs/checks.md) and restart istiod so the webhooks get a fresh caBundle"
	status, msg := expiry("caBundle certificate", bundle, now)
	if status == StatusError {
		return result(groupWebhooks, nameWebhookCertExpiry, status, msg, hint)
	}
	if servedErr != nil {
		var skip *notReachable
		if errors.As(servedErr, &skip) {
			return result(groupWebhooks, nameWebhookCertExpiry, status, msg+"; served certificate not checked ("+skip.reason+")", hint)
		}
		return result(groupWebhooks, nameWebhookCertExpiry, StatusError, "the webhook's serving certificate: "+firstLine(servedErr),
			"check the istiod pod's logs; the webhook must serve TLS on port 15017")
	}
	if err := verifyChain(served, bundle, dnsName, now); err != nil {
		return result(groupWebhooks, nameWebhookCertExpiry, StatusError, "the certificate the webhook serves does not verify against the caBundle: "+err.Error(),
			"restart istiod so it reissues its serving certificate and rewrites the caBundle")
	}
	left := served[0].NotAfter.Sub(now)
	return result(groupWebhooks, nameWebhookCertExpiry, status, fmt.Sprintf("%s; the served certificate chains to it (%s left)", msg, days(left)), hint)
}

// verifyChain verifies a served chain (leaf first) for dnsName against the bundle as roots.
func verifyChain(chain, bundle []*x509.Certificate, dnsName string, now time.Time) error {
	if len(chain) == 0 {
		return fmt.Errorf("no certificate served")
	}
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	for _, c := range bundle {
		roots.AddCert(c)
	}
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: dnsName, CurrentTime: now})
	return err
}

func serviceDNSName(ns string) string { return version.ControllerName + "." + ns + ".svc" }
