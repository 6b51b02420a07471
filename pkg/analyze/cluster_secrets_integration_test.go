package analyze

import (
	"maps"
	"os"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"

	"skiff.dev/skiff/pkg/kube"
)

// TestClusterGatewaySecretsAndPeerAuthentications reads Secrets and PeerAuthentications from a real API
// server: a Gateway's missing (IST0101) and malformed (IST0161) credentials are found in the gateway
// workload's namespace, only credential keys of Secrets are kept, the newer of two selector-less
// PeerAuthentications is reported by creationTimestamp (SKF0101), and a user who may not list Secrets
// gets no credential messages rather than one per server.
func TestClusterGatewaySecretsAndPeerAuthentications(t *testing.T) {
	env, c := istioCluster(t)
	ctx := t.Context()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	core := c.Typed.CoreV1()
	must(core.Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "istio-system"}}, metav1.CreateOptions{}))
	must(core.Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop",
		Labels: map[string]string{"istio-injection": "enabled"}}}, metav1.CreateOptions{}))
	ingress := map[string]string{"istio": "ingressgateway"}
	must(core.Pods("istio-system").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "ingress-1", Labels: ingress},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "istio-proxy", Image: "proxy"}}}}, metav1.CreateOptions{}))
	must(core.Services("istio-system").Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "ingress"},
		Spec: corev1.ServiceSpec{Selector: ingress, Ports: []corev1.ServicePort{{Name: "https", Port: 443, TargetPort: intstr.FromInt32(8443)}}}},
		metav1.CreateOptions{}))

	read := func(f string) []byte {
		b, err := os.ReadFile("../xds/testdata/tls/" + f)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// The Gateway lives in shop, its workload in istio-system: only istio-system's Secrets count.
	must(core.Secrets("istio-system").Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "good", Annotations: map[string]string{corev1.LastAppliedConfigAnnotation: "{...}"}},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{"tls.crt": read("server.pem"), "tls.key": read("server-key.pem"), "other": []byte("app data")},
	}, metav1.CreateOptions{}))
	must(core.Secrets("istio-system").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "mismatch"},
		Data: map[string][]byte{"cert": read("server.pem"), "key": read("client-key.pem")}}, metav1.CreateOptions{}))
	must(core.Secrets("shop").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "in-gateway-namespace"}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{"tls.crt": read("server.pem"), "tls.key": read("server-key.pem")}}, metav1.CreateOptions{}))

	server := func(i int, cred string) map[string]any {
		return map[string]any{"port": map[string]any{"number": 443, "name": "https-" + itoa(i), "protocol": "HTTPS"},
			"hosts": []any{"h" + itoa(i) + ".example.com"}, "tls": map[string]any{"mode": "SIMPLE", "credentialName": cred}}
	}
	create := func(group, resource string, obj map[string]any) {
		t.Helper()
		gvr := schema.GroupVersionResource{Group: group, Version: "v1", Resource: resource}
		must(c.Dynamic.Resource(gvr).Namespace("shop").Create(ctx, &unstructured.Unstructured{Object: obj}, metav1.CreateOptions{}))
	}
	create("networking.istio.io", "gateways", map[string]any{
		"apiVersion": "networking.istio.io/v1", "kind": "Gateway", "metadata": map[string]any{"name": "web"},
		"spec": map[string]any{"selector": map[string]any{"istio": "ingressgateway"}, "servers": []any{
			server(0, "good"), server(1, "mismatch"), server(2, "in-gateway-namespace")}},
	})
	pa := func(name string) map[string]any {
		return map[string]any{"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication", "metadata": map[string]any{"name": name},
			"spec": map[string]any{"mtls": map[string]any{"mode": "STRICT"}}}
	}
	// z-old is created first: it applies although its name sorts last (timestamps have second resolution).
	create("security.istio.io", "peerauthentications", pa("z-old"))
	time.Sleep(1100 * time.Millisecond)
	create("security.istio.io", "peerauthentications", pa("a-new"))

	analyzeAs := func(t *testing.T, clients *kube.Clients) []Message {
		t.Helper()
		o := offline()
		yes := true
		o.UseKube, o.Clients = &yes, clients
		o.Global.Namespace = "shop"
		return analyzeOptions(t, o).Messages
	}

	t.Run("admin", func(t *testing.T) {
		assertCodes(t, analyzeAs(t, c), "IST0101 Gateway shop/web", "IST0161 Gateway shop/web", "SKF0101 PeerAuthentication shop/a-new")
		secrets, listed, err := loadClusterSecrets(ctx, c, newDecoder("shop"))
		if err != nil || !listed {
			t.Fatalf("listing secrets: listed %v, %v", listed, err)
		}
		for _, r := range secrets {
			s := r.Object.(*corev1.Secret)
			if _, ok := s.Data["other"]; ok || s.Annotations[corev1.LastAppliedConfigAnnotation] != "" {
				t.Errorf("secret %s/%s keeps non-credential data: %v %v", s.Namespace, s.Name, slices.Sorted(maps.Keys(s.Data)), s.Annotations)
			}
		}
	})

	t.Run("may not list secrets", func(t *testing.T) {
		rbac := c.Typed.RbacV1()
		must(rbac.ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "analyze-no-secrets"},
			Rules: []rbacv1.PolicyRule{
				{APIGroups: []string{""}, Resources: []string{"namespaces", "services", "pods"}, Verbs: []string{"get", "list"}},
				{APIGroups: []string{"apps"}, Resources: []string{"*"}, Verbs: []string{"get", "list"}},
				{APIGroups: []string{"networking.istio.io", "security.istio.io", "telemetry.istio.io", "extensions.istio.io"}, Resources: []string{"*"}, Verbs: []string{"get", "list"}},
			}}, metav1.CreateOptions{}))
		must(rbac.ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "analyze-no-secrets"},
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "analyze-no-secrets"},
			Subjects: []rbacv1.Subject{{Kind: "Group", APIGroup: "rbac.authorization.k8s.io", Name: "analyzers"}}}, metav1.CreateOptions{}))
		limited, err := kube.FromConfig(env.ConfigFor(t, "analyst", "analyzers"), "shop")
		if err != nil {
			t.Fatal(err)
		}
		// The authorizer sees a new binding through its informer: wait until it applies.
		paGVR := schema.GroupVersionResource{Group: "security.istio.io", Version: "v1", Resource: "peerauthentications"}
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			_, err := limited.Dynamic.Resource(paGVR).Namespace("shop").List(ctx, metav1.ListOptions{})
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("binding not effective: %v", err)
			}
		}
		if _, err := limited.Typed.CoreV1().Secrets("").List(ctx, metav1.ListOptions{}); err == nil {
			t.Fatal("the limited user may list Secrets")
		}
		assertCodes(t, analyzeAs(t, limited), "SKF0101 PeerAuthentication shop/a-new")
	})
}
