package dashboard

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func pod(name string, phase corev1.PodPhase, ready bool, age time.Duration, deleting bool) corev1.Pod {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	p := corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(time.Unix(1_000_000, 0).Add(-age))},
		Status:     corev1.PodStatus{Phase: phase, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}},
	}
	if deleting {
		now := metav1.Now()
		p.DeletionTimestamp = &now
	}
	return p
}

func TestSelectPod(t *testing.T) {
	cases := []struct {
		name string
		pods []corev1.Pod
		want string // "" means an error
	}{
		{"none", nil, ""},
		{"only pending", []corev1.Pod{pod("a", corev1.PodPending, false, time.Hour, false)}, ""},
		{"running but not ready", []corev1.Pod{pod("a", corev1.PodRunning, false, time.Hour, false)}, ""},
		{"ready wins over not ready", []corev1.Pod{pod("a", corev1.PodRunning, false, time.Minute, false), pod("b", corev1.PodRunning, true, time.Hour, false)}, "b"},
		{"newest ready wins", []corev1.Pod{pod("old", corev1.PodRunning, true, time.Hour, false), pod("new", corev1.PodRunning, true, time.Minute, false)}, "new"},
		{"terminating skipped", []corev1.Pod{pod("dying", corev1.PodRunning, true, time.Minute, true), pod("ok", corev1.PodRunning, true, time.Hour, false)}, "ok"},
		{"tie broken by name", []corev1.Pod{pod("b", corev1.PodRunning, true, time.Hour, false), pod("a", corev1.PodRunning, true, time.Hour, false)}, "a"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := SelectPod(c.pods)
			if c.want == "" {
				if err == nil {
					t.Fatalf("want an error, got pod %s", got.Name)
				}
				return
			}
			if err != nil || got.Name != c.want {
				t.Fatalf("got %v, %v; want %s", got, err, c.want)
			}
		})
	}
}

func TestUnknownDashboardIsUsageError(t *testing.T) {
	err := Run(t.Context(), Options{Addon: "kibana"})
	if err == nil || err.Error() != `unknown dashboard "kibana" (choose one of: controlz, envoy, grafana, jaeger, kiali, prometheus, zipkin)` {
		t.Fatalf("got %v", err)
	}
}

func TestEnvoyNeedsPod(t *testing.T) {
	if err := Run(t.Context(), Options{Addon: "envoy"}); err == nil {
		t.Fatal("want an error without a pod")
	}
}

func writeUnreachableKubeconfig(t *testing.T) string {
	path := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
