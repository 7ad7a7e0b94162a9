#!/usr/bin/env python3
# The macro benchmarks of issue #8: real hss-jobwatchd processes against the
# fake HSS (hss-fake --prerender) over TLS on 127.0.0.1, and the Python peer
# against the same fake, each run bounded in time, printing one table with
# the figure, the target and the ratio. Started by bench/run_macro.sh.
#
# What is measured, in order (all against one fake holding --jobs N):
#   baseline   hss-jobwatchd --once on an empty state_dir: the first walk
#              (N "added" events to /dev/null, N rows committed); CPU-s and
#              peak RSS from wait4() of the child.
#   trusted    hss-jobwatchd --once again on that state with
#              trust_last_update_time: requests counted by the fake.
#   restart    the long-running daemon on that state with NOTIFY_SOCKET set:
#              time to READY=1 (state loaded), then --walks steady walks;
#              CPU-s per walk from /proc/PID/stat between the idle points
#              after consecutive walks, RSS (VmRSS) after each walk.
#   empty      the same daemon watching a project with no jobs: the RSS
#              floor that "bytes per job" is measured over.
#   peer       bench/python_peer.py, two walks (baseline, steady), urllib
#              (a TLS connection per page) and --keep-alive.
#   latency    a second fake adding 50 ms per response, a 100-page walk with
#              pages_in_flight 4 and 1 (--once --memory-state), median wall.
#   flat       many walks of a small inventory every second: RSS after each.
#   fanout     target 6, the events socket under load. (a) A daemon with
#              --fanout-subscribers (100) `watch` connections from this
#              process; each SIGHUP adds one scope of the fake, whose
#              baseline commits one burst (default 10 bursts of N/10 jobs,
#              then 20 of 100); commit -> delivery per event and subscriber,
#              every seq checked. (b) A baseline --once of N jobs puts N
#              events in the journal; a daemon on that state (trusted, so it
#              does not walk meanwhile) serves one `watch since 0` client:
#              events/s, and VmRSS every 100 ms while it catches up.
# Targets are the 1M-job figures of the issue; with fewer jobs the CPU and
# readiness targets are scaled linearly and the table says so.
import argparse
import bisect
import collections
import datetime
import json
import math
import os
import queue
import re
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
TOKEN = "bench-token"
HERE = os.path.dirname(os.path.abspath(__file__))


def log(msg):
    print(f"[macro {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ processes

def proc_cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def proc_rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def wait_child(p, timeout):
    """wait4() the child within `timeout` s (killed after it); returns
    (exit status, rusage, wall seconds since the call)."""
    start = time.monotonic()
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            p.returncode = os.waitstatus_to_exitcode(status)
            return p.returncode, ru, time.monotonic() - start
        if time.monotonic() - start > timeout:
            log(f"pid {p.pid} exceeded {timeout}s: terminating it")
            p.send_signal(signal.SIGTERM)
            if not _reaped_within(p, 5):
                p.kill()
                os.wait4(p.pid, 0)
            raise TimeoutError(f"{p.args[0]} did not finish within {timeout}s")
        time.sleep(0.02)


def _reaped_within(p, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pid, _, _ = os.wait4(p.pid, os.WNOHANG)
        if pid:
            return True
        time.sleep(0.05)
    return False


def stop(p, timeout=15):
    if p.poll() is not None:
        return None
    p.send_signal(signal.SIGTERM)
    try:
        return wait_child(p, timeout)
    except TimeoutError:
        return None


class Fake:
    """hss-fake on an ephemeral port; counts the jobs requests it logs."""
    line_re = re.compile(r"GET /v5/[^/]+/kubernetes/jobs\?\S+ -> (\d+)")

    def __init__(self, exe, workdir, jobs, latency_ms=0, timeout=600, projects=("p1",)):
        self.dir = os.path.join(workdir, f"fake-{jobs}-{latency_ms}-{len(projects)}")
        os.makedirs(self.dir, exist_ok=True)
        cmd = [exe, "--port", "0", "--dir", self.dir, "--token", TOKEN, "--projects", ",".join(projects),
               "--jobs", str(jobs), "--prerender"]
        if latency_ms:
            cmd += ["--latency", f"{latency_ms}ms"]
        self.requests = 0
        self.errors = 0
        self.lock = threading.Lock()
        self.p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        threading.Thread(target=self._read_log, daemon=True).start()
        first = queue.Queue()
        threading.Thread(target=lambda: first.put(self.p.stdout.readline()), daemon=True).start()
        start = time.monotonic()
        try:
            line = first.get(timeout=timeout)
        except queue.Empty:
            stop(self.p)
            raise TimeoutError("hss-fake did not start")
        m = re.match(r"listening (\S+) ca=(\S+)", line)
        if not m:
            stop(self.p)
            raise RuntimeError(f"hss-fake: unexpected first line {line!r}")
        self.endpoint, self.ca = m.group(1), m.group(2)
        self.populate_s = time.monotonic() - start
        log(f"fake with {jobs} jobs x {len(projects)} project(s) at {self.endpoint} (ready in {self.populate_s:.1f}s, "
            f"RSS {proc_rss_mb(self.p.pid):.0f} MB)")

    def _read_log(self):
        for line in self.p.stderr:
            m = self.line_re.search(line)
            if m:
                with self.lock:
                    self.requests += 1
                    self.errors += m.group(1) != "200"

    def count(self):
        with self.lock:
            return self.requests

    def cpu(self):
        return proc_cpu(self.p.pid)

    def close(self):
        stop(self.p)


def write_config(path, fake, workdir, name, page_size=200, pages_in_flight=4, interval="60s",
                 trust=False, project="p1", projects=None, log_level="debug", journal_max_events=None):
    token_file = os.path.join(workdir, "token")
    with open(token_file, "w") as f:
        f.write(TOKEN + "\n")
    os.chmod(token_file, 0o600)  # the daemon refuses a secret others can read
    state = os.path.join(workdir, f"state-{name}")
    os.makedirs(state, exist_ok=True)
    with open(path, "w") as f:
        f.write(f"""endpoint: {fake.endpoint}
auth: {{method: token, token_file: {token_file}}}
tls: {{ca_file: {fake.ca}}}
projects:
{"".join(f"  - id: {p}{chr(10)}" for p in (projects or [project]))}poll:
  interval: {interval}
  jitter: 0%
  rate: unlimited
  page_size: {page_size}
  pages_in_flight: {pages_in_flight}
  max_in_flight: 16
  timeout: 60s
  retry: {{attempts: 2, initial: 100ms, max: 1s}}
  trust_last_update_time: {"true" if trust else "false"}
state_dir: {state}
socket: {{path: {os.path.join(workdir, f"events-{name}.sock")}}}
log: {{level: {log_level}, target: stderr}}
""")
        if journal_max_events:
            f.write(f"journal: {{max_events: {journal_max_events}, max_age: 7d}}\n")
    return path


def run_once(daemon, cfg, workdir, name, extra=(), timeout=900):
    """hss-jobwatchd --once; events to /dev/null. CPU-s, wall, peak RSS."""
    errlog = open(os.path.join(workdir, f"{name}.stderr"), "w")
    start = time.monotonic()
    p = subprocess.Popen([daemon, "--config", cfg, "--once", *extra], stdout=subprocess.DEVNULL,
                         stderr=errlog)
    rc, ru, _ = wait_child(p, timeout)
    wall = time.monotonic() - start
    errlog.close()
    if rc != 0:
        raise RuntimeError(f"{name}: hss-jobwatchd exited {rc}; see {errlog.name}")
    return {"cpu": ru.ru_utime + ru.ru_stime, "wall": wall, "peak_mb": ru.ru_maxrss / 1024}


class Watched:
    """A long-running hss-jobwatchd: READY=1 over our own NOTIFY_SOCKET, walk
    ends from its debug log, CPU and RSS from /proc."""
    walk_re = re.compile(r"walk (complete|unchanged) \((\d+) jobs, (\d+) requests")

    def __init__(self, daemon, cfg, workdir, name):
        self.notify_path = os.path.join(workdir, f"notify-{name}.sock")
        if os.path.exists(self.notify_path):
            os.unlink(self.notify_path)
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(self.notify_path)
        self.walks = []  # (status, jobs, requests)
        self.hooks = []  # called with every log line, on the reader thread
        self.lock = threading.Lock()
        env = dict(os.environ, NOTIFY_SOCKET=self.notify_path)
        env.pop("JOURNAL_STREAM", None)
        self.errlog_path = os.path.join(workdir, f"{name}.stderr")
        self.errlog = open(self.errlog_path, "w")
        self.start = time.monotonic()
        self.ready_at = None
        threading.Thread(target=self._read_notify, daemon=True).start()
        self.p = subprocess.Popen([daemon, "--config", cfg], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True, env=env)
        threading.Thread(target=self._read_log, daemon=True).start()

    def _read_log(self):
        for line in self.p.stderr:
            self.errlog.write(line)
            for hook in self.hooks:
                hook(line)
            m = self.walk_re.search(line)
            if m:
                with self.lock:
                    self.walks.append((m.group(1), int(m.group(2)), int(m.group(3))))

    def _read_notify(self):
        # Like systemd, read every message: a full queue would block the
        # daemon's next sd_notify (STATUS= after each walk, STOPPING=1).
        while True:
            try:
                msg = self.notify.recv(4096).decode()
            except OSError:
                return
            if "READY=1" in msg.split("\n") and self.ready_at is None:
                self.ready_at = time.monotonic()

    def wait_ready(self, timeout):
        while time.monotonic() - self.start < timeout:
            if self.ready_at is not None:
                return self.ready_at - self.start
            if self.p.poll() is not None:
                raise RuntimeError(f"daemon exited {self.p.returncode}; see {self.errlog_path}")
            time.sleep(0.01)
        raise TimeoutError("no READY=1")

    def walk_count(self):
        with self.lock:
            return len(self.walks)

    def wait_walk(self, n, timeout, settle=0.5):
        """Waits for the n-th walk's log line, then for the CPU to stop
        moving (diff and commit come after the line); returns (cpu, rss)."""
        deadline = time.monotonic() + timeout
        while self.walk_count() < n:
            if self.p.poll() is not None:
                raise RuntimeError(f"daemon exited {self.p.returncode}; see {self.errlog_path}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"walk {n} did not end within {timeout}s")
            time.sleep(0.05)
        last, since = proc_cpu(self.p.pid), time.monotonic()
        while time.monotonic() - since < settle and time.monotonic() < deadline:
            time.sleep(0.05)
            now = proc_cpu(self.p.pid)
            if now != last:
                last, since = now, time.monotonic()
        return last, proc_rss_mb(self.p.pid)

    def close(self):
        r = stop(self.p)
        self.notify.shutdown(socket.SHUT_RDWR)
        self.notify.close()
        os.unlink(self.notify_path)
        return r


def run_peer(fake, args, keep_alive):
    cmd = [sys.executable, os.path.join(HERE, "python_peer.py"), "--endpoint", fake.endpoint,
           "--ca", fake.ca, "--token", TOKEN, "--walks", "2", "--page-size", str(args.page_size)]
    if keep_alive:
        cmd.append("--keep-alive")
    errpath = os.path.join(args.workdir, f"peer{'-keepalive' if keep_alive else ''}.stderr")
    with open(errpath, "w") as err:
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        rc, ru, _ = wait_child(p, args.timeout)
    if rc != 0:
        raise RuntimeError(f"python peer exited {rc}; see {errpath}")
    walks = [json.loads(line) for line in open(errpath) if line.startswith("{")]
    return {"walks": [w for w in walks if "walk" in w], "peak_mb": ru.ru_maxrss / 1024}


# --------------------------------------------------------------------- runs

def pages_min(n, ps):
    return max(1, math.ceil(n / ps))


def pages_overlapping(n, ps):
    # The walker's plan: consecutive pages share one job (docs/WALKER.md).
    return 1 if n <= ps else (n - 1 + ps - 2) // (ps - 1)


def inventory_runs(args, rows, notes):
    n, ps = args.jobs, args.page_size
    scale = n / 1_000_000
    fake = Fake(args.fake, args.workdir, n, timeout=args.timeout)
    try:
        # Baseline: --once, persistent state.
        cfg = write_config(os.path.join(args.workdir, "main.yaml"), fake, args.workdir, "main",
                           page_size=ps, interval=f"{args.interval}s")
        before, fcpu0 = fake.count(), fake.cpu()
        log("baseline walk (--once, empty state)")
        base = run_once(args.daemon, cfg, args.workdir, "baseline", timeout=args.timeout)
        base_requests = fake.count() - before
        log(f"baseline: {base['cpu']:.2f} CPU-s, {base['wall']:.1f}s wall, peak {base['peak_mb']:.0f} MB, "
            f"{base_requests} requests, fake {fake.cpu() - fcpu0:.2f} CPU-s")

        # Trusted: --once on the stored state, trust_last_update_time.
        tcfg = write_config(os.path.join(args.workdir, "trusted.yaml"), fake, args.workdir, "main",
                            page_size=ps, trust=True)
        before = fake.count()
        trusted = run_once(args.daemon, tcfg, args.workdir, "trusted", timeout=args.timeout)
        trusted_requests = fake.count() - before
        log(f"trusted --once: {trusted_requests} request(s), {trusted['cpu']:.2f} CPU-s (incl. loading state)")

        # Restart: long-running daemon on the stored state.
        log(f"long-running daemon: READY=1, then {args.walks} steady walks every {args.interval}s")
        w = Watched(args.daemon, cfg, args.workdir, "steady")
        steady_cpu, rss, fake_cpu, reqs = [], [], [], []
        try:
            ready_s = w.wait_ready(args.timeout)
            cpu_ready = proc_cpu(w.p.pid)
            rss_ready = proc_rss_mb(w.p.pid)
            last = cpu_ready
            for k in range(1, args.walks + 1):
                f0 = fake.cpu()
                cpu, r = w.wait_walk(k, args.interval * 3 + args.timeout)
                steady_cpu.append(cpu - last)
                fake_cpu.append(fake.cpu() - f0)
                last = cpu
                rss.append(r)
                reqs.append(w.walks[k - 1][2])
                log(f"walk {k}: {steady_cpu[-1]:.2f} CPU-s, {w.walks[k - 1][2]} requests, RSS {r:.0f} MB")
        finally:
            ended = w.close()
        steady_peak = ended[1].ru_maxrss / 1024 if ended else float("nan")

        # Empty: the same daemon over a project that lists nothing.
        ecfg = write_config(os.path.join(args.workdir, "empty.yaml"), fake, args.workdir, "empty",
                            page_size=ps, project="p-empty")
        e = Watched(args.daemon, ecfg, args.workdir, "empty")
        try:
            e.wait_ready(60)
            _, rss_empty = e.wait_walk(1, 60)
        finally:
            e.close()

        # The Python peer, same fake, same inventory.
        peers = {}
        for keep in ([False, True] if args.peer_keepalive else [False]):
            label = "keep-alive" if keep else "urllib"
            log(f"python peer ({label}): baseline + steady walk")
            peers[label] = run_peer(fake, args, keep)
            log(f"python peer ({label}): {peers[label]['walks']}, peak {peers[label]['peak_mb']:.0f} MB")
    finally:
        fake.close()

    med = statistics.median(steady_cpu)
    rows.append(("1 steady walk, daemon CPU-s (median of %d)" % len(steady_cpu), med, 2.5 * scale,
                 med / (2.5 * scale), med <= 2.5 * scale))
    for label, peer in peers.items():
        pcpu = peer["walks"][-1]["cpu_s"]
        rows.append((f"1 python peer ({label}) steady walk CPU-s", pcpu, None, None, None))
        med = max(med, 1e-9)
        rows.append((f"1 peer CPU / daemon CPU ({label})", pcpu / med, 8.0, (pcpu / med) / 8.0,
                     pcpu / med >= 8.0))
        rows.append((f"  peer ({label}) peak RSS MB", peer["peak_mb"], None, None, None))
    per_job = (statistics.median(rss) - rss_empty) * 1024 * 1024 / n
    rows.append(("2 RSS per job held, bytes (steady RSS - empty daemon)", per_job, 100,
                 per_job / 100, per_job <= 100))
    # From walk 2: the first walk after a restart sizes the allocator's
    # pools (its transient observation), later walks reuse them.
    first = 1 if len(rss) > 2 else 0
    growth = (rss[-1] - rss[first]) / rss[first] * 100 if len(rss) > 1 else float("nan")
    rows.append((f"2 RSS growth walk {first + 1} -> {len(rss)} (%)", growth, 1.0, growth / 1.0,
                 growth < 1.0))
    rows.append(("  daemon RSS after walks / empty daemon RSS, MB", statistics.median(rss), None,
                 None, None))
    rows.append(("  empty daemon RSS MB", rss_empty, None, None, None))
    rows.append(("  daemon peak RSS MB (long-running / baseline --once)",
                 f"{steady_peak:.0f} / {base['peak_mb']:.0f}", None, None, None))
    rows.append(("3 baseline walk CPU-s (--once, SQLite, events to /dev/null)", base["cpu"],
                 10 * scale, base["cpu"] / (10 * scale), base["cpu"] <= 10 * scale))
    rows.append(("3 restart with stored jobs to READY=1, s", ready_s, 2 * scale,
                 ready_s / (2 * scale), ready_s <= 2 * scale))
    rows.append(("7 requests per steady walk / ceil(n/page_size)", f"{statistics.median(reqs)} / "
                 f"{pages_min(n, ps)}", None, statistics.median(reqs) / pages_min(n, ps),
                 statistics.median(reqs) == pages_min(n, ps)))
    rows.append(("7 requests per walk / planned with 1-job overlap", f"{statistics.median(reqs)} / "
                 f"{pages_overlapping(n, ps)}", None, statistics.median(reqs) / pages_overlapping(n, ps),
                 statistics.median(reqs) == pages_overlapping(n, ps)))
    rows.append(("7 requests with trust_last_update_time (stable)", trusted_requests, 1,
                 trusted_requests / 1, trusted_requests == 1))
    rows.append(("  fake CPU-s per steady walk (prerendered pages)", statistics.median(fake_cpu),
                 None, None, None))
    notes.append(f"baseline: {base['wall']:.1f}s wall, {base_requests} requests; trusted --once "
                 f"(loads {n} stored jobs, 1 request): {trusted['cpu']:.2f} CPU-s; "
                 f"RSS at READY {rss_ready:.0f} MB; steady walks CPU-s {[round(c, 2) for c in steady_cpu]}, "
                 f"RSS MB {[round(r) for r in rss]}")


def latency_runs(args, rows, notes):
    ps = args.page_size
    n = 100 * (ps - 1)  # exactly 100 pages with the 1-job overlap
    fake = Fake(args.fake, args.workdir, n, latency_ms=50, timeout=args.timeout)
    walls = {1: [], 4: []}
    try:
        for rep in range(args.reps):
            for pif in (4, 1):
                cfg = write_config(os.path.join(args.workdir, f"lat{pif}.yaml"), fake, args.workdir,
                                   f"lat{pif}", page_size=ps, pages_in_flight=pif)
                before = fake.count()
                r = run_once(args.daemon, cfg, args.workdir, f"latency-{pif}", ["--memory-state"],
                             timeout=args.timeout)
                walls[pif].append(r["wall"])
                log(f"latency rep {rep + 1}: pages_in_flight {pif}: {r['wall']:.2f}s wall, "
                    f"{fake.count() - before} requests")
    finally:
        fake.close()
    w1, w4 = statistics.median(walls[1]), statistics.median(walls[4])
    rows.append(("5 100-page walk +50 ms/response: wall(pages_in_flight 4) / wall(1)",
                 f"{w4 / w1:.3f} ({w4:.2f}s / {w1:.2f}s)", 0.3, (w4 / w1) / 0.3, w4 / w1 <= 0.3))
    notes.append(f"latency walls (s): pages_in_flight 4 {[round(x, 2) for x in walls[4]]}, "
                 f"1 {[round(x, 2) for x in walls[1]]}; ratio {w4 / w1:.3f}")


def flat_run(args, rows, notes):
    """Many walks of a small inventory every second: RSS after each."""
    fake = Fake(args.fake, args.workdir, args.flat_jobs, timeout=args.timeout)
    try:
        cfg = write_config(os.path.join(args.workdir, "flat.yaml"), fake, args.workdir, "flat",
                           page_size=args.page_size, interval="1s")
        w = Watched(args.daemon, cfg, args.workdir, "flat")
        rss = []
        try:
            w.wait_ready(60)
            for k in range(1, args.flat_walks + 1):
                rss.append(w.wait_walk(k, 120, settle=0.1)[1])
        finally:
            w.close()
    finally:
        fake.close()
    ref = rss[min(2, len(rss) - 1)]  # after the first walks have sized the buffers
    growth = (max(rss[2:] or rss) - ref) / ref * 100
    rows.append((f"2 RSS growth over {len(rss)} walks of {args.flat_jobs} jobs (%)", growth, 1.0,
                 growth / 1.0, growth < 1.0))
    notes.append(f"flat run RSS MB: first {rss[:3]}, last {rss[-3:]}, max {max(rss)}")

# ------------------------------------------------------------------ fan-out
# Target 6: real subscribers on the events socket (SPEC §5), plain AF_UNIX
# connections speaking the line protocol from this process. Event lines are
# not parsed as JSON (that would make this process the bottleneck): one
# regex over each received chunk takes the seqs, which are checked to be
# exactly the next ones (strictly +1, nothing missing or repeated), and
# each chunk is recorded as (receive time, first seq, count, event times).
# Even so this process spends ~2x the daemon's CPU per delivery; the notes
# print both.

EVENT_RE = re.compile(rb'\{"v":1,"seq":(\d+),"type":"[a-z]+","time":"([^"]+)"')
SEQ_RE = re.compile(rb'\{"v":1,"seq":(\d+),"type"')
EVENT_MARK = b'{"v":1,"seq":'
STRICT_SEQS = False  # --strict-seqs
# log_sink's line for a baseline commit: logged right after the commit and
# before the socket is told (conclude_walk(): store commit, then
# walk_runner::record: the sinks in order log, metrics, socket), with
# spdlog's ms timestamp.
COMMIT_RE = re.compile(r"^(\S+) info baseline of (\S+): (\d+) jobs added \(seq (\d+)\.\.(\d+)\)")


def parse_iso(ts):
    return datetime.datetime.fromisoformat(ts).timestamp()


class Subscriber:
    def __init__(self, path, request, timeout=30):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        buf = b""
        while b"\n" not in buf:
            data = self.sock.recv(65536)
            if not data:
                raise RuntimeError("socket closed before hello")
            buf += data
        line, _, rest = buf.partition(b"\n")
        self.hello = json.loads(line)
        if self.hello.get("type") != "hello":
            raise RuntimeError(f"expected hello, got {line[:200]!r}")
        self.sock.sendall(json.dumps(request).encode() + b"\n")
        self.sock.setblocking(False)
        since = request.get("since")
        self.next = (since if since is not None else self.hello["seq"]) + 1
        self.tail = b""
        self.chunks = []  # (recv time, first seq, count, Counter of time strings)
        self.events = 0
        self.failure = None
        if rest:
            self.feed(rest, time.time())

    def feed(self, data, t):
        buf = self.tail + data if self.tail else data
        cut = buf.rfind(b"\n")
        if cut < 0:
            self.tail = buf
            return
        lines, self.tail = buf[:cut + 1], buf[cut + 1:]
        if b'"type":"error"' in lines:
            i = lines.find(b'"type":"error"')
            start = lines.rfind(b"\n", 0, i) + 1
            end = lines.find(b"\n", i)
            self.failure = "server error line: " + lines[start:end].decode(errors="replace")[:300]
            return
        # Event lines are counted, and the first and last parsed: seqs +1
        # from the expected one with as many lines as seqs is "every event
        # once, in order" for whole lines of consecutive seqs, at a fraction
        # of parsing every line (one Python process reads all subscribers,
        # so its cost per line is in every latency figure). --strict-seqs
        # parses every line.
        n = lines.count(EVENT_MARK)
        if not n:
            return  # bookmark, scope_status
        first = EVENT_RE.search(lines)
        last = EVENT_RE.search(lines, lines.rfind(EVENT_MARK))
        f, l = int(first.group(1)), int(last.group(1))
        if STRICT_SEQS:
            seqs = list(map(int, SEQ_RE.findall(lines)))
            if seqs != list(range(self.next, self.next + len(seqs))):
                bad = next(i for i, v in enumerate(seqs) if v != self.next + i)
                self.failure = f"expected seq {self.next + bad}, got {seqs[bad]}"
                return
        if f != self.next or l != self.next + n - 1:
            self.failure = f"expected seqs {self.next}..{self.next + n - 1} in {n} lines, got {f}..{l}"
            return
        if self.record:
            # One walk's events share their time: read the first and the
            # last event's, and every one only when they differ.
            t0, t1 = first.group(2), last.group(2)
            times = {t0: n} if t0 == t1 else collections.Counter(x[1] for x in EVENT_RE.findall(lines))
            self.chunks.append((t, f, n, times))
        self.next += n
        self.events += n

    record = True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


RECV_BUF = bytearray(1 << 18)  # a Unix socket buffer holds ~200 KiB
RECV_VIEW = memoryview(RECV_BUF)


def pump(subs, until_seq, deadline, daemon_proc, sel):
    """Reads every subscriber until each has every event <= until_seq."""
    pending = {s for s in subs if s.next <= until_seq}
    while pending:
        for key, _ in sel.select(timeout=0.5):
            s = key.data
            try:
                # Into one buffer kept for the run: a fresh 256 KiB object per
                # recv is an mmap and its page faults each time (glibc).
                got = s.sock.recv_into(RECV_BUF)
            except BlockingIOError:
                continue
            t = time.time()
            data = bytes(RECV_VIEW[:got])
            if not data:
                raise RuntimeError(f"subscriber closed by the daemon after seq {s.next - 1}")
            s.feed(data, t)
            if s.failure:
                raise RuntimeError(f"subscriber: {s.failure}")
            if s.next > until_seq:
                pending.discard(s)
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(pending)} subscriber(s) still behind seq {until_seq} "
                               f"(lowest at {min(s.next for s in pending) - 1})")
        if daemon_proc.poll() is not None:
            raise RuntimeError(f"daemon exited {daemon_proc.returncode}")


def weighted_quantiles(samples, qs):
    """samples: list of (value, weight); returns the value at each quantile."""
    samples = sorted(samples)
    total = sum(w for _, w in samples)
    out, acc, i = [], 0, 0
    for q in qs:
        target = q * total
        while i < len(samples) - 1 and acc + samples[i][1] < target:
            acc += samples[i][1]
            i += 1
        out.append(samples[i][0])
    return out


def perf_start(args, pid, name):
    if not args.perf or not shutil.which("perf"):
        return None
    path = os.path.join(args.workdir, f"perf-{name}.data")
    p = subprocess.Popen(["perf", "record", "-F", "999", "-p", str(pid), "-o", path],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)  # perf attaches
    return p, path


def perf_stop(args, handle, notes, what):
    if not handle:
        return
    p, path = handle
    p.send_signal(signal.SIGINT)
    try:
        wait_child(p, 30)
    except TimeoutError:
        return
    try:
        out = subprocess.run(["perf", "report", "-i", path, "--stdio", "--no-children", "--sort",
                              "dso,symbol", "-F", "overhead,dso,sym", "--percent-limit", "1.5"], capture_output=True, text=True,
                             timeout=120).stdout
    except subprocess.TimeoutExpired:
        return
    top = [re.sub(r"( -)+$", "", " ".join(l.split())) for l in out.splitlines()
           if l.strip() and not l.startswith("#")]
    top = sorted(top, key=lambda l: -float(l.split("%")[0]))[:18]
    notes.append(f"perf ({what}), flat, daemon only:\n    " + "\n    ".join(top))


def fanout_latency(args, rows, notes, nb, per, name):
    nsubs = args.fanout_subscribers
    projects = [f"f{i:03d}" for i in range(1, nb + 1)]
    fake = Fake(args.fake, args.workdir, per, timeout=args.timeout, projects=projects)
    subs, sel = [], selectors.DefaultSelector()
    commits = {}  # first seq -> (commit log time, last seq, scope)

    def on_line(line):
        m = COMMIT_RE.match(line)
        if m and int(m.group(3)) > 0:
            commits[int(m.group(4))] = (parse_iso(m.group(1)), int(m.group(5)), m.group(2))

    try:
        path = os.path.join(args.workdir, f"{name}.yaml")

        def config(k):  # the first k burst projects, after one that lists nothing
            write_config(path, fake, args.workdir, name, page_size=args.page_size, interval="3600s",
                         projects=["p-empty"] + projects[:k], log_level="info")
        config(0)
        w = Watched(args.daemon, path, args.workdir, name)
        w.hooks.append(on_line)
        try:
            w.wait_ready(60)
            sock_path = os.path.join(args.workdir, f"events-{name}.sock")
            for _ in range(nsubs):
                s = Subscriber(sock_path, {"op": "watch"})
                subs.append(s)
                sel.register(s.sock, selectors.EVENT_READ, s)
            base = subs[0].hello["seq"]
            log(f"fan-out: {nsubs} subscribers watching; {nb} bursts of {per} events "
                f"(one new scope's baseline per SIGHUP)")
            rss0 = proc_rss_mb(w.p.pid)
            cpu0, py0, wall0 = proc_cpu(w.p.pid), time.process_time(), time.monotonic()
            perf = perf_start(args, w.p.pid, name) if name == "fanout" else None
            peak = rss0
            for k in range(1, nb + 1):
                config(k)
                w.p.send_signal(signal.SIGHUP)
                pump(subs, base + k * per, time.monotonic() + args.timeout, w.p, sel)
                peak = max(peak, proc_rss_mb(w.p.pid))
                time.sleep(0.2)  # bursts apart, as walks of different scopes would be
            perf_stop(args, perf, notes, f"{nb} bursts of {per} events to {nsubs} subscribers")
            cpu = proc_cpu(w.p.pid) - cpu0
            py = time.process_time() - py0
            wall = time.monotonic() - wall0
            rss1 = proc_rss_mb(w.p.pid)
            time.sleep(1)  # the log reader has seen every commit line
        finally:
            for s in subs:
                s.close()
            w.close()
    finally:
        fake.close()

    total = nb * per
    for i, s in enumerate(subs):
        if s.events != total or s.next != base + total + 1:
            raise RuntimeError(f"subscriber {i}: {s.events} events, next seq {s.next}; expected {total}")
    starts = sorted(commits)
    if len(starts) != nb:
        raise RuntimeError(f"{len(starts)} baseline commit lines in the log for {nb} bursts")
    lat_commit, lat_event, drain = [], [], collections.defaultdict(float)
    time_cache = {}
    for s in subs:
        for t, first, n, times in s.chunks:
            b = starts[bisect.bisect_right(starts, first) - 1]
            ct, last, _ = commits[b]
            if first + n - 1 > last:
                raise RuntimeError("a received chunk spans two commits")
            lat_commit.append((t - ct, n))
            drain[b] = max(drain[b], t - ct)
            for ts, cnt in times.items():
                if ts not in time_cache:
                    time_cache[ts] = parse_iso(ts.decode())
                lat_event.append((t - time_cache[ts], cnt))
    p50, p99, pmax = (x * 1000 for x in weighted_quantiles(lat_commit, [0.5, 0.99, 1.0]))
    e50, e99, emax = (x * 1000 for x in weighted_quantiles(lat_event, [0.5, 0.99, 1.0]))
    deliveries = total * nsubs
    busy = sum(drain.values())
    rows.append((f"6 commit -> delivery, {nsubs} subscribers, {nb} bursts of {per}: p99 ms", p99, 10.0,
                 p99 / 10.0, p99 <= 10.0))
    rows.append(("  commit -> delivery p50 / max ms (commit = the baseline log line)",
                 f"{p50:.1f} / {pmax:.1f}", None, None, None))
    rows.append(("  event time -> delivery p50 / p99 / max ms (upper bound)",
                 f"{e50:.1f} / {e99:.1f} / {emax:.1f}", None, None, None))
    rows.append(("  burst drained (commit -> last subscriber has all), median ms",
                 statistics.median(drain.values()) * 1000, None, None, None))
    rows.append(("  deliveries/s while draining (events x subscribers)", deliveries / busy, None, None, None))
    rows.append(("  CPU us per delivery: daemon / this process (the subscribers)",
                 f"{cpu / deliveries * 1e6:.2f} / {py / deliveries * 1e6:.2f}", None, None, None))
    rows.append((f"  every subscriber got all {total} events once, seq +1", True, None, None, True))
    notes.append(f"fan-out {nb} x {per}: {deliveries} deliveries in {wall:.1f}s wall; daemon {cpu:.2f} CPU-s "
                 f"({cpu / deliveries * 1e6:.2f} us per delivery), this process {py:.2f} CPU-s; "
                 f"daemon RSS {rss0:.0f} -> peak {peak:.0f} -> {rss1:.0f} MB; per-burst drain ms "
                 f"{[round(drain[b] * 1000) for b in starts]}")


def fanout_catchup(args, rows, notes):
    n = args.jobs
    fake = Fake(args.fake, args.workdir, n, timeout=args.timeout)
    try:
        keep = max(1_000_000, 2 * n)
        cfg = write_config(os.path.join(args.workdir, "catchup.yaml"), fake, args.workdir, "catchup",
                           page_size=args.page_size, journal_max_events=keep)
        log(f"catch-up: baseline --once of {n} jobs ({n} events into the journal)")
        base = run_once(args.daemon, cfg, args.workdir, "catchup-baseline", timeout=args.timeout)
        log(f"catch-up: baseline {base['cpu']:.1f} CPU-s, {base['wall']:.1f}s wall")
        # The long-running daemon on that state; trusted, so that its first
        # walk is one request and no walk runs during the catch-up.
        tcfg = write_config(os.path.join(args.workdir, "catchup-run.yaml"), fake, args.workdir, "catchup",
                            page_size=args.page_size, interval="3600s", trust=True,
                            journal_max_events=keep)
        w = Watched(args.daemon, tcfg, args.workdir, "catchup")
        runs = []
        try:
            w.wait_ready(args.timeout)
            w.wait_walk(1, args.timeout, settle=1.0)
            sock_path = os.path.join(args.workdir, "events-catchup.sock")
            for rep in range(args.reps):
                samples = []
                stop_sampling = threading.Event()

                def sample():
                    while not stop_sampling.is_set():
                        samples.append(proc_rss_mb(w.p.pid))
                        stop_sampling.wait(0.1)
                rss_start = proc_rss_mb(w.p.pid)
                cpu0 = proc_cpu(w.p.pid)
                sampler = threading.Thread(target=sample, daemon=True)
                sampler.start()
                t0 = time.monotonic()
                s = Subscriber(sock_path, {"op": "watch", "since": 0})
                s.record = False
                last, oldest = s.hello["seq"], s.hello["oldest_seq"]
                if oldest != 1 or last < n:
                    raise RuntimeError(f"journal holds {oldest}..{last}, not the {n} baseline events")
                sel = selectors.DefaultSelector()
                sel.register(s.sock, selectors.EVENT_READ, s)
                try:
                    pump([s], last, time.monotonic() + args.timeout, w.p, sel)
                    secs = time.monotonic() - t0
                finally:
                    s.close()
                    sel.close()
                    stop_sampling.set()
                    sampler.join()
                cpu = proc_cpu(w.p.pid) - cpu0
                time.sleep(0.5)
                rss_end = proc_rss_mb(w.p.pid)
                runs.append({"rate": last / secs, "secs": secs, "cpu": cpu, "start": rss_start,
                             "peak": max(samples + [rss_end]), "end": rss_end, "samples": len(samples)})
                log(f"catch-up {rep + 1}: {last} events in {secs:.2f}s ({last / secs / 1000:.0f}k/s), "
                    f"daemon {cpu:.2f} CPU-s, RSS {rss_start:.0f} -> peak {runs[-1]['peak']:.0f} -> "
                    f"{rss_end:.0f} MB ({len(samples)} samples)")
        finally:
            w.close()
    finally:
        fake.close()
    rate = statistics.median(r["rate"] for r in runs)
    first = runs[0]
    growth = (max(r["peak"] for r in runs) - first["start"]) / first["start"] * 100
    rows.append((f"6 catch-up from the journal, {n} behind: events/s (median of {len(runs)})", rate,
                 100_000, rate / 100_000, rate >= 100_000))
    rows.append(("6 daemon RSS during catch-up: peak growth over start (%)", growth, 5.0, growth / 5.0,
                 growth < 5.0))
    rows.append(("  daemon RSS start / peak / end MB (first catch-up)",
                 f"{first['start']:.0f} / {first['peak']:.0f} / {first['end']:.0f}", None, None, None))
    rows.append(("  daemon CPU-s per catch-up (median)", statistics.median(r["cpu"] for r in runs),
                 None, None, None))
    notes.append(f"catch-up: baseline --once {base['cpu']:.1f} CPU-s; runs "
                 + "; ".join(f"{r['secs']:.2f}s, {r['cpu']:.2f} CPU-s, RSS {r['start']:.0f}/{r['peak']:.0f}/"
                             f"{r['end']:.0f} MB" for r in runs))


def fanout_runs(args, rows, notes):
    nb = args.fanout_bursts
    if nb:  # 0: only the small bursts and the catch-up
        fanout_latency(args, rows, notes, nb, max(1, args.fanout_events // nb), "fanout")
    # The same with small commits (a steady walk's few changes): where the
    # latency stands when a burst is not throughput-bound.
    if args.fanout_small_bursts:
        fanout_latency(args, rows, notes, args.fanout_small_bursts, args.fanout_small_events, "fanout-small")
    fanout_catchup(args, rows, notes)


def fmt(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "NO"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 100 else f"{v:.0f}"
    return str(v)


def main():
    ap = argparse.ArgumentParser(description="hss-jobwatch macro benchmarks (issue #8)")
    ap.add_argument("--build", required=True, help="build directory with hss-jobwatchd and hss-fake")
    ap.add_argument("--jobs", type=int, default=1_000_000)
    ap.add_argument("--page-size", type=int, default=200)
    ap.add_argument("--walks", type=int, default=3, help="steady walks of the long-running daemon")
    ap.add_argument("--interval", type=int, default=0, help="poll.interval s (0: from --jobs)")
    ap.add_argument("--reps", type=int, default=3, help="repetitions of the latency runs")
    ap.add_argument("--flat-walks", type=int, default=60)
    ap.add_argument("--flat-jobs", type=int, default=10_000)
    ap.add_argument("--no-peer-keepalive", dest="peer_keepalive", action="store_false")
    ap.add_argument("--fanout-subscribers", type=int, default=100)
    ap.add_argument("--fanout-events", type=int, default=0,
                    help="events committed for the delivery latency (0: --jobs / 10)")
    ap.add_argument("--fanout-bursts", type=int, default=10, help="commits they come in (0: skip the big bursts)")
    ap.add_argument("--fanout-small-bursts", type=int, default=20,
                    help="then this many small commits (0: none)")
    ap.add_argument("--fanout-small-events", type=int, default=100, help="events per small commit")
    ap.add_argument("--perf", action="store_true", help="perf record the daemon during the fan-out bursts")
    ap.add_argument("--strict-seqs", action="store_true",
                    help="fan-out subscribers parse every line's seq (slower subscribers)")
    ap.add_argument("--only", choices=["inventory", "latency", "flat", "fanout"], action="append")
    ap.add_argument("--timeout", type=int, default=900, help="bound of any single run, s")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()
    global STRICT_SEQS
    STRICT_SEQS = args.strict_seqs
    args.daemon = os.path.join(args.build, "daemon", "hss-jobwatchd")
    args.fake = os.path.join(args.build, "tests", "fake_hss", "hss-fake")
    args.interval = args.interval or max(3, math.ceil(args.jobs / 1_000_000 * 25))
    args.fanout_events = args.fanout_events or max(args.fanout_bursts, args.jobs // 10)
    args.workdir = tempfile.mkdtemp(prefix="hssjw-macro-")
    only = set(args.only or ["inventory", "latency", "flat", "fanout"])
    rows, notes = [], []
    started = time.monotonic()
    try:
        if "inventory" in only:
            inventory_runs(args, rows, notes)
        if "latency" in only:
            latency_runs(args, rows, notes)
        if "flat" in only and args.flat_walks > 0:
            flat_run(args, rows, notes)
        if "fanout" in only:
            fanout_runs(args, rows, notes)
    finally:
        if not args.keep:
            shutil.rmtree(args.workdir, ignore_errors=True)
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    print(f"\nhss-jobwatch macro benchmarks: {args.jobs} jobs, page_size {args.page_size}, "
          f"nproc {os.cpu_count()}, load avg {' '.join(load)}, {time.monotonic() - started:.0f}s")
    if args.jobs != 1_000_000:
        print(f"(CPU and readiness targets scaled by {args.jobs}/1,000,000)")
    head = ("figure", "measured", "target", "ratio", "holds")
    table = [head] + [tuple(fmt(c) for c in r) for r in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(head))]
    for i, r in enumerate(table):
        print("| " + " | ".join(c.ljust(widths[j]) for j, c in enumerate(r)) + " |")
        if i == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for n in notes:
        print("- " + n)


if __name__ == "__main__":
    main()
