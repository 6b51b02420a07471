#!/usr/bin/env bash
# Builds kube-apiserver and etcd from the Go module proxy (tool modules under hack/tools),
# caches them outside the repo, and prints the directory envtest's KUBEBUILDER_ASSETS needs.
#
#   export KUBEBUILDER_ASSETS="$(hack/testenv.sh)"
#
# The cache key is the hash of each tool module's go.mod and go.sum, so a version bump rebuilds.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${SKIFF_TESTENV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/skiff-testenv}"

build() { # name, package, ldflags
	local name="$1" pkg="$2" ldflags="-s -w ${3:-}" dir="$root/hack/tools/$1"
	local key
	key="$( (cat "$dir/go.mod" "$dir/go.sum"; echo "$ldflags") | sha256sum | cut -c1-16)"
	local out="$cache/$key"
	if [[ ! -x "$out/$name" ]]; then
		echo "testenv: building $name (first run only, a few minutes)..." >&2
		mkdir -p "$out"
		(cd "$dir" && CGO_ENABLED=0 go build -trimpath -ldflags="$ldflags" -o "$out/$name.tmp" "$pkg")
		mv "$out/$name.tmp" "$out/$name"
	fi
	mkdir -p "$cache/bin"
	ln -sf "$out/$name" "$cache/bin/$name"
}

build etcd .
# Stamp the version the module builds, as release builds do, so the server reports it (precheck reads it).
kver="$(awk '$1=="require" && $2=="k8s.io/kubernetes" {print $3}' "$root/hack/tools/kube-apiserver/go.mod")"
minor="$(echo "$kver" | cut -d. -f2)"
vpkg=k8s.io/component-base/version
build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver \
	"-X $vpkg.gitVersion=$kver -X $vpkg.gitMajor=1 -X $vpkg.gitMinor=$minor -X $vpkg.gitTreeState=clean"
echo "$cache/bin"
