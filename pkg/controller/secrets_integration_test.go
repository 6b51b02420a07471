package controller

import (
	"log/slog"
	"maps"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"skiff.dev/skiff/internal/testenv"
)

// TestSecretSource: against a real API server, the Secret informer skips service-account tokens and Helm
// releases on the server side (field selector), and keeps only the credential keys of the rest, without
// annotations (kubectl's last-applied copy) or managed fields.
func TestSecretSource(t *testing.T) {
	ctx, kube, istio := istioAPIServer(t, testenv.Start(t), 30*time.Second)
	testenv.EnsureNamespace(t, kube, "istio-system", nil)
	for _, s := range []*corev1.Secret{
		{ObjectMeta: metav1.ObjectMeta{Name: "bookinfo-cert", Annotations: map[string]string{"kubectl.kubernetes.io/last-applied-configuration": `{"data":{"tls.key":"c2VjcmV0"}}`}},
			Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": []byte("cert"), "tls.key": []byte("key"), "ca.crt": []byte("ca"), "extra": []byte("x")}},
		{ObjectMeta: metav1.ObjectMeta{Name: "generic"}, Data: map[string][]byte{"cert": []byte("c"), "key": []byte("k"), "cacert": []byte("ca"), "password": []byte("p")}},
		{ObjectMeta: metav1.ObjectMeta{Name: "app-config"}, Data: map[string][]byte{"password": []byte("p")}},
		{ObjectMeta: metav1.ObjectMeta{Name: "token", Annotations: map[string]string{corev1.ServiceAccountNameKey: "default"}}, Type: corev1.SecretTypeServiceAccountToken},
		{ObjectMeta: metav1.ObjectMeta{Name: "sh.helm.release.v1.app.v1"}, Type: "helm.sh/release.v1", Data: map[string][]byte{"release": []byte("big")}},
	} {
		mustCreate(t, func() error {
			_, err := kube.CoreV1().Secrets("istio-system").Create(ctx, s, metav1.CreateOptions{})
			return err
		})
	}
	s, err := newSources(kube, istio, kube.Discovery(), slog.New(slog.DiscardHandler), func() {})
	if err != nil {
		t.Fatal(err)
	}
	s.start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), s.synced...) {
		t.Fatal("informers did not sync")
	}
	in, err := s.input("cluster.local")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, sec := range in.Secrets {
		if sec.Namespace != "istio-system" {
			continue
		}
		got[sec.Name] = slices.Sorted(maps.Keys(sec.Data))
		if len(sec.Annotations) > 0 || len(sec.ManagedFields) > 0 {
			t.Errorf("%s keeps annotations %v or managed fields", sec.Name, sec.Annotations)
		}
	}
	want := map[string][]string{"bookinfo-cert": {"ca.crt", "tls.crt", "tls.key"}, "generic": {"cacert", "cert", "key"}, "app-config": nil}
	if !maps.EqualFunc(got, want, slices.Equal) {
		t.Errorf("secrets in the model input: %v, want %v", got, want)
	}
}

// TestSecretHandler: only Secrets holding credential keys trigger a rebuild, and an update only when its
// type or those keys changed (the transform has already dropped everything else).
func TestSecretHandler(t *testing.T) {
	n := 0
	h := secretHandler(func() { n++ })
	cert := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "c", ResourceVersion: "1"}, Data: map[string][]byte{"tls.crt": []byte("a")}}
	empty := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "e"}}
	newer := cert.DeepCopy()
	newer.ResourceVersion = "2"
	rotated := newer.DeepCopy()
	rotated.Data["tls.crt"] = []byte("b")
	for _, step := range []struct {
		name string
		do   func()
		want int
	}{
		{"add with credential keys", func() { h.OnAdd(cert, false) }, 1},
		{"add without", func() { h.OnAdd(empty, false) }, 1},
		{"update of nothing the mesh reads", func() { h.OnUpdate(cert, newer) }, 1},
		{"rotated certificate", func() { h.OnUpdate(newer, rotated) }, 2},
		{"delete without credential keys", func() { h.OnDelete(cache.DeletedFinalStateUnknown{Obj: empty}) }, 2},
		{"delete with", func() { h.OnDelete(cache.DeletedFinalStateUnknown{Obj: rotated}) }, 3},
	} {
		step.do()
		if n != step.want {
			t.Fatalf("%s: %d rebuilds, want %d", step.name, n, step.want)
		}
	}
}
