package xds

import "testing"

func TestClusterNameRoundTrip(t *testing.T) {
	name := ClusterName(9080, "v2", "reviews.default.svc.cluster.local")
	if name != "outbound|9080|v2|reviews.default.svc.cluster.local" {
		t.Fatalf("ClusterName = %q", name)
	}
	port, subset, host, ok := ParseClusterName(name)
	if !ok || port != 9080 || subset != "v2" || host != "reviews.default.svc.cluster.local" {
		t.Fatalf("ParseClusterName = %d %q %q %v", port, subset, host, ok)
	}
	for _, bad := range []string{"PassthroughCluster", "inbound|80||", "outbound|x||h", "outbound|80|h"} {
		if _, _, _, ok := ParseClusterName(bad); ok {
			t.Errorf("%q parsed as an outbound cluster", bad)
		}
	}
}
