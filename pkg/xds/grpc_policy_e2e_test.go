package xds_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	networkingapi "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestGRPCRetries: the same flaky backend (every other request fails with UNAVAILABLE) behind a route
// with retries on "unavailable" never fails, and behind a route with retries off fails half the time.
func TestGRPCRetries(t *testing.T) {
	vs := &networkingv1.VirtualService{
		ObjectMeta: metav1.ObjectMeta{Name: "reviews", Namespace: "default"},
		Spec: networkingapi.VirtualService{Hosts: []string{"reviews"}, Http: []*networkingapi.HTTPRoute{
			{Match: headerMatch("x-retry", "yes"), Route: []*networkingapi.HTTPRouteDestination{dest("v1", 0)},
				Retries: &networkingapi.HTTPRetry{Attempts: 3, RetryOn: "unavailable", Backoff: durationpb.New(2 * time.Millisecond)}},
			{Route: []*networkingapi.HTTPRouteDestination{dest("v1", 0)}, Retries: &networkingapi.HTTPRetry{Attempts: 0}},
		}},
	}
	e := startEnvWith(t, []*backend{startBackend(t, "reviews-v1", "v1")}, vs, subsetsRule())
	e.waitReady()
	failures := func(headers ...string) int {
		n := 0
		for range 100 {
			if _, err := e.call(flakyRequest, headers...); err != nil {
				n++
			}
		}
		return n
	}
	if n := failures("x-retry", "yes"); n != 0 {
		t.Fatalf("with retries: %d of 100 failed, want 0", n)
	}
	n := failures()
	t.Logf("without retries: %d of 100 failed", n)
	if n < 40 || n > 60 {
		t.Fatalf("without retries: %d of 100 failed, want about 50", n)
	}
}

// TestGRPCConsistentHash: a DestinationRule hashing on the x-user header pins each user to one of four
// endpoints (gRPC's ring_hash balancer), while different users spread over several.
func TestGRPCConsistentHash(t *testing.T) {
	var backends []*backend
	for i := range 4 {
		backends = append(backends, startBackend(t, fmt.Sprintf("reviews-%d", i), "v1"))
	}
	dr := &networkingv1.DestinationRule{
		ObjectMeta: metav1.ObjectMeta{Name: "reviews", Namespace: "default"},
		Spec: networkingapi.DestinationRule{Host: "reviews", TrafficPolicy: &networkingapi.TrafficPolicy{
			LoadBalancer: &networkingapi.LoadBalancerSettings{LbPolicy: &networkingapi.LoadBalancerSettings_ConsistentHash{
				ConsistentHash: &networkingapi.LoadBalancerSettings_ConsistentHashLB{
					HashKey: &networkingapi.LoadBalancerSettings_ConsistentHashLB_HttpHeaderName{HttpHeaderName: "x-user"},
				},
			}},
		}},
	}
	e := startEnvWith(t, backends, nil, dr)
	e.waitReady()
	used := map[string]bool{}
	for u := range 30 {
		user := fmt.Sprintf("user-%d", u)
		first := ""
		for range 10 {
			name, err := e.call("", "x-user", user)
			if err != nil {
				t.Fatal(err)
			}
			if first == "" {
				first = name
			} else if name != first {
				t.Fatalf("%s went to %s and then %s; consistent hashing should pin it", user, first, name)
			}
		}
		used[first] = true
	}
	t.Logf("30 users spread over %d of 4 endpoints", len(used))
	if len(used) < 2 {
		t.Fatalf("all users hashed to one endpoint: %v", used)
	}
}

// TestGRPCOutlierDetection: with failurePercentageThreshold set, the client stops sending to an endpoint
// that fails every request, so after a few failures every RPC succeeds on the healthy ones. (gRPC
// implements only the success-rate and failure-percentage detectors; consecutive5xxErrors is for Envoy.)
// Envoy's defaults apply: at least 5 hosts, 50 requests per host per interval.
func TestGRPCOutlierDetection(t *testing.T) {
	dr := &networkingv1.DestinationRule{
		ObjectMeta: metav1.ObjectMeta{Name: "reviews", Namespace: "default"},
		Spec: networkingapi.DestinationRule{Host: "reviews", TrafficPolicy: &networkingapi.TrafficPolicy{
			LoadBalancer: &networkingapi.LoadBalancerSettings{LbPolicy: &networkingapi.LoadBalancerSettings_Simple{Simple: networkingapi.LoadBalancerSettings_ROUND_ROBIN}},
			OutlierDetection: &networkingapi.OutlierDetection{
				FailurePercentageThreshold: wrapperspb.UInt32(50),
				Interval:                   durationpb.New(500 * time.Millisecond),
				BaseEjectionTime:           durationpb.New(time.Minute),
				MaxEjectionPercent:         100,
			},
		}},
	}
	noRetries := &networkingv1.VirtualService{
		ObjectMeta: metav1.ObjectMeta{Name: "reviews", Namespace: "default"},
		Spec: networkingapi.VirtualService{Hosts: []string{"reviews"}, Http: []*networkingapi.HTTPRoute{{
			Route:   []*networkingapi.HTTPRouteDestination{{Destination: &networkingapi.Destination{Host: "reviews"}}},
			Retries: &networkingapi.HTTPRetry{Attempts: 0},
		}}},
	}
	backends := []*backend{startBackend(t, "broken", "v1")}
	for i := range 4 {
		backends = append(backends, startBackend(t, fmt.Sprint("healthy-", i), "v1"))
	}
	e := startEnvWith(t, backends, noRetries, dr)
	// Batches of concurrent RPCs keep the per-interval request volume up even on a busy machine.
	deadline := time.Now().Add(10 * time.Second)
	failed, cleanBatches := 0, 0
	for cleanBatches < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the broken endpoint was never ejected (%d failures so far)", failed)
		}
		var wg sync.WaitGroup
		var batchFailed atomic.Int64
		for range 50 {
			wg.Go(func() {
				if _, err := e.call(""); err != nil {
					batchFailed.Add(1)
				}
			})
		}
		wg.Wait()
		failed += int(batchFailed.Load())
		if batchFailed.Load() == 0 && failed > 0 { // clean only counts once the broken endpoint was in use
			cleanBatches++
		} else {
			cleanBatches = 0
		}
	}
	t.Logf("ejected after %d failed RPCs; then 100 RPCs succeeded", failed)
	if failed == 0 {
		t.Fatal("no RPC ever reached the broken endpoint; the test proves nothing")
	}
}
