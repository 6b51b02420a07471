#!/usr/bin/env bash
# Times `skiff kube-inject` against `istioctl kube-inject` on the same 1,000-Deployment manifest, whole
# process (start-up, config loading, injection, output), offline.
#   hack/bench-inject.sh [istioctl-binary]   (default: $ISTIOCTL or /root/.cache/skiff-bench/istioctl)
# istioctl gets its own default configuration, extracted from `istioctl manifest generate`, plus `-r default`
# and an unreachable kubeconfig so it never waits for a cluster; skiff uses its default profile.
set -euo pipefail
cd "$(dirname "$0")/.."
ISTIOCTL=${1:-${ISTIOCTL:-/root/.cache/skiff-bench/istioctl}}
RUNS=${RUNS:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

go build -o "$work/skiff" .

# The same Deployments as BenchmarkInject1000Deployments.
for i in $(seq 0 999); do cat <<YAML
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-$i
  namespace: bench
spec:
  replicas: 2
  selector:
    matchLabels: {app: app-$i}
  template:
    metadata:
      labels: {app: app-$i, version: v1}
    spec:
      containers:
      - name: app
        image: example/app:$i
        ports:
        - {name: http, containerPort: 8080}
        readinessProbe:
          httpGet: {path: /ready, port: http}
        livenessProbe:
          tcpSocket: {port: 8080}
        resources:
          requests: {cpu: 100m, memory: 64Mi}
YAML
done > "$work/apps.yaml"

# best of $RUNS runs: "wall cpu" seconds, cpu = user+sys of the whole process. On a shared machine the CPU
# time is the fairer comparison; both are printed.
best() {
  local best_wall="" best_cpu=""
  for _ in $(seq "$RUNS"); do
    local w c
    read -r w c < <(/usr/bin/time -f "%e %U %S" "$@" 2>&1 >/dev/null | tail -1 | awk '{print $1, $2 + $3}')
    if [[ -z $best_wall ]] || (( $(echo "$w < $best_wall" | bc) )); then best_wall=$w; fi
    if [[ -z $best_cpu ]] || (( $(echo "$c < $best_cpu" | bc) )); then best_cpu=$c; fi
  done
  echo "$best_wall $best_cpu"
}

read -r skiff_wall skiff_cpu < <(best "$work/skiff" kube-inject -f "$work/apps.yaml")
echo "skiff kube-inject, 1000 Deployments:    wall ${skiff_wall}s, cpu ${skiff_cpu}s (best of $RUNS)"

if [[ ! -x $ISTIOCTL ]]; then
  echo "istioctl not found at $ISTIOCTL: skipping the comparison"
  exit 0
fi
"$ISTIOCTL" manifest generate > "$work/istio.yaml"
python3 - "$work" <<'PY'
import sys, yaml
work = sys.argv[1]
for d in yaml.safe_load_all(open(f"{work}/istio.yaml")):
    if d and d.get("kind") == "ConfigMap":
        name, data = d["metadata"]["name"], d.get("data", {})
        if name == "istio":
            open(f"{work}/mesh.yaml", "w").write(data["mesh"])
        elif name == "istio-sidecar-injector":
            open(f"{work}/inject.yaml", "w").write(data["config"])
            open(f"{work}/values.json", "w").write(data["values"])
PY
cat > "$work/kubeconfig" <<'KC'
apiVersion: v1
kind: Config
clusters: [{name: none, cluster: {server: "https://127.0.0.1:1"}}]
contexts: [{name: none, context: {cluster: none, user: none}}]
current-context: none
users: [{name: none, user: {token: x}}]
KC
read -r istio_wall istio_cpu < <(best "$ISTIOCTL" --kubeconfig "$work/kubeconfig" kube-inject -r default -f "$work/apps.yaml" \
  --meshConfigFile "$work/mesh.yaml" --injectConfigFile "$work/inject.yaml" --valuesFile "$work/values.json")
echo "istioctl kube-inject, 1000 Deployments: wall ${istio_wall}s, cpu ${istio_cpu}s (best of $RUNS)"
echo "speed-up: wall $(echo "scale=1; $istio_wall / $skiff_wall" | bc)x, cpu $(echo "scale=1; $istio_cpu / $skiff_cpu" | bc)x"
