#!/usr/bin/env bash
# Runs Skiff's whole test suite: unit, golden and integration tests against a real kube-apiserver + etcd
# built from Go modules (cached outside the repo by hack/testenv.sh; the first run builds them, ~5 minutes).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
KUBEBUILDER_ASSETS="$(hack/testenv.sh)"
export KUBEBUILDER_ASSETS
unformatted="$(gofmt -l .)"
if [[ -n "$unformatted" ]]; then
	echo "gofmt needed on:" >&2
	echo "$unformatted" >&2
	exit 1
fi
go vet ./...
go test -count=1 -timeout 30m ./... "$@"
