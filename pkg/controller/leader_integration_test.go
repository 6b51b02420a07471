package controller

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	networkingapi "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	istioclient "istio.io/client-go/pkg/clientset/versioned"
	admissionv1 "k8s.io/api/admission/v1"
	admissionregv1 "k8s.io/api/admissionregistration/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"skiff.dev/skiff/internal/testenv"
	"skiff.dev/skiff/pkg/webhook"
)

// TestLeaderElection runs two replicas against one real API server. Nobody creates the root while another
// holder owns the Lease; then exactly one root is stored and both replicas serve with it (the API server
// calls the follower's validation webhook, trusting it through the caBundle the leader set); only the
// leader writes; when the leader stops, the other takes over within the lease timings and repairs what
// drifted meanwhile (a tampered caBundle, a deleted root ConfigMap).
func TestLeaderElection(t *testing.T) {
	env := testenv.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	kube := kubernetes.NewForConfigOrDie(env.Config)
	const ns, validator = "istio-system", "istio-validator-istio-system"
	testenv.EnsureNamespace(t, kube, ns, nil)
	env.InstallIstioCRDs(t)
	// A previous holder whose lease has not expired yet: until it does, no replica may create the root.
	now := metav1.NewMicroTime(time.Now())
	mustCreate(t, func() error {
		_, err := kube.CoordinationV1().Leases(ns).Create(ctx, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: DefaultLeaseName},
			Spec:       coordinationv1.LeaseSpec{HolderIdentity: ptr.To("gone"), LeaseDurationSeconds: ptr.To(int32(2)), AcquireTime: &now, RenewTime: &now},
		}, metav1.CreateOptions{})
		return err
	})

	replica := func(id string) Options {
		opts := Defaults()
		// The user agent names the replica as the field manager of everything it writes.
		opts.Kube, opts.Namespace, opts.Debounce = rest.CopyConfig(env.Config), ns, 20*time.Millisecond
		opts.Kube.UserAgent = "replica-" + id
		opts.XDSAddr, opts.SecureAddr, opts.ReadyAddr, opts.MonitoringAddr, opts.WebhookAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
		opts.ValidatingWebhookConfigurations = []string{validator}
		opts.ServiceName = "localhost" // its serving certificate then names localhost, so the API server can call it
		mux := http.NewServeMux()
		mux.Handle(ValidatePath, webhook.NewValidateHandler())
		opts.Webhooks = mux
		opts.LeaderElection = LeaderElection{LeaseName: DefaultLeaseName, Identity: id,
			LeaseDuration: 2 * time.Second, RenewDeadline: 1500 * time.Millisecond, RetryPeriod: 100 * time.Millisecond}
		return opts
	}
	type result struct {
		c   *Controller
		err error
	}
	created := map[string]chan result{"a": make(chan result, 1), "b": make(chan result, 1)}
	for id, ch := range created {
		go func() {
			c, err := New(ctx, replica(id))
			ch <- result{c, err}
		}()
	}
	time.Sleep(time.Second)
	if _, err := kube.CoreV1().Secrets(ns).Get(ctx, selfSignedCASecret, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("a replica stored a root while another identity held the lease (err %v)", err)
	}
	replicas := map[string]*Controller{}
	for id, ch := range created {
		r := <-ch
		if r.err != nil {
			t.Fatalf("replica %s: %v", id, r.err)
		}
		replicas[id] = r.c
	}
	secrets, err := kube.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(secrets.Items) != 1 || secrets.Items[0].Name != selfSignedCASecret {
		t.Fatalf("want exactly the one root Secret %s, got %v (err %v)", selfSignedCASecret, secrets.Items, err)
	}
	root := replicas["a"].RootPEM()
	if replicas["b"].RootPEM() != root {
		t.Fatal("the replicas use different roots")
	}

	leaseHolder := func() string {
		l, err := kube.CoordinationV1().Leases(ns).Get(ctx, DefaultLeaseName, metav1.GetOptions{})
		if err != nil || l.Spec.HolderIdentity == nil {
			return ""
		}
		return *l.Spec.HolderIdentity
	}
	leader := leaseHolder() // the replica that stored the root holds the lease
	follower := map[string]string{"a": "b", "b": "a"}[leader]
	if replicas[leader] == nil || !replicas[leader].leader.isLeader() || replicas[follower].leader.isLeader() {
		t.Fatalf("lease held by %q; want exactly one of the replicas to lead", leader)
	}
	// The validation webhook as the installer leaves it (no caBundle, failurePolicy Ignore), served by the
	// follower: the API server can only verify it once the leader has set the shared root as caBundle.
	ignore, none := admissionregv1.Ignore, admissionregv1.SideEffectClassNone
	url := "https://" + strings.Replace(replicas[follower].WebhookAddr(), "127.0.0.1", "localhost", 1) + ValidatePath
	mustCreate(t, func() error {
		_, err := kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, &admissionregv1.ValidatingWebhookConfiguration{
			ObjectMeta: metav1.ObjectMeta{Name: validator},
			Webhooks: []admissionregv1.ValidatingWebhook{{
				Name:         "rev.validation.istio.io",
				ClientConfig: admissionregv1.WebhookClientConfig{URL: &url},
				Rules: []admissionregv1.RuleWithOperations{{Operations: []admissionregv1.OperationType{admissionregv1.Create, admissionregv1.Update},
					Rule: admissionregv1.Rule{APIGroups: []string{"networking.istio.io"}, APIVersions: []string{"*"}, Resources: []string{"*"}}}},
				FailurePolicy:           &ignore,
				SideEffects:             &none,
				AdmissionReviewVersions: []string{"v1"},
			}},
		}, metav1.CreateOptions{})
		return err
	})

	stops := map[string]func(){}
	for id, c := range replicas {
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- c.Run(runCtx) }()
		stops[id] = func() {
			stop()
			if err := <-done; err != nil {
				t.Errorf("replica %s: Run: %v", id, err)
			}
		}
		defer func() { stops[id]() }()
	}

	caBundle := func() string {
		cfg, err := kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, validator, metav1.GetOptions{})
		if err != nil {
			return ""
		}
		return string(cfg.Webhooks[0].ClientConfig.CABundle)
	}
	rootConfigMap := func(namespace string) bool {
		cm, err := kube.CoreV1().ConfigMaps(namespace).Get(ctx, RootCertConfigMap, metav1.GetOptions{})
		return err == nil && cm.Data[rootCertKey] == root
	}
	istio := istioclient.NewForConfigOrDie(env.Config)
	rejected := func() bool {
		_, err := istio.NetworkingV1().VirtualServices("default").Create(ctx, badRegex(), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err != nil && strings.Contains(err.Error(), `denied the request: configuration is invalid: IST0122 Field "uri" regular expression invalid`)
	}
	eventually(t, "the leader patches the caBundle and publishes the root", func() bool {
		return caBundle() == root && rootConfigMap("default")
	})
	eventually(t, "the API server rejects a bad regex through the follower's webhook", rejected)

	// A caBundle overwritten while the leader runs (a re-applied manifest) is repaired at once.
	tamper := func() {
		t.Helper()
		cfg := cfgOf(ctx, t, kube, validator)
		cfg.Webhooks[0].ClientConfig.CABundle = []byte("tampered")
		if _, err := kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Update(ctx, cfg, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	tamper()
	eventually(t, "the leader repairs the caBundle", func() bool { return caBundle() == root })

	// Only the leader writes: a namespace created now makes both replicas rebuild, yet every root
	// ConfigMap and the caBundle are the leader's work.
	testenv.EnsureNamespace(t, kube, "late", nil)
	eventually(t, "the leader publishes the root to a new namespace", func() bool { return rootConfigMap("late") })
	cms, err := kube.CoreV1().ConfigMaps("").List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + RootCertConfigMap})
	if err != nil {
		t.Fatal(err)
	}
	written := []metav1.Object{cfgOf(ctx, t, kube, validator)}
	for i := range cms.Items {
		written = append(written, &cms.Items[i])
	}
	// Configuration status too: two VirtualServices for one host, the newer is reported by the leader alone.
	for _, name := range []string{"dup-a", "dup-b"} {
		mustCreate(t, func() error {
			_, err := istio.NetworkingV1().VirtualServices("default").Create(ctx, routeAll(name, "v1"), metav1.CreateOptions{})
			return err
		})
	}
	var loser *networkingv1.VirtualService
	eventually(t, "the conflict's loser carries IST0109", func() bool {
		vs, err := istio.NetworkingV1().VirtualServices("default").Get(ctx, "dup-b", metav1.GetOptions{})
		loser = vs
		return err == nil && len(vs.Status.GetValidationMessages()) == 1 && vs.Status.GetValidationMessages()[0].GetType().GetCode() == "IST0109"
	})
	written = append(written, loser)
	for _, o := range written {
		byLeader := false
		for _, f := range o.GetManagedFields() {
			byLeader = byLeader || f.Manager == "replica-"+leader
			if f.Manager == "replica-"+follower {
				t.Errorf("the follower replica-%s wrote %s/%s", follower, o.GetNamespace(), o.GetName())
			}
		}
		if !byLeader {
			t.Errorf("%s/%s was not written by the leader replica-%s", o.GetNamespace(), o.GetName(), leader)
		}
	}
	if len(cms.Items) < 4 {
		t.Errorf("root ConfigMaps in %d namespaces, want every namespace", len(cms.Items))
	}

	// Every replica serves the webhooks with a certificate from the shared root, followers included.
	for id, c := range replicas {
		if msg := validateOverTLS(t, c.WebhookAddr(), root); msg == "" {
			t.Errorf("replica %s: an invalid VirtualService was allowed", id)
		}
	}

	// The leader goes away; meanwhile the cluster drifts.
	stops[leader]()
	stops[leader] = func() {}
	stopped := time.Now()
	tamper()
	if err := kube.CoreV1().ConfigMaps("default").Delete(ctx, RootCertConfigMap, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the follower takes over and repairs the caBundle and the root ConfigMap", func() bool {
		return leaseHolder() == follower && replicas[follower].leader.isLeader() && caBundle() == root && rootConfigMap("default")
	})
	eventually(t, "the API server trusts the webhook again", rejected)
	t.Logf("replica %s took over and repaired the cluster %v after replica %s stopped", follower, time.Since(stopped).Round(time.Millisecond), leader)
}

func badRegex() *networkingv1.VirtualService {
	return &networkingv1.VirtualService{ObjectMeta: metav1.ObjectMeta{Name: "bad-regex"}, Spec: networkingapi.VirtualService{
		Hosts: []string{"reviews"},
		Http: []*networkingapi.HTTPRoute{{
			Match: []*networkingapi.HTTPMatchRequest{{Uri: &networkingapi.StringMatch{MatchType: &networkingapi.StringMatch_Regex{Regex: "(a"}}}},
			Route: []*networkingapi.HTTPRouteDestination{{Destination: &networkingapi.Destination{Host: "reviews"}}},
		}},
	}}
}

func cfgOf(ctx context.Context, t *testing.T, kube kubernetes.Interface, name string) *admissionregv1.ValidatingWebhookConfiguration {
	t.Helper()
	cfg, err := kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// validateOverTLS posts an invalid VirtualService to /validate at addr, verifying the serving certificate
// against root, and returns the denial message ("" when allowed).
func validateOverTLS(t *testing.T, addr, root string) string {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM([]byte(root))
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "localhost"}}}
	body := invalidVirtualServiceReview()
	resp, err := hc.Post("https://"+addr+ValidatePath, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("webhook port %s: %v", addr, err)
	}
	defer resp.Body.Close()
	var out admissionv1.AdmissionReview
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Response == nil {
		t.Fatalf("webhook port %s: %v", addr, err)
	}
	if out.Response.Allowed || out.Response.Result == nil {
		return ""
	}
	return out.Response.Result.Message
}

// invalidVirtualServiceReview is an AdmissionReview creating a VirtualService without routes.
func invalidVirtualServiceReview() []byte {
	body, _ := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{UID: "1", Operation: admissionv1.Create,
			Kind:   metav1.GroupVersionKind{Group: "networking.istio.io", Version: "v1", Kind: "VirtualService"},
			Object: runtime.RawExtension{Raw: []byte(`{"apiVersion":"networking.istio.io/v1","kind":"VirtualService","metadata":{"name":"r"},"spec":{"hosts":["r"]}}`)}},
	})
	return body
}
