#!/usr/bin/env bash
# Regenerates the fault x outcome tables in docs/FAULTS.md from a real run
# of the fault matrix and the hostile-response suite (integration_tests
# with --gtest_output=json): what each fault was expected to do, what the
# daemon did on the first, middle and last page, and whether the next good
# walk recovered exactly. Usage: scripts/fault-table.sh (builds first;
# HSSJW_BUILD_DIR as for scripts/build.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${HSSJW_BUILD_DIR:-$root/build}
# HSSJW_INTEGRATION_TESTS=<binary> skips the build and runs that binary.
tests_bin=${HSSJW_INTEGRATION_TESTS:-}
if [ -z "$tests_bin" ]; then
  "$root/scripts/build.sh" --target integration_tests >/dev/null
  tests_bin="$build/tests/integration_tests"
fi
report=$(mktemp --suffix=.json)
trap 'rm -f "$report"' EXIT
# Failures still produce a report: the table shows them.
"$tests_bin" --gtest_filter='faults/fault_matrix.*:hostile/hostile_response.*' \
  --gtest_output="json:$report" >/dev/null || true
python3 - "$report" "$root/docs/FAULTS.md" <<'PY'
import json, re, sys
report, doc = sys.argv[1], sys.argv[2]
rows = {}  # (suite, fault) -> {"expected", "log", page -> cell}
for suite in json.load(open(report))["testsuites"]:
    for t in suite["testsuite"]:
        if "fault" not in t:
            continue
        key = (suite["name"].split("/")[0], t["fault"])
        row = rows.setdefault(key, {"expected": t["expected"], "log": t["log"], "pages": {}})
        ok = not t.get("failures")
        cell = t["observed"] + ("; next walk " + t["recovery"] if "recovery" in t else "")
        row["pages"][t["page"]] = ("✅ " if ok else "❌ ") + cell
def table(suite):
    out = ["| fault | expected | log names | first page | middle page | last page |",
           "|---|---|---|---|---|---|"]
    for (s, fault), r in rows.items():
        if s != suite:
            continue
        log = "`" + r["log"].replace("|", "\\|") + "`" if r["log"] else "—"
        out.append("| `%s` | %s | %s | %s |" % (fault, r["expected"], log,
                   " | ".join(r["pages"].get(p, "not run") for p in ("first", "middle", "last"))))
    return "\n".join(out)
text = open(doc).read()
for suite in ("faults", "hostile"):
    text = re.sub(r"(<!-- table:%s -->\n).*?(\n<!-- end -->)" % suite,
                  lambda m: m.group(1) + table(suite) + m.group(2), text, flags=re.S)
open(doc, "w").write(text)
failed = sum(1 for r in rows.values() for c in r["pages"].values() if c.startswith("❌"))
print("docs/FAULTS.md: %d faults, %d cells failed" % (len(rows), failed))
PY
