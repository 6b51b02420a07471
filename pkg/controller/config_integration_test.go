package controller

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	networkingapi "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"

	"skiff.dev/skiff/internal/testenv"
)

// TestControllerReportsInvalidAndConflictingConfig: through a real API server and a real xDS client, an
// invalid VirtualService that would otherwise win is left out (valid config still reaches the client),
// and is reported once per generation on its status, as a Warning Event and in /metrics; fixing it clears
// the status and turns it into the winner of a conflict, which is reported on the loser. A proxy with a
// bad token gets no certificate from the controller's secure port.
func TestControllerReportsInvalidAndConflictingConfig(t *testing.T) {
	env := testenv.Start(t)
	ctx, kube, istio := istioAPIServer(t, env, 90*time.Second)
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
