#!/usr/bin/env bash
# Formatting is part of CI (issue #13): every C++ file of the project must
# be as clang-format (Debian 12's, version 14) leaves it under the
# committed .clang-format. Prints the files that differ and exits 1.
#   scripts/check_format.sh          check
#   scripts/check_format.sh --fix    reformat them in place
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
tool=$(command -v clang-format-14 || command -v clang-format || true)
[ -n "$tool" ] || { echo "clang-format not found (scripts/install-deps.sh installs it)"; exit 1; }
mapfile -t files < <(git ls-files -- 'lib/*.cpp' 'lib/*.hpp' 'lib/*.in' 'daemon/*.cpp' 'tests/*.cpp' \
  'tests/*.hpp' 'bench/*.cpp' 'bench/*.hpp' | grep -v '\.in$')
if [ "${1:-}" = --fix ]; then
  "$tool" -i "${files[@]}"
  exit 0
fi
bad=()
for f in "${files[@]}"; do
  "$tool" --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [ "${#bad[@]}" -ne 0 ]; then
  printf 'not formatted: %s\n' "${bad[@]}"
  echo "${#bad[@]} file(s) differ from .clang-format; scripts/check_format.sh --fix formats them"
  exit 1
fi
echo "format: ${#files[@]} files as .clang-format has them"
