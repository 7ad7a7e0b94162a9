#!/usr/bin/env bash
# The first README command: installs the dependencies, builds, starts the
# simulated HSS (hss-fake, churn mode) and runs hss-jobwatchd against it
# with config/demo.yaml. Events show on the terminal until Ctrl-C.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" --target hss-jobwatchd hss-jobwatch hss-fake
build=${HSSJW_BUILD_DIR:-$root/build}
demo=/tmp/hss-jobwatch-demo
rm -rf "$demo/state"
mkdir -p "$demo"
umask 077
printf 'demo-token-%s\n' "$RANDOM$RANDOM" > "$demo/token"
"$build/tests/fake_hss/hss-fake" --port 18443 --dir "$demo" --token-file "$demo/token" \
  --projects demo-project-1,demo-project-2 --eps 0,team-a --jobs 30 \
  --churn --churn-interval 2s > "$demo/fake.out" 2> "$demo/fake.log" &
fake_pid=$!
trap 'kill "$fake_pid" 2>/dev/null; wait "$fake_pid" 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q listening "$demo/fake.out" 2>/dev/null && break; sleep 0.1; done
grep -q listening "$demo/fake.out" || { echo "hss-fake did not start; see $demo/fake.log" >&2; exit 1; }
echo "simulated HSS: $(cat "$demo/fake.out")  (its request log: $demo/fake.log)"
echo "hss-jobwatchd: config/demo.yaml, state in $demo/state; Ctrl-C stops both"
"$build/daemon/hss-jobwatchd" --config "$root/config/demo.yaml"
