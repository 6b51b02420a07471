#!/usr/bin/env bash
# The whole `skiff controller` process at the scale of issue 5 (docs/benchmarks.md, "The controller
# process"): 1,000 Services x 10 endpoints (pods, EndpointSlices, a DestinationRule with subsets v1/v2 and
# a 90/10 VirtualService each) created in a real kube-apiserver, the controller as its own process
# (informers, CA, webhooks, xDS), simulated sidecars connected over ADS from a second process, then one
# VirtualService change through the API server.
#   hack/bench-controller.sh
# Environment:
#   PROXIES    connected proxies                                  (default 2000)
#   REPLICAS   proxies per workload, i.e. sharing one proxy class (default 200: 10 distinct workloads)
#   MEMLIMITS  the controller's memory setting per run, comma-separated: "container=300Mi" (a container
#              limit passed as the installer does; the controller sets GOMEMLIMIT to 3/4 of it), a
#              GOMEMLIMIT value, or "off"                          (default container=300Mi,off)
# Each run prints the controller's VmHWM once ready, after the fleet connected and during the push (reset
# before it), how long the push took from the VirtualService update until every proxy ACKed the new
# routes, and the controller's CPU for it. About 2 minutes on 2 cores at the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

go build -o "$work/skiff" .
go test -c -o "$work/xds.test" ./pkg/xds
assets=$(hack/testenv.sh)
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
(cd pkg/xds && env -u GOMEMLIMIT KUBEBUILDER_ASSETS="$assets" SKIFF_BENCH_CONTROLLER=1 \
	SKIFF_BENCH_CONTROLLER_BIN="$work/skiff" SKIFF_BENCH_PROXIES="${PROXIES:-2000}" \
	SKIFF_BENCH_REPLICAS="${REPLICAS:-200}" SKIFF_BENCH_CONTROLLER_MEMLIMITS="${MEMLIMITS:-container=300Mi,off}" \
	"$work/xds.test" -test.run '^TestScaleControllerProcess$' -test.v -test.timeout=60m)
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
