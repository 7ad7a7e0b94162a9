#!/usr/bin/env bash
# One command for the micro-benchmarks (issue #8): builds micro_bench in
# build-bench/ (Release), runs it with repetitions and prints the table of
# figures, targets and ratios (target 4: decode + diff of a page within
# 1.5x of Boost.JSON's own parse of the same bytes). Arguments go to
# micro_bench (e.g. --benchmark_filter=page200).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
build="${HSSJW_BENCH_BUILD:-$root/build-bench}"
reps="${HSSJW_BENCH_REPS:-5}"
if [[ ! -f "$build/build.ninja" ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build" -j2 --target micro_bench >/dev/null
out="$(mktemp /tmp/hssjw-micro-XXXXXX.json)"
trap 'rm -f "$out"' EXIT
"$build/bench/micro_bench" --benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true \
  --benchmark_out="$out" --benchmark_out_format=json "$@" >&2
python3 "$here/micro_table.py" "$out"
