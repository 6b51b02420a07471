package controller

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	networkingapi "istio.io/api/networking/v1alpha3"
	securityapi "istio.io/api/security/v1alpha1"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	istioclient "istio.io/client-go/pkg/clientset/versioned"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"skiff.dev/skiff/internal/testenv"
)

// TestControllerReportsInvalidAndConflictingConfig: through a real API server and a real xDS client, an
// invalid VirtualService that would otherwise win is left out (valid config still reaches the client),
// and is reported once per generation on its status, as a Warning Event and in /metrics; fixing it clears
// the status and turns it into the winner of a conflict, which is reported on the loser. A proxy with a
// bad token gets no certificate from the controller's secure port.
func TestControllerReportsInvalidAndConflictingConfig(t *testing.T) {
	env := testenv.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	kube := kubernetes.NewForConfigOrDie(env.Config)
	istio := istioclient.NewForConfigOrDie(env.Config)
	env.InstallIstioCRDs(t)
	c := startController(ctx, t, env.Config, kube, nil)
	backends := reviewsMesh(ctx, t, kube, istio)

	// Without validation, a-broken (older, or first by name) would route everything to v2.
	broken := &networkingv1.VirtualService{
		ObjectMeta: metav1.ObjectMeta{Name: "a-broken"},
		Spec: networkingapi.VirtualService{Hosts: []string{"reviews"}, Http: []*networkingapi.HTTPRoute{{
			Match: []*networkingapi.HTTPMatchRequest{{Uri: &networkingapi.StringMatch{MatchType: &networkingapi.StringMatch_Regex{Regex: "(?!internal)/.*"}}}},
			Route: []*networkingapi.HTTPRouteDestination{{Destination: &networkingapi.Destination{Host: "reviews", Subset: "v2"}}},
		}, {
			Route: []*networkingapi.HTTPRouteDestination{{Destination: &networkingapi.Destination{Host: "reviews", Subset: "v2"}}},
		}}},
	}
	mustCreate(t, func() (err error) {
		broken, err = istio.NetworkingV1().VirtualServices("default").Create(ctx, broken, metav1.CreateOptions{})
		return err
	})
	mustCreate(t, func() error {
		_, err := istio.NetworkingV1().VirtualServices("default").Create(ctx, routeAll("reviews", "v1"), metav1.CreateOptions{})
		return err
	})

	conn := xdsClient(t, c.XDSAddr())
	eventually(t, "valid config reaches the client: all RPCs reach v1", func() bool { return allFrom(conn, backends["v1"]) })
	eventually(t, "the invalid VirtualService's status carries IST0122", func() bool {
		vs, err := istio.NetworkingV1().VirtualServices("default").Get(ctx, "a-broken", metav1.GetOptions{})
		if err != nil {
			return false
		}
		msgs := vs.Status.GetValidationMessages()
		return len(msgs) == 1 && msgs[0].GetType().GetCode() == "IST0122" && vs.Status.GetObservedGeneration() == vs.Generation
	})
	eventually(t, "a Warning event InvalidConfig on the invalid VirtualService", func() bool {
		evs := eventsFor(ctx, t, kube, "a-broken")
		return len(evs) == 1 && evs[0].Type == corev1.EventTypeWarning && evs[0].Reason == ReasonInvalidConfig &&
			strings.Contains(evs[0].Message, "IST0122") && strings.Contains(evs[0].Message, "internal")
	})
	metrics := httpBody(t, "http://"+c.MonitoringAddr()+"/metrics")
	for _, want := range []string{`skiff_config_invalid{kind="VirtualService"} 1`, `skiff_config_rejections_total{kind="VirtualService"} 1`,
		`skiff_config_conflicts{kind="VirtualService"} 0`, `skiff_config_invalid{kind="Gateway"} 0`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	// More rebuilds (unrelated changes) write no status and emit no event again: no write loop.
	before, _ := istio.NetworkingV1().VirtualServices("default").Get(ctx, "a-broken", metav1.GetOptions{})
	for i := range 3 {
		mustCreate(t, func() error {
			_, err := kube.CoreV1().Services("default").Create(ctx, &corev1.Service{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("other-%d", i)},
				Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}},
			}, metav1.CreateOptions{})
			return err
		})
		time.Sleep(300 * time.Millisecond)
	}
	eventually(t, "the new services are pushed", func() bool {
		return strings.Contains(httpBody(t, "http://"+c.MonitoringAddr()+"/metrics"), "skiff_mesh_services 5")
	})
	after, _ := istio.NetworkingV1().VirtualServices("default").Get(ctx, "a-broken", metav1.GetOptions{})
	if after.ResourceVersion != before.ResourceVersion {
		t.Errorf("status rewritten without a change (resourceVersion %s -> %s)", before.ResourceVersion, after.ResourceVersion)
	}
	if n := len(eventsFor(ctx, t, kube, "a-broken")); n != 1 {
		t.Errorf("%d events for one invalid generation", n)
	}

	// Fixed, a-broken is valid again and, as the older VirtualService for the host, wins: its status is
	// cleared, traffic moves to v2 and the newer one is reported as the conflict's loser.
	after.Spec.Http[0].Match[0].Uri.MatchType = &networkingapi.StringMatch_Prefix{Prefix: "/"}
	if _, err := istio.NetworkingV1().VirtualServices("default").Update(ctx, after, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "after the fix all RPCs reach v2", func() bool { return allFrom(conn, backends["v2"]) })
	eventually(t, "the fixed VirtualService's status is cleared", func() bool {
		vs, err := istio.NetworkingV1().VirtualServices("default").Get(ctx, "a-broken", metav1.GetOptions{})
		return err == nil && len(vs.Status.GetValidationMessages()) == 0
	})
	eventually(t, "the losing VirtualService carries IST0109 and a ConflictingConfig event", func() bool {
		vs, err := istio.NetworkingV1().VirtualServices("default").Get(ctx, "reviews", metav1.GetOptions{})
		if err != nil || len(vs.Status.GetValidationMessages()) != 1 || vs.Status.GetValidationMessages()[0].GetType().GetCode() != "IST0109" {
			return false
		}
		evs := eventsFor(ctx, t, kube, "reviews")
		return len(evs) == 1 && evs[0].Reason == ReasonConflictingConfig && strings.Contains(evs[0].Message, "default/a-broken is the oldest")
	})
	metrics = httpBody(t, "http://"+c.MonitoringAddr()+"/metrics")
	for _, want := range []string{`skiff_config_invalid{kind="VirtualService"} 0`, `skiff_config_conflicts{kind="VirtualService"} 1`,
		`skiff_config_rejections_total{kind="VirtualService"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	// A proxy with a bad token gets no certificate, over the same TLS port proxies use.
	mustCreate(t, func() error {
		_, err := kube.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "reviews"}}, metav1.CreateOptions{})
		return err
	})
	otherAudience, err := kube.CoreV1().ServiceAccounts("default").CreateToken(ctx, "reviews", &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{Audiences: []string{"not-istio-ca"}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// A token of a ServiceAccount deleted since: the TokenReview no longer accepts it.
	mustCreate(t, func() error {
		_, err := kube.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "deleted"}}, metav1.CreateOptions{})
		return err
	})
	revoked, err := kube.CoreV1().ServiceAccounts("default").CreateToken(ctx, "deleted", &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{Audiences: []string{"istio-ca"}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := kube.CoreV1().ServiceAccounts("default").Delete(ctx, "deleted", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for name, token := range map[string]string{
		"forged":           "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZGVmYXVsdDpyZXZpZXdzIn0.c2ln",
		"another audience": otherAudience.Status.Token,
		"deleted account":  revoked.Status.Token,
		"missing":          "",
	} {
		chain, err := tryCertificate(ctx, t, c, token)
		if status.Code(err) != codes.Unauthenticated || len(chain) != 0 {
			t.Errorf("%s token: %d certificates, err %v; want Unauthenticated", name, len(chain), err)
		}
	}
	if m := httpBody(t, "http://"+c.MonitoringAddr()+"/metrics"); !strings.Contains(m, `skiff_ca_certificate_requests_total{result="denied"} 4`) {
		t.Error("/metrics does not count the four denied requests")
	}
}

// startController runs a controller with free ports until the test ends; Run must return nil.
func startController(ctx context.Context, t *testing.T, cfg *rest.Config, kube kubernetes.Interface, tune func(*Options)) *Controller {
	t.Helper()
	mustCreate(t, func() error {
		_, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "istio-system"}}, metav1.CreateOptions{})
		return err
	})
	opts := Defaults()
	opts.Kube, opts.Namespace, opts.Debounce = cfg, "istio-system", 20*time.Millisecond
	opts.XDSAddr, opts.SecureAddr, opts.ReadyAddr, opts.MonitoringAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	if tune != nil {
		tune(&opts)
	}
	c, err := New(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	eventually(t, "/ready returns 200", func() bool { return httpStatus("http://"+c.ReadyAddr()+"/ready") == http.StatusOK })
	return c
}

// reviewsMesh creates the reviews Service with a v1 and a v2 backend (pods, EndpointSlices) and the
// DestinationRule naming both subsets; it returns the backends' names by subset.
func reviewsMesh(ctx context.Context, t *testing.T, kube kubernetes.Interface, istio istioclient.Interface) map[string]string {
	t.Helper()
	ip := hostIP(t)
	mustCreate(t, func() error {
		_, err := kube.CoreV1().Services("default").Create(ctx, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "reviews"},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "grpc", Port: 9080}}},
		}, metav1.CreateOptions{})
		return err
	})
	out := map[string]string{}
	for _, version := range []string{"v1", "v2"} {
		name := "reviews-" + version
		out[version] = name
		port := startBackend(t, ip, name)
		mustCreate(t, func() error {
			_, err := kube.CoreV1().Pods("default").Create(ctx, &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "reviews", "version": version}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "reviews"}}},
			}, metav1.CreateOptions{})
			return err
		})
		mustCreate(t, func() error {
			_, err := kube.DiscoveryV1().EndpointSlices("default").Create(ctx, endpointSlice(name, ip, port), metav1.CreateOptions{})
			return err
		})
	}
	mustCreate(t, func() error {
		_, err := istio.NetworkingV1().DestinationRules("default").Create(ctx, &networkingv1.DestinationRule{
			ObjectMeta: metav1.ObjectMeta{Name: "reviews"},
			Spec: networkingapi.DestinationRule{Host: "reviews", Subsets: []*networkingapi.Subset{
				{Name: "v1", Labels: map[string]string{"version": "v1"}}, {Name: "v2", Labels: map[string]string{"version": "v2"}},
			}},
		}, metav1.CreateOptions{})
		return err
	})
	return out
}

func endpointSlice(pod, ip string, port int) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: pod, Labels: map[string]string{discoveryv1.LabelServiceName: "reviews"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("grpc"), Port: ptr.To(int32(port))}},
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{ip},
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: pod, Namespace: "default"}}},
	}
}

// routeAll is the VirtualService "reviews" sending everything to one subset.
func routeAll(name, subset string) *networkingv1.VirtualService {
	return &networkingv1.VirtualService{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: networkingapi.VirtualService{Hosts: []string{"reviews"}, Http: []*networkingapi.HTTPRoute{{
			Route: []*networkingapi.HTTPRouteDestination{{Destination: &networkingapi.Destination{Host: "reviews", Subset: subset}}},
		}}},
	}
}

func eventsFor(ctx context.Context, t *testing.T, kube kubernetes.Interface, name string) []corev1.Event {
	t.Helper()
	list, err := kube.CoreV1().Events("default").List(ctx, metav1.ListOptions{
		FieldSelector: fields.Set{"involvedObject.name": name, "involvedObject.kind": "VirtualService"}.String(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return list.Items
}

// tryCertificate asks the controller's CA over TLS, as a proxy does, and returns its answer.
func tryCertificate(ctx context.Context, t *testing.T, c *Controller, token string) ([]string, error) {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM([]byte(c.RootPEM()))
	conn, err := grpc.NewClient(c.SecureAddr(), grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: roots, ServerName: "istiod.istio-system.svc"})))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}
	resp, err := securityapi.NewIstioCertificateServiceClient(conn).CreateCertificate(ctx,
		&securityapi.IstioCertificateRequest{Csr: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})), ValidityDuration: 3600})
	return resp.GetCertChain(), err
}
