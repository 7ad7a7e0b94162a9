#!/usr/bin/env python3
"""The layers of lib/ hold (docs/ARCHITECTURE.md): for every library, every
folder it may NOT use is unreachable from its sources' include paths, so an
include against the arrows fails to compile. Reads the compile commands
CMake wrote (CMAKE_EXPORT_COMPILE_COMMANDS) and preprocesses, with each
library's own flags, a one-line file that includes a header of each
forbidden folder; every one of them must fail with "No such file".

    check_layers.py <build dir> <lib dir>
"""
import json
import os
import shlex
import subprocess
import sys
import tempfile

# Who may use whom: the table of docs/ARCHITECTURE.md, transitively closed
# below. A folder not listed for a library must stay out of its reach.
USES = {
    "core": [],
    "model": ["core"],
    "protocol": ["model"],
    "hss": ["model", "core"],
    "config": ["model"],
    "state": ["model"],
    "auth": ["config", "hss"],
    "logging": ["config", "hss", "model"],
    "walk": ["auth", "config", "hss", "state"],
    "sinks": ["config", "protocol", "state", "logging"],
    "metrics": ["walk", "sinks"],
    "runtime": ["config", "hss", "metrics", "walk", "auth", "logging", "sinks", "state"],
    "client": ["model"],
}


def reachable(lib):
    seen, todo = set(), [lib]
    while todo:
        for dep in USES[todo.pop()]:
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen | {lib}


def main():
    build, libdir = sys.argv[1], os.path.abspath(sys.argv[2])
    commands = json.load(open(os.path.join(build, "compile_commands.json")))
    folders = sorted(d for d in os.listdir(libdir) if os.path.isdir(os.path.join(libdir, d)))
    unknown = set(folders) - set(USES)
    if unknown:
        print(f"lib/ folders missing from the layer table: {sorted(unknown)}")
        return 1
    failures, checked = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        probe = os.path.join(tmp, "probe.cpp")
        for lib in USES:
            entry = next((c for c in commands if f"/lib/{lib}/" in c["file"]
                          and not c["file"].endswith("net_impl.cpp")), None)
            if entry is None:
                failures.append(f"{lib}: no compile command (is it still a library?)")
                continue
            args = shlex.split(entry["command"])
            flags = [a for i, a in enumerate(args) if a.startswith(("-I", "-isystem", "-D", "-std"))
                     or (i > 0 and args[i - 1] in ("-isystem",))]
            forbidden = [f for f in folders if f not in reachable(lib)]
            for other in forbidden:
                header = next(h for h in sorted(os.listdir(os.path.join(libdir, other)))
                              if h.endswith(".hpp"))
                with open(probe, "w") as f:
                    f.write(f'#include "{other}/{header}"\n')
                r = subprocess.run([args[0] if "ccache" not in args[0] else args[1], "-E", *flags,
                                    probe, "-o", os.devnull],
                                   cwd=entry["directory"], capture_output=True, text=True)
                checked += 1
                if r.returncode == 0 or "No such file" not in r.stderr:
                    failures.append(f"{lib} can include {other}/{header}, against the layers")
    for f in failures:
        print("FAIL:", f)
    print(f"{checked} forbidden includes checked, {len(failures)} reachable")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
