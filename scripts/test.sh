#!/usr/bin/env bash
# The second README command: installs the dependencies, builds everything
# and runs the whole test suite with ctest.
# HSSJW_SANITIZE=1 builds and runs the same suite under ASan + UBSan
# instead (Debug at -O1: the sanitizers, not the optimiser, are the point,
# and -O1 keeps the suite's run time within reach of CI).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
build=${HSSJW_BUILD_DIR:-$root/build}
if [ "${HSSJW_SANITIZE:-0}" = 1 ]; then
  export HSSJW_BUILD_TYPE=Debug
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DHSSJW_SANITIZE=ON \
    -DHSSJW_BUILD_BENCH=OFF -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" >/dev/null
  # A sanitizer report must never pass for the daemon's own exit code 1
  # (a failed walk), hence a distinct exit code; child processes inherit it.
  export ASAN_OPTIONS=${ASAN_OPTIONS:-exitcode=86:detect_leaks=1:strict_init_order=1:detect_stack_use_after_return=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=86}
fi
"$root/scripts/build.sh"
ctest --test-dir "$build" --output-on-failure -j2 --timeout 600 "$@"
