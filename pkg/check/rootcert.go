package check

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"skiff.dev/skiff/pkg/ca"
)

const (
	groupCertificates  = "skiff-certificates"
	nameRootCertExpiry = "skiff-root-cert-expiry"

	// Where Istio (and Skiff's controller) keep the mesh root: the ConfigMap published to every namespace,
	// the user's plugged-in CA, and the self-signed root istiod stores for itself.
	rootCertConfigMap  = "istio-ca-root-cert"
	userCASecret       = "cacerts"
	selfSignedCASecret = "istio-ca-secret"
)

// rootSource is where the root was found and its PEM.
type rootSource struct {
	where string
	pem   []byte
}

func (in *inspector) rootCertExpiry(ctx context.Context) Result {
	src, err := in.findRoot(ctx)
	if err != nil {
		return result(groupCertificates, nameRootCertExpiry, StatusError, err.Error(),
			"the controller publishes "+rootCertConfigMap+" when it starts; check "+nameControllerReady+" and its logs")
	}
	return rootExpiry(src, in.now)
}

// findRoot prefers the published ConfigMap (what workloads actually trust), then the CA Secrets.
func (in *inspector) findRoot(ctx context.Context) (rootSource, error) {
	cm, err := in.c.Typed.CoreV1().ConfigMaps(in.ns).Get(ctx, rootCertConfigMap, metav1.GetOptions{})
	if err == nil && cm.Data[ca.SecretRootCert] != "" {
		return rootSource{where: "ConfigMap " + in.ns + "/" + rootCertConfigMap, pem: []byte(cm.Data[ca.SecretRootCert])}, nil
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return rootSource{}, fmt.Errorf("reading ConfigMap %s/%s: %s", in.ns, rootCertConfigMap, firstLine(err))
	}
	for _, s := range []struct{ name, key string }{{userCASecret, ca.SecretRootCert}, {selfSignedCASecret, ca.SecretCACert}} {
		sec, err := in.c.Typed.CoreV1().Secrets(in.ns).Get(ctx, s.name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return rootSource{}, fmt.Errorf("reading Secret %s/%s: %s", in.ns, s.name, firstLine(err))
		}
		if len(sec.Data[s.key]) > 0 {
			return rootSource{where: "Secret " + in.ns + "/" + s.name, pem: sec.Data[s.key]}, nil
		}
	}
	return rootSource{}, fmt.Errorf("no root certificate: neither ConfigMap %s nor Secret %s or %s in namespace %s has one", rootCertConfigMap, userCASecret, selfSignedCASecret, in.ns)
}

func rootExpiry(src rootSource, now time.Time) Result {
	certs, err := parseCerts(src.pem)
	if err != nil {
		return result(groupCertificates, nameRootCertExpiry, StatusError, fmt.Sprintf("%s: %s: %v", src.where, ca.SecretRootCert, err),
			"delete the ConfigMap so the controller republishes it, or fix the cacerts Secret")
	}
	status, msg := expiry("root certificate", certs, now)
	return result(groupCertificates, nameRootCertExpiry, status, msg+" ("+src.where+")",
		"rotate the mesh root before it expires: plug in a new root with the cacerts Secret and restart istiod")
}
