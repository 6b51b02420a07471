package describe

import (
	"bytes"
	"cmp"
	"context"
	"path/filepath"
	"slices"
	"testing"

	istioclient "istio.io/client-go/pkg/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"skiff.dev/skiff/internal/testenv"
	"skiff.dev/skiff/pkg/config"
	"skiff.dev/skiff/pkg/errs"
	"skiff.dev/skiff/pkg/kube"
	"skiff.dev/skiff/pkg/model"
)

// TestDescribeFromCluster creates testdata/bookinfo in a real API server with Istio's CRDs and describes
// from there: the output must be exactly what describing the files gives.
func TestDescribeFromCluster(t *testing.T) {
	env := testenv.Start(t)
	c, err := kube.FromConfig(env.Config, "default")
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	env.InstallIstioCRDs(t)
	in, err := Source{Files: []string{filepath.Join("testdata", "bookinfo")}}.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	createAll(ctx, t, c, in)

	for _, tc := range []struct{ kind, name, golden string }{
		{"pod", "reviews-v2-7bf8c9", "pod-reviews-v2.txt"},
		{"pod", "ratings-v1-b6994b", "pod-ratings.txt"},
		{"service", "reviews", "service-reviews.txt"},
	} {
		var out bytes.Buffer
		o := Options{Source: Source{Clients: c, Global: config.Global{MeshNamespace: "istio-system"}}, Kind: tc.kind, Name: tc.name, Out: &out}
		if err := Run(ctx, o); err != nil {
			t.Fatalf("describe %s %s from the cluster: %v", tc.kind, tc.name, err)
		}
		want := describeFiles(t, tc.kind, tc.name, filepath.Join("testdata", "bookinfo"))
		if d := lineDiff(want, out.String()); d != "" {
			t.Errorf("describe %s %s: cluster and files disagree (- files, + cluster):\n%s", tc.kind, tc.name, d)
		}
	}

	err = Run(ctx, Options{Source: Source{Clients: c, Global: config.Global{Namespace: "bookinfo"}}, Kind: "pod", Name: "reviews-v3", Out: &bytes.Buffer{}})
	if errs.Code(err) != errs.ExitFailure || err.Error() != `pod "reviews-v3" not found in namespace bookinfo` {
		t.Errorf("missing pod: %v (exit %d)", err, errs.Code(err))
	}
}

// createAll creates the objects oldest-name first, so the API server's creation order agrees with the
// name order that files (without timestamps) are sorted by.
func createAll(ctx context.Context, t *testing.T, c *kube.Clients, in model.Input) {
	t.Helper()
	ic, err := istioclient.NewForConfig(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	core := c.Typed.CoreV1()
	check := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("creating %s: %v", what, err)
		}
	}
	check("namespace", must(core.Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "bookinfo"}}, metav1.CreateOptions{})))
	accounts := map[string]bool{}
	for _, p := range in.Pods {
		if sa := p.Spec.ServiceAccountName; sa != "" && !accounts[sa] {
			accounts[sa] = true
			check("service account", must(core.ServiceAccounts(p.Namespace).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{})))
		}
	}
	o := metav1.CreateOptions{}
	for _, s := range byName(in.Services) {
		check(s.Name, must(core.Services(s.Namespace).Create(ctx, s, o)))
	}
	for _, p := range byName(in.Pods) {
		check(p.Name, must(core.Pods(p.Namespace).Create(ctx, p, o)))
	}
	net, sec := ic.NetworkingV1(), ic.SecurityV1()
	for _, x := range byName(in.Gateways) {
		check(x.Name, must(net.Gateways(x.Namespace).Create(ctx, x, o)))
	}
	for _, x := range byName(in.VirtualServices) {
		check(x.Name, must(net.VirtualServices(x.Namespace).Create(ctx, x, o)))
	}
	for _, x := range byName(in.DestinationRules) {
		check(x.Name, must(net.DestinationRules(x.Namespace).Create(ctx, x, o)))
	}
	for _, x := range byName(in.PeerAuthentications) {
		check(x.Name, must(sec.PeerAuthentications(x.Namespace).Create(ctx, x, o)))
	}
	for _, x := range byName(in.AuthorizationPolicies) {
		check(x.Name, must(sec.AuthorizationPolicies(x.Namespace).Create(ctx, x, o)))
	}
}

func must[T any](_ T, err error) error { return err }

func byName[T metav1.Object](objs []T) []T {
	out := slices.Clone(objs)
	slices.SortFunc(out, func(a, b T) int {
		return cmp.Or(cmp.Compare(a.GetNamespace(), b.GetNamespace()), cmp.Compare(a.GetName(), b.GetName()))
	})
	return out
}
