#!/usr/bin/env bash
# Control plane scale benchmarks (issue 5): translation of 1,000 services, CA signing rate, and pushes to
# simulated sidecars on real gRPC ADS streams over loopback. See docs/benchmarks.md for what each measures.
#   hack/bench-controlplane.sh
# Environment:
#   PROXIES    connected proxies                                  (default 2000)
#   REPLICAS   proxies per workload, i.e. sharing one proxy class (default 200: 10 distinct workloads)
#   BENCHTIME  pushes measured per benchmark                      (default 3x)
#   FLEET      "process": proxies in a child process, so the server's peak RSS is measured alone;
#              "inline": same process                            (default process)
#   MEMLIMIT   the server's GOMEMLIMIT, as the install sets it from the controller's memory limit
#              ("off" for none)                                  (default 250MiB)
# BenchmarkControlPlaneScale connects the fleet once and runs FullPushAfterVirtualServiceChange and
# IncrementalEDS on it (connecting thousands of proxies takes minutes). The push benchmarks report
# ms/push (change until every proxy ACKed), push-call-ms/push (until model.Build and Server.Push
# returned), cpu-ms/push (the server's CPU), peak-RSS-MB (the server process's VmHWM while pushing),
# connect-peak-RSS-MB and connect-s. At the defaults this takes about 3 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
PROXIES=${PROXIES:-2000}
REPLICAS=${REPLICAS:-200}
BENCHTIME=${BENCHTIME:-3x}
FLEET=${FLEET:-process}
MEMLIMIT=${MEMLIMIT:-250MiB}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

go test -c -o "$work/xds.test" ./pkg/xds
go test -c -o "$work/ca.test" ./pkg/ca
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== translation: model.Build + Generate for one sidecar, 1,000 services x 10 endpoints"
"$work/xds.test" -test.run '^$' -test.bench '^Benchmark(Translate|GenerateOnly)1000Services$' -test.benchtime=10x | grep '^Benchmark'

echo "== CA: signings per second on one core"
"$work/ca.test" -test.run '^$' -test.bench '^BenchmarkSign$' -test.benchtime=2s -test.cpu=1 | grep '^Benchmark'

fleet=""
[[ $FLEET == process ]] && fleet=process
for b in ControlPlaneScale; do
	echo "== $b: $PROXIES proxies, $REPLICAS per workload, proxies run $FLEET, GOMEMLIMIT=$MEMLIMIT"
	GOMEMLIMIT=$MEMLIMIT SKIFF_BENCH_PROXIES=$PROXIES SKIFF_BENCH_REPLICAS=$REPLICAS SKIFF_BENCH_FLEET=$fleet \
		"$work/xds.test" -test.run '^$' -test.bench "^Benchmark$b\$" -test.benchtime="$BENCHTIME" -test.timeout=60m |
		grep '^Benchmark'
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
