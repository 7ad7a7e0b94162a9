#!/usr/bin/env bash
# Configures and builds hss-jobwatch into build/ (Release by default).
# Usage: scripts/build.sh [cmake --build args...], e.g. --target hss-jobwatchd
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${HSSJW_BUILD_DIR:-$root/build}
type=${HSSJW_BUILD_TYPE:-Release}
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE="$type" >/dev/null
cmake --build "$build" -j"$(nproc)" "$@"
