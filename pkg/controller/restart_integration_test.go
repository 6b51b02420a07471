package controller

import (
	"net/http"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"skiff.dev/skiff/internal/testenv"
)

// TestControllerSurvivesAPIServerRestart stops the kube-apiserver under a running controller with a
// connected xDS client: the client keeps its configuration and /ready stays 200 while the API server is
// away; the leader loses its lease and stays alive; after the restart the informers resync, so a
// VirtualService change and an endpoint change made then reach the client, and the leader's duties resume.
func TestControllerSurvivesAPIServerRestart(t *testing.T) {
	env := testenv.StartRestartable(t)
	ctx, kube, istio := istioAPIServer(t, env, 150*time.Second)
	c := startController(ctx, t, env.Config, kube, func(o *Options) {
		// Short lease timings, so the outage outlasts the lease.
		o.LeaderElection.LeaseDuration, o.LeaderElection.RenewDeadline, o.LeaderElection.RetryPeriod = 2*time.Second, 1500*time.Millisecond, 250*time.Millisecond
	})
	backends := reviewsMesh(ctx, t, kube, istio)
	mustCreate(t, func() error {
		_, err := istio.NetworkingV1().VirtualServices("default").Create(ctx, routeAll("reviews", "v1"), metav1.CreateOptions{})
		return err
	})
	conn := xdsClient(t, c.XDSAddr())
	eventually(t, "all RPCs reach v1", func() bool { return allFrom(conn, backends["v1"]) })
	eventually(t, "this replica leads", c.leader.isLeader)

	if err := env.StopAPIServer(); err != nil {
		t.Fatal(err)
	}
	outage := time.Now()
	for time.Since(outage) < 5*time.Second {
		if !allFrom(conn, backends["v1"]) {
			t.Fatal("the xDS client lost its configuration while the API server was down")
		}
		if code := httpStatus("http://" + c.ReadyAddr() + "/ready"); code != http.StatusOK {
			t.Fatalf("/ready %d while the API server was down; the last pushed configuration is still served", code)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if c.leader.isLeader() {
		t.Error("still leading after the lease expired")
	}
	if err := env.StartAPIServer(); err != nil {
		t.Fatal(err)
	}
	t.Logf("API server back after %v", time.Since(outage).Round(time.Millisecond))

	// The CRDs' handlers take a moment to come back; keep trying the update until the server takes it.
	waitFor(t, 30*time.Second, "the VirtualService update is accepted", func() bool {
		vs, err := istio.NetworkingV1().VirtualServices("default").Get(ctx, "reviews", metav1.GetOptions{})
		if err != nil {
			return false
		}
		vs.Spec.Http[0].Route[0].Destination.Subset = "v2"
		_, err = istio.NetworkingV1().VirtualServices("default").Update(ctx, vs, metav1.UpdateOptions{})
		return err == nil
	})
	resynced := time.Now()
	waitFor(t, 60*time.Second, "a VirtualService change after the restart reaches the client", func() bool { return allFrom(conn, backends["v2"]) })
	t.Logf("VirtualService change reached the client %v after it was made", time.Since(resynced).Round(time.Millisecond))

	// An endpoint change: v2's pod moves to a new backend.
	moved := startBackend(t, hostIP(t), "reviews-v2-moved")
	slice, err := kube.DiscoveryV1().EndpointSlices("default").Get(ctx, "reviews-v2", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	slice.Ports[0].Port = ptr.To(int32(moved))
	if _, err := kube.DiscoveryV1().EndpointSlices("default").Update(ctx, slice, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the endpoint change reaches the client", func() bool { return allFrom(conn, "reviews-v2-moved") })

	waitFor(t, 30*time.Second, "this replica leads again", c.leader.isLeader)
	mustCreate(t, func() error {
		_, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "after-restart"}}, metav1.CreateOptions{})
		return err
	})
	waitFor(t, 30*time.Second, "the new leader term publishes the root to a new namespace", func() bool {
		cm, err := kube.CoreV1().ConfigMaps("after-restart").Get(ctx, RootCertConfigMap, metav1.GetOptions{})
		return err == nil && cm.Data[rootCertKey] == c.RootPEM()
	})
	// startController's cleanup checks that Run returns nil: the outage never stopped the controller.
}
