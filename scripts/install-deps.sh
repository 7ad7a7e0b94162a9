#!/usr/bin/env bash
# Installs every Debian 12 package that the build, the tests, the benchmarks
# and the demo need. Idempotent; run as root (or with sudo available).
set -euo pipefail
packages=(
  g++ cmake ninja-build pkg-config ccache
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev openssl ca-certificates
  libspdlog-dev libyaml-cpp-dev libsqlite3-dev sqlite3 libsystemd-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 socat jq curl git  # curl: the sandbox test reads /metrics; git: .ci/run clones
  acl  # setfacl: tests give a secret file the ACL systemd >= 254 gives credentials
  dpkg-dev file systemd-container
  clang-format-14  # scripts/check_format.sh (CI)
  clang-14 libclang-rt-14-dev llvm-14  # libFuzzer, sanitizer runtimes, symbolizer (scripts/fuzz.sh)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
