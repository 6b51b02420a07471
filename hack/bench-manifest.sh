#!/usr/bin/env bash
# Side by side: `skiff manifest generate --profile demo` vs `istioctl manifest generate --set profile=demo`,
# whole process. The in-process figure is `go test ./pkg/install -run ^$ -bench RenderDemo -benchmem`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib/bench.sh
source "$here/lib/bench.sh"
skiff="$(skiff_bin)"
timeit "skiff manifest generate --profile demo" 20 "$skiff" manifest generate --profile demo
if [[ "${WITH_ISTIOCTL:-1}" == 1 ]]; then
	istioctl="$("$here/istioctl.sh")"
	timeit "istioctl manifest generate --set profile=demo" 20 "$istioctl" manifest generate --set profile=demo
fi
