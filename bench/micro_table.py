#!/usr/bin/env python3
# Turns micro_bench's JSON output (run_micro.sh) into the table of issue #8:
# medians over the repetitions, the figure, its target and the ratio.
import json
import sys


def medians(path):
    doc = json.load(open(path))
    out = {}
    for b in doc["benchmarks"]:
        if b.get("aggregate_name", "median") != "median":
            continue
        out[b["run_name"]] = b
    return doc["context"], out


def ns(b):
    scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[b["time_unit"]]
    # CPU time: the benchmarks are single-threaded and the machine is
    # shared, so wall time mostly measures the neighbours. The store's
    # benchmarks wait for fsync, so they report wall time (UseRealTime).
    return b["real_time" if b["run_name"].startswith("store/") else "cpu_time"] * scale


def main():
    ctx, m = medians(sys.argv[1])
    rows = []
    parse, decode, both = m.get("page200/json_parse"), m.get("page200/decode"), m.get("page200/decode_diff")
    arena = m.get("page200/json_parse_arena")
    if parse and decode and both:
        mbs = lambda b: b["bytes_per_second"] / 1e6
        rows.append(("page of 200 jobs: json::parse (reference)", f"{ns(parse) / 1e3:.0f} us, {mbs(parse):.0f} MB/s", "", "", ""))
        if arena:
            rows.append(("page: parse into reused arena (floor)", f"{ns(arena) / 1e3:.0f} us, {mbs(arena):.0f} MB/s", "", f"{ns(arena) / ns(parse):.2f}x", ""))
        if (hz := m.get("page200/hazard_scan")):
            rows.append(("page: hazard scan alone (part of decode)", f"{ns(hz) / 1e3:.0f} us, {mbs(hz):.0f} MB/s", "", f"{ns(hz) / ns(parse):.2f}x", ""))
        rows.append(("page: page_decoder::decode", f"{ns(decode) / 1e3:.0f} us, {mbs(decode):.0f} MB/s", "", f"{ns(decode) / ns(parse):.2f}x", ""))
        r = ns(both) / ns(parse)
        rows.append(("4 page: decode + diff / json::parse (steady walk)", f"{ns(both) / 1e3:.0f} us, {mbs(both):.0f} MB/s", "<= 1.5x", f"{r:.2f}x", "yes" if r <= 1.5 else "NO"))
        if (ra := m.get("page200/decode_diff_rendered")):
            rows.append(("page: decode + diff, every body rendered", f"{ns(ra) / 1e3:.0f} us, {mbs(ra):.0f} MB/s", "", f"{ns(ra) / ns(parse):.2f}x", ""))
    for name, b in sorted(m.items()):
        if name.startswith("diff/"):
            n = int(name.split("/")[2])
            label = "steady" if "steady" in name else "1% modified"
            rows.append((f"diff {n} jobs, {label}", f"{ns(b) / 1e6:.1f} ms, {ns(b) / n:.0f} ns/job", "", "", ""))
    if (b := m.get("store/commit_10k_changes/iterations:10/real_time")):
        rows.append(("commit 10k changes + 10k events (store of 100k)", f"{ns(b) / 1e6:.0f} ms", "floor 200-500 ms", "", ""))
    if (b := m.get("store/baseline_commit/100000/iterations:3/real_time")):
        rows.append(("baseline commit 100k jobs + 100k events", f"{ns(b) / 1e6:.0f} ms", "", "", ""))
    if (b := m.get("store/journal_replay_100k/iterations:5/real_time")):
        rate = b["items_per_second"]
        rows.append(("6 journal replay (read_journal, 200/batch)", f"{rate / 1e3:.0f}k events/s", ">= 100k/s", f"{rate / 1e5:.2f}x", "yes" if rate >= 1e5 else "NO"))
    print(f"\nhss-jobwatch micro benchmarks: {ctx.get('num_cpus')} cpus, load {ctx.get('load_avg')}, "
          "medians of the repetitions; CPU time, wall time for store/")
    head = ("figure", "measured (median)", "target", "ratio", "holds")
    table = [head] + rows
    w = [max(len(r[i]) for r in table) for i in range(5)]
    for i, r in enumerate(table):
        print("| " + " | ".join(c.ljust(w[j]) for j, c in enumerate(r)) + " |")
        if i == 0:
            print("|" + "|".join("-" * (x + 2) for x in w) + "|")


if __name__ == "__main__":
    main()
