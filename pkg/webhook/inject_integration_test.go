package webhook

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	admissionregv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"skiff.dev/skiff/internal/testenv"
	"skiff.dev/skiff/pkg/inject"
)

// TestWebhookWithAPIServer registers a stand-alone injection webhook (real TLS, caBundle from a CA made
// here) with a real kube-apiserver and checks that pods in an istio-injection=enabled namespace come back
// injected while pods elsewhere do not.
func TestWebhookWithAPIServer(t *testing.T) {
	env := testenv.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	caPEM, serverCert := selfSignedServing(t)
	mux := http.NewServeMux()
	mux.Handle("/inject", newHandler(t))
	srv := httptest.NewUnstartedServer(mux)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{serverCert}, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	defer srv.Close()

	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	url := srv.URL + "/inject"
	none := admissionregv1.SideEffectClassNone
	fail := admissionregv1.Fail
	_, err = cs.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, &admissionregv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "skiff-sidecar-injector"},
		Webhooks: []admissionregv1.MutatingWebhook{{
			Name:                    "namespace.sidecar-injector.skiff.dev",
			ClientConfig:            admissionregv1.WebhookClientConfig{URL: &url, CABundle: caPEM},
			Rules:                   []admissionregv1.RuleWithOperations{{Operations: []admissionregv1.OperationType{admissionregv1.Create}, Rule: admissionregv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}}}},
			NamespaceSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"istio-injection": "enabled"}},
			ObjectSelector:          &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: inject.AnnotationInject, Operator: metav1.LabelSelectorOpNotIn, Values: []string{"false"}}}},
			SideEffects:             &none,
			FailurePolicy:           &fail,
			AdmissionReviewVersions: []string{"v1"},
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for name, labels := range map[string]map[string]string{"meshed": {"istio-injection": "enabled"}, "plain": nil} {
		if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	pod := func(name string) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "web"}},
			// The ServiceAccount admission plugin, which sets this in real clusters, is off in testenv.
			Spec: corev1.PodSpec{ServiceAccountName: "default", Containers: []corev1.Container{{Name: "web", Image: "nginx"}}},
		}
	}

	// The API server picks up new webhook configurations asynchronously: dry-run until it is active.
	var injected *corev1.Pod
	lastErr := ""
	for injected == nil || !hasContainer(injected.Spec.Containers, inject.ProxyContainer) {
		if ctx.Err() != nil {
			t.Fatal("the webhook never injected a pod in the labelled namespace")
		}
		injected, err = cs.CoreV1().Pods("meshed").Create(ctx, pod("probe"), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil && err.Error() != lastErr {
			lastErr = err.Error()
			t.Logf("dry run: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}

	got, err := cs.CoreV1().Pods("meshed").Create(ctx, pod("web"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !hasContainer(got.Spec.Containers, inject.ProxyContainer) || !hasContainer(got.Spec.InitContainers, inject.InitContainer) {
		t.Errorf("pod in the labelled namespace was not injected: containers %v, init %v", names(got.Spec.Containers), names(got.Spec.InitContainers))
	}
	if got.Annotations[inject.AnnotationStatus] == "" || got.Labels["security.istio.io/tlsMode"] != "istio" {
		t.Errorf("injected pod lacks the status annotation or tlsMode label: %v %v", got.Annotations, got.Labels)
	}
	if n := len(got.Spec.Containers); n != 2 || got.Spec.Containers[0].Name != "web" {
		t.Errorf("want [web istio-proxy], got %v", names(got.Spec.Containers))
	}

	plain, err := cs.CoreV1().Pods("plain").Create(ctx, pod("web"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if hasContainer(plain.Spec.Containers, inject.ProxyContainer) || plain.Annotations[inject.AnnotationStatus] != "" {
		t.Errorf("pod in an unlabelled namespace was injected: %v", names(plain.Spec.Containers))
	}

	optOut := pod("opt-out")
	optOut.Labels[inject.AnnotationInject] = "false"
	out, err := cs.CoreV1().Pods("meshed").Create(ctx, optOut, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if hasContainer(out.Spec.Containers, inject.ProxyContainer) {
		t.Error("a pod labelled sidecar.istio.io/inject=false was injected")
	}
}

func hasContainer(cs []corev1.Container, name string) bool {
	for _, c := range cs {
		if c.Name == name {
			return true
		}
	}
	return false
}

func names(cs []corev1.Container) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

// selfSignedServing makes a CA and a serving certificate for 127.0.0.1 signed by it.
func selfSignedServing(t *testing.T) (caPEM []byte, serving tls.Certificate) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "skiff-test-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	serving, err = tls.X509KeyPair(
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), serving
}
