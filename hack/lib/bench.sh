# Shared by hack/bench-*.sh: build skiff once and time commands side by side.
# shellcheck shell=bash

# skiff_bin builds the current tree's skiff into a temp dir and prints its path.
skiff_bin() {
	local out
	out="$(mktemp -d)/skiff"
	(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && go build -trimpath -o "$out" .)
	echo "$out"
}

# timeit NAME RUNS COMMAND... prints the mean wall time over RUNS runs (hyperfine when installed).
timeit() {
	local name="$1" runs="$2"
	shift 2
	if command -v hyperfine >/dev/null; then
		local cmd
		cmd="$(printf '%q ' "$@")"
		hyperfine --warmup 1 --runs "$runs" -N --style basic --command-name "$name" -- "${cmd% }" 2>&1 | grep -E "Time|Range|$name" || true
		return
	fi
	local start end
	start=$(date +%s%N)
	for ((i = 0; i < runs; i++)); do "$@" >/dev/null 2>&1 || true; done
	end=$(date +%s%N)
	echo "$name: mean $(((end - start) / runs / 1000000)) ms over $runs runs"
}
