package check

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"skiff.dev/skiff/pkg/errs"
	"skiff.dev/skiff/pkg/inject"
	"skiff.dev/skiff/pkg/xds"
)

var now = time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

func wantStatus(t *testing.T, r Result, s Status, msgParts ...string) {
	t.Helper()
	if r.Status != s {
		t.Errorf("%s: status %s, want %s (%s)", r.Name, r.Status, s, r.Message)
	}
	for _, p := range msgParts {
		if !strings.Contains(r.Message, p) {
			t.Errorf("%s: message %q lacks %q", r.Name, r.Message, p)
		}
	}
	if r.Docs != DocsPage+"#"+r.Name {
		t.Errorf("%s: docs %q", r.Name, r.Docs)
	}
	if s != StatusOK && r.Hint == "" {
		t.Errorf("%s: a %s has no hint", r.Name, s)
	}
}

func TestExpiry(t *testing.T) {
	for _, tc := range []struct {
		name     string
		from, to time.Time
		want     Status
		msg      string
	}{
		{"valid for a year", now.Add(-day), now.Add(365 * day), StatusOK, "valid for 365 days more"},
		{"expiring in 10 days", now.Add(-day), now.Add(10 * day), StatusWarning, "expires in 10 days"},
		{"expired", now.Add(-10 * day), now.Add(-day), StatusError, "expired on 2026-11-28"},
		{"not valid yet", now.Add(day), now.Add(365 * day), StatusError, "is not valid until"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCA(t, "root", tc.from, tc.to)
			certs, err := parseCerts(c.pem())
			if err != nil {
				t.Fatal(err)
			}
			s, msg := expiry("root certificate", certs, now)
			if s != tc.want || !strings.Contains(msg, tc.msg) || !strings.Contains(msg, `"root"`) {
				t.Errorf("got %s %q, want %s containing %q", s, msg, tc.want, tc.msg)
			}
		})
	}
	t.Run("the first to expire decides", func(t *testing.T) {
		a, b := newCA(t, "long", now.Add(-day), now.Add(900*day)), newCA(t, "short", now.Add(-day), now.Add(5*day))
		certs, _ := parseCerts(append(a.pem(), b.pem()...))
		if s, msg := expiry("x", certs, now); s != StatusWarning || !strings.Contains(msg, `"short"`) {
			t.Errorf("got %s %q", s, msg)
		}
	})
}

func TestParseCertsRejectsGarbage(t *testing.T) {
	for _, in := range []string{"", "not pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"} {
		if _, err := parseCerts([]byte(in)); err == nil {
			t.Errorf("parseCerts(%q) succeeded", in)
		}
	}
}

func TestRootExpiry(t *testing.T) {
	src := rootSource{where: "ConfigMap istio-system/istio-ca-root-cert", pem: newCA(t, "root", now.Add(-day), now.Add(20*day)).pem()}
	wantStatus(t, rootExpiry(src, now), StatusWarning, "expires in 20 days", "ConfigMap istio-system/istio-ca-root-cert")
	wantStatus(t, rootExpiry(rootSource{where: "Secret x", pem: []byte("junk")}, now), StatusError, "no PEM certificate")
}

func TestDeploymentReady(t *testing.T) {
	two := int32(2)
	d := func(mod func(*appsv1.Deployment)) *appsv1.Deployment {
		d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "istiod", Namespace: "istio-system", Generation: 3}, Spec: appsv1.DeploymentSpec{Replicas: &two},
			Status: appsv1.DeploymentStatus{ObservedGeneration: 3, Replicas: 2, UpdatedReplicas: 2, ReadyReplicas: 2, AvailableReplicas: 2}}
		mod(d)
		return d
	}
	wantStatus(t, deploymentReady(d(func(*appsv1.Deployment) {})), StatusOK, "2 of 2 replicas ready")
	wantStatus(t, deploymentReady(d(func(d *appsv1.Deployment) { d.Status.ReadyReplicas, d.Status.AvailableReplicas = 1, 1 })), StatusError, "1 of 2 replicas ready")
	wantStatus(t, deploymentReady(d(func(d *appsv1.Deployment) { d.Status.ObservedGeneration = 2 })), StatusError, "not rolled out")
	zero := int32(0)
	wantStatus(t, deploymentReady(d(func(d *appsv1.Deployment) { d.Spec.Replicas = &zero })), StatusError, "scaled to 0")
}

func hooks(bundle []byte) webhookSet {
	svc := &admissionv1.ServiceReference{Namespace: "istio-system", Name: "istiod"}
	return webhookSet{mutating: 1, validating: 1, hooks: []webhook{
		{config: "MutatingWebhookConfiguration/istio-sidecar-injector", name: "object.sidecar-injector.istio.io", service: svc, caBundle: bundle},
		{config: "ValidatingWebhookConfiguration/istio-validator-istio-system", name: "rev.validation.istio.io", service: svc, caBundle: bundle},
	}}
}

func TestWebhooksConfigured(t *testing.T) {
	wantStatus(t, webhooksConfigured(hooks(nil), "istio-system", true), StatusOK, "2 webhooks in 2 configurations")
	wantStatus(t, webhooksConfigured(hooks(nil), "istio-system", false), StatusError, "does not exist")
	wantStatus(t, webhooksConfigured(hooks(nil), "other", true), StatusError, "not other/istiod")
	wantStatus(t, webhooksConfigured(webhookSet{validating: 1}, "istio-system", true), StatusError, "no sidecar injector")
	url := hooks(nil)
	url.hooks[1].service = nil
	wantStatus(t, webhooksConfigured(url, "istio-system", true), StatusError, "calls a URL")
}

func TestCABundle(t *testing.T) {
	root := newCA(t, "root", now.Add(-day), now.Add(365*day))
	certs, r := caBundle(hooks(root.pem()))
	wantStatus(t, r, StatusOK, "all 2 webhooks have a caBundle (1 certificate)")
	if len(certs) != 1 {
		t.Errorf("got %d certificates, want the one shared root", len(certs))
	}
	missing := hooks(root.pem())
	missing.hooks[0].caBundle = nil
	certs, r = caBundle(missing)
	wantStatus(t, r, StatusError, "object.sidecar-injector.istio.io has no caBundle")
	if certs != nil {
		t.Error("a missing caBundle still returned certificates")
	}
	bad := hooks([]byte("garbage"))
	_, r = caBundle(bad)
	wantStatus(t, r, StatusError, "caBundle: no PEM certificate")
}

func TestWebhookCertExpiry(t *testing.T) {
	dns := serviceDNSName("istio-system")
	root := newCA(t, "root", now.Add(-day), now.Add(365*day))
	leaf := root.issueLeaf(t, dns, now.Add(-day), now.Add(29*day))
	other := newCA(t, "other", now.Add(-day), now.Add(365*day))
	bundle := []*x509.Certificate{root.cert}

	wantStatus(t, webhookCertExpiry(bundle, []*x509.Certificate{leaf.cert}, nil, dns, now), StatusOK, "chains to it (29 days left)")
	wantStatus(t, webhookCertExpiry(bundle, nil, &notReachable{"no running, ready istiod pod"}, dns, now), StatusOK, "served certificate not checked (no running, ready istiod pod)")
	wantStatus(t, webhookCertExpiry(bundle, nil, errors.New("TLS handshake with pod port 15017: EOF"), dns, now), StatusError, "TLS handshake")
	foreign := other.issueLeaf(t, dns, now.Add(-day), now.Add(29*day))
	wantStatus(t, webhookCertExpiry(bundle, []*x509.Certificate{foreign.cert}, nil, dns, now), StatusError, "does not verify against the caBundle")
	wrongName := root.issueLeaf(t, "evil.example.com", now.Add(-day), now.Add(29*day))
	wantStatus(t, webhookCertExpiry(bundle, []*x509.Certificate{wrongName.cert}, nil, dns, now), StatusError, "does not verify")
	expiredLeaf := root.issueLeaf(t, dns, now.Add(-10*day), now.Add(-day))
	wantStatus(t, webhookCertExpiry(bundle, []*x509.Certificate{expiredLeaf.cert}, nil, dns, now), StatusError, "does not verify")

	expiredRoot := newCA(t, "old-root", now.Add(-400*day), now.Add(-day))
	wantStatus(t, webhookCertExpiry([]*x509.Certificate{expiredRoot.cert}, nil, nil, dns, now), StatusError, `caBundle certificate "old-root" expired`)
	soonRoot := newCA(t, "soon", now.Add(-day), now.Add(7*day))
	wantStatus(t, webhookCertExpiry([]*x509.Certificate{soonRoot.cert}, nil, &notReachable{"x"}, dns, now), StatusWarning, "expires in 7 days")
}

func TestNotEstablished(t *testing.T) {
	crd := func(conds ...any) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{"status": map[string]any{"conditions": conds}}}
	}
	if r := notEstablished(crd(map[string]any{"type": "Established", "status": "True"})); r != "" {
		t.Errorf("established CRD: %q", r)
	}
	if r := notEstablished(crd(map[string]any{"type": "Established", "status": "False", "message": "names conflict"})); r != "not established: names conflict" {
		t.Errorf("got %q", r)
	}
	if r := notEstablished(crd()); r != "not established yet" {
		t.Errorf("got %q", r)
	}
}

func TestInstalledCRDs(t *testing.T) {
	crds, err := installedCRDs()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]string{}
	for _, c := range crds {
		found[c.name] = c.gvr.String()
	}
	if got := found["virtualservices.networking.istio.io"]; got != "networking.istio.io/v1, Resource=virtualservices" {
		t.Errorf("VirtualService CRD resolves to %q (all: %v)", got, found)
	}
	if len(crds) < 10 {
		t.Errorf("only %d CRDs: %v", len(crds), found)
	}
}

func TestVersionSkew(t *testing.T) {
	proxies := func(vs ...string) []proxyVersion {
		var out []proxyVersion
		for i, v := range vs {
			out = append(out, proxyVersion{pod: "default/p" + string(rune('0'+i)), version: v})
		}
		return out
	}
	wantStatus(t, versionSkew("1.4.2", "1.4.0", proxies("1.4.0", "1.4.1")), StatusOK, "2 proxies on the same release")
	wantStatus(t, versionSkew("1.5.0", "1.4.0", nil), StatusWarning, "client 1.5.0 vs controller 1.4.0")
	wantStatus(t, versionSkew("1.6.0", "1.4.0", nil), StatusError, "client 1.6.0 vs controller 1.4.0")
	wantStatus(t, versionSkew("1.4.0", "1.4.0", proxies("1.2.0", "1.2.0", "1.4.0")), StatusError, "2 proxies at 1.2.0 (e.g. default/p0)")
	wantStatus(t, versionSkew("1.4.0", "1.4.0", proxies("")), StatusWarning, "1 proxy at unknown")
	wantStatus(t, versionSkew("2.0.0", "1.4.0", nil), StatusError)
	wantStatus(t, versionSkew("1.4.0", "", nil), StatusWarning, "no app.kubernetes.io/version label")
	wantStatus(t, versionSkew("0.1.0-dev", "v0.1.0", nil), StatusOK)
}

func TestInjectedProxies(t *testing.T) {
	pod := func(name string, annotated bool, image string) corev1.Pod {
		p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"}, Spec: corev1.PodSpec{Containers: []corev1.Container{
			{Name: "app", Image: "app:9.9"}, {Name: proxyContainer, Image: image}}}}
		if annotated {
			p.Annotations = map[string]string{inject.AnnotationStatus: "{}"}
		}
		return p
	}
	got := injectedProxies([]corev1.Pod{
		pod("a", true, "ghcr.io/skiff-dev/skiff-proxy:1.4.0"),
		pod("b", false, "ghcr.io/skiff-dev/skiff-proxy:1.0.0"),
		pod("c", true, "localhost:5000/skiff-proxy@sha256:abc"),
		pod("d", true, "localhost:5000/skiff-proxy:1.3.0@sha256:abc"),
	})
	want := []proxyVersion{{"default/a", "1.4.0"}, {"default/c", ""}, {"default/d", "1.3.0"}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("got %v, want %v", got[i], want[i])
		}
	}
}

func TestProxiesSynced(t *testing.T) {
	parse := func(s string) []xds.ProxySync {
		t.Helper()
		doc, err := xds.ParseSyncz([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return doc.Proxies
	}
	wantStatus(t, proxiesSynced(parse(`{"proxies":[]}`)), StatusOK, "no proxies connected")
	// A type neither asked for nor sent (RDS here) is no problem.
	wantStatus(t, proxiesSynced(parse(`{"proxies":[{"id":"a","sync":{"CDS":"SYNCED","LDS":"SYNCED"}},{"id":"b","sync":{"CDS":"SYNCED"},"types":{"CDS":{}}}]}`)), StatusOK, "all 2 proxies are SYNCED")
	wantStatus(t, proxiesSynced(parse(`{"proxies":[{"id":"a","sync":{"CDS":"STALE","LDS":"STALE","RDS":"SYNCED"}},{"id":"b","sync":{"RDS":"NOT SENT"},"types":{"RDS":{}}}]}`)), StatusError, "1 of 2 proxies are STALE: a (CDS, LDS)")
	// NOT SENT for a type the proxy subscribed to: it waits for configuration.
	wantStatus(t, proxiesSynced(parse(`{"proxies":[{"id":"b","sync":{"RDS":"NOT SENT","CDS":"SYNCED"},"types":{"RDS":{"typeUrl":"x"},"CDS":{}}}]}`)), StatusWarning, "b (RDS)")
}

func TestReport(t *testing.T) {
	results := []Result{
		result(groupController, nameControllerReady, StatusOK, "ready", ""),
		result(groupVersions, nameVersionSkew, StatusWarning, "one minor apart", "upgrade"),
	}
	var out bytes.Buffer
	if err := Report(&out, "", results); err != nil {
		t.Fatalf("warnings alone failed the report: %v", err)
	}
	want := "skiff-controller\n----------------\n✔ skiff-controller-ready: ready\n\nskiff-versions\n--------------\n! skiff-version-skew: one minor apart\n    upgrade; see docs/checks.md#skiff-version-skew\n\n! Status check results: no errors, 1 warning\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}

	results = append(results, result(groupCRDs, nameCRDsServed, StatusError, "missing", "reinstall"))
	out.Reset()
	err := Report(&out, "json", results)
	if err == nil || errs.KindOf(err) != errs.KindFailure {
		t.Fatalf("an error result gave %v, want a failure", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out.String())
	}
	checks := doc["checks"].([]any)
	last := checks[2].(map[string]any)
	wantJSON := map[string]any{"name": "skiff-crds-served", "group": "skiff-crds", "status": "error", "message": "missing", "hint": "reinstall", "docs": "docs/checks.md#skiff-crds-served"}
	for k, v := range wantJSON {
		if last[k] != v {
			t.Errorf("json %s = %v, want %v", k, last[k], v)
		}
	}
	if doc["errors"] != 1.0 || doc["warnings"] != 1.0 {
		t.Errorf("counts: %v", doc)
	}
}
