package testenv

import (
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// StartWithServiceRange is Start with the API server's Service ClusterIP range set to cidr: envtest's
// default, 10.0.0.0/24, has room for only 254 Services, too few for scale benchmarks.
func StartWithServiceRange(tb testing.TB, cidr string) *Environment {
	tb.Helper()
	api := &envtest.APIServer{}
	api.Configure().Set("service-cluster-ip-range", cidr)
	return startTB(tb, api)
}
