#!/usr/bin/env bash
# One command for the macro benchmarks (issue #8): builds the release
# binaries in build-bench/ and runs bench/macro.py, which prints the table.
# Arguments go to macro.py, e.g. --jobs 100000 --walks 5 --only latency;
# --only fanout runs the events-socket benchmark of target 6 alone.
# Takes several minutes at 1M jobs; every run inside is bounded (--timeout).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
build="${HSSJW_BENCH_BUILD:-$root/build-bench}"
if [[ ! -f "$build/build.ninja" ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build" -j2 --target hss-jobwatchd hss-fake >/dev/null
exec python3 "$here/macro.py" --build "$build" "$@"
