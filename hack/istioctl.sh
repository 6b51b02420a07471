#!/usr/bin/env bash
# Builds istioctl from the Go module proxy (istio.io/istio resolves @latest to a pseudo-version) into a cache
# outside the repo, for side-by-side benchmark scripts only; prints the binary's path.
# Nothing of Istio is vendored or committed: the tool module is written to the cache on the fly.
set -euo pipefail
version="${ISTIO_VERSION:-v0.0.0-20260827124520-eed52ebb66ad}"
cache="${SKIFF_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/skiff-bench}"
bin="$cache/istioctl-$version"
if [[ ! -x "$bin" ]]; then
	mod="$cache/istioctl-mod-$version"
	mkdir -p "$mod"
	printf 'module skiff.dev/hack/istioctl\n\ngo 1.26.0\n\nrequire istio.io/istio %s\n' "$version" >"$mod/go.mod"
	printf '//go:build tools\n\npackage tools\n\nimport _ "istio.io/istio/istioctl/cmd/istioctl"\n' >"$mod/tools.go"
	echo "istioctl: building istio.io/istio@$version (first run only, several minutes)..." >&2
	(cd "$mod" && go mod tidy >&2 && go build -o "$bin.tmp" istio.io/istio/istioctl/cmd/istioctl && mv "$bin.tmp" "$bin")
fi
echo "$bin"
