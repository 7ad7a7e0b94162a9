#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-14 (ASan + UBSan) and runs each
# for a while, starting from the seed corpus in tests/fuzz/corpus/<target>.
# Usage: scripts/fuzz.sh [seconds-per-target (default 30)] [target...]
#   scripts/fuzz.sh            # CI: ~30 s each
#   scripts/fuzz.sh 3600 config  # one long run of one target
# New interesting inputs stay in the build dir; a crash leaves its input in
# $build/artifacts/<target>/ and fails the script: turn it into a unit test
# in tests/unit/ (see docs/FAULTS.md, "Fuzzing").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${HSSJW_FUZZ_BUILD_DIR:-$root/build-fuzz}
seconds=${1:-30}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(page_decoder config api_error http_response socket_request)

CC=clang-14 CXX=clang++-14 cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DHSSJW_FUZZ=ON -DHSSJW_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target fuzzers

failed=()
for t in "${targets[@]}"; do
  corpus="$build/corpus/$t" artifacts="$build/artifacts/$t/"
  mkdir -p "$corpus" "$artifacts"
  echo "== fuzz_$t for ${seconds}s"
  # -timeout: one input taking 10 s is a hang; -rss_limit_mb: a blow-up.
  # The outer timeout bounds libFuzzer's own reporting, which can stall.
  if ! timeout -k 10 $((seconds + 120)) "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" \
      -seed="${HSSJW_FUZZ_SEED:-0}" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
      -artifact_prefix="$artifacts" "$corpus" "$root/tests/fuzz/corpus/$t" 2>"$build/fuzz_$t.log"; then
    if [ "$t" = config ] && grep -qE "out-of-memory|timeout after" "$build/fuzz_$t.log" &&
        ! grep -qE "AddressSanitizer|UndefinedBehaviorSanitizer|property violated" "$build/fuzz_$t.log"; then
      # yaml-cpp 0.7 (Debian 12) can loop or allocate without end on some
      # inputs; lib/config/loader.cpp guards the ones fuzzing found, not
      # necessarily every one. A runaway is reported, not fatal (libFuzzer's
      # report of a huge heap can itself outlast the outer timeout, so the
      # log may end before any stack): see docs/FAULTS.md.
      echo "warning: fuzz_config hit a yaml-cpp 0.7 runaway (memory/time); see $build/fuzz_$t.log"
    else
      failed+=("$t")
      tail -40 "$build/fuzz_$t.log"
    fi
  fi
  # A run killed from outside prints no final stats: nothing to show then.
  grep -E "^stat::(number_of_executed_units|new_units_added|peak_rss_mb)" "$build/fuzz_$t.log" | tr '\n' ' ' || true
  echo
done
if ((${#failed[@]})); then
  echo "fuzzing found crashes in: ${failed[*]} (inputs in $build/artifacts/)" >&2
  exit 1
fi
