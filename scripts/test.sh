#!/usr/bin/env bash
# The second README command: installs the dependencies, builds everything
# and runs the whole test suite with ctest.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
build=${HSSJW_BUILD_DIR:-$root/build}
ctest --test-dir "$build" --output-on-failure -j2 --timeout 600 "$@"
