#!/usr/bin/env bash
# Times `skiff analyze` as a whole process on generated configuration (per application a Service, a
# Deployment, a VirtualService and a DestinationRule) at 1k and 10k resources and, when an istioctl binary is
# available, `istioctl analyze --use-kube=false` on the same files.
#
#   hack/bench-analyze.sh [resources...]        (default: 1000 10000)
#   ISTIOCTL=/path/to/istioctl RUNS=3 hack/bench-analyze.sh
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-3}
istioctl=${ISTIOCTL:-$HOME/.cache/skiff-bench/istioctl}
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 10000)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$root" && go build -o "$work/skiff" . && go build -o "$work/benchgen" ./pkg/analyze/internal/benchgen)

# best_of CMD...: runs CMD $runs times, prints the fastest wall time and that run's user+sys CPU seconds.
best_of() {
	local best="" cpu=""
	for _ in $(seq "$runs"); do
		local wall user sys
		/usr/bin/time -o "$work/time" -f '%e %U %S' "$@" >/dev/null 2>&1 || true
		read -r wall user sys < <(tail -1 "$work/time")
		if [ -z "$best" ] || awk "BEGIN{exit !($wall < $best)}"; then
			best=$wall
			cpu=$(awk "BEGIN{printf \"%.2f\", $user + $sys}")
		fi
	done
	echo "$best $cpu"
}

printf '%-10s %-9s %10s %10s\n' resources tool "wall (s)" "cpu (s)"
for n in "${sizes[@]}"; do
	dir="$work/in-$n"
	"$work/benchgen" "$dir" "$n"
	# Exit code 79 is expected: the generated v2 subsets have no workloads (SKF0003 is a warning; the
	# threshold is raised so the process exits 0 and a crash would be noticed).
	"$work/skiff" analyze --failure-threshold Error "$dir" >/dev/null 2>&1 || { echo "skiff analyze failed on $n resources" >&2; exit 1; }
	read -r wall cpu <<<"$(best_of "$work/skiff" analyze -A "$dir")"
	printf '%-10s %-9s %10s %10s\n' "$n" skiff "$wall" "$cpu"
	if [ -x "$istioctl" ]; then
		read -r wall cpu <<<"$(best_of "$istioctl" analyze -A --use-kube=false "$dir")"
		printf '%-10s %-9s %10s %10s\n' "$n" istioctl "$wall" "$cpu"
	fi
done
