#!/usr/bin/env bash
# hss-jobwatch in a real systemd (issues #7, #12): builds the .deb, boots a
# throw-away systemd 252 with tests/systemd/sandbox.sh, installs the
# package there with apt, and checks against hss-fake on the host's
# 127.0.0.1 (the sandbox shares the network namespace):
#   units verify clean; the packaged config without its token exits 78 and
#   is not restarted; the packaged config with the token where the README
#   puts it starts; secrets kept out of core dumps (LimitCORE=0), memory
#   bounded; the socket belongs to hss-jobwatch-events, whose members
#   connect but cannot read the config, whether the daemon or systemd
#   creates it; socket activation on first connect; active only after
#   READY=1; STATUS= set; a consumer watches while `systemctl reload` adds
#   and removes a scope (no gap, no duplicate, no removal flood); the
#   journal's HSS_* fields; /healthz and /metrics; a stalled loop killed by
#   the watchdog and restarted, the consumer resuming without a gap;
#   `systemctl stop` clean and the socket still activating afterwards;
#   `apt purge` deletes state, config and credentials and keeps the users.
# Usage: sandbox_test.sh BUILD_DIR   (HSSJW_SANDBOX_KEEP=1: leave it up)
# Exit 77 (ctest: skipped) when not root or systemd-nspawn is missing.
set -euo pipefail

build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
sb=$(cd "$(dirname "$0")" && pwd)/sandbox.sh
why=$("$sb" check) || { echo "SKIPPED: $why"; exit 77; }
for f in daemon/hss-jobwatchd daemon/hss-jobwatch tests/fake_hss/hss-fake CPackConfig.cmake; do
    [ -e "$build/$f" ] || { echo "FAIL: $build/$f missing: build first"; exit 1; }
done

# One fixed name: a run left over by a killed test is taken down first.
export HSSJW_SANDBOX_NAME=${HSSJW_SANDBOX_NAME:-hssjw-test}
"$sb" down >/dev/null 2>&1 || true
work=$(mktemp -d)
fake_pid=
cleanup() {
    # HSSJW_SANDBOX_KEEP=1 leaves the sandbox up to look around (sb exec ...).
    [ -n "${HSSJW_SANDBOX_KEEP:-}" ] && echo "sandbox kept: HSSJW_SANDBOX_NAME=$HSSJW_SANDBOX_NAME" ||
        "$sb" down >/dev/null 2>&1 || true
    [ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

failures=0
checks=0
pass() { checks=$((checks + 1)); printf '  ok    %s\n' "$*"; }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); printf '  FAIL  %s\n' "$*"; }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }
in_sb() { "$sb" exec "$@"; }
prop() { in_sb systemctl show -p "$2" --value "$1"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
wait_for() { # wait_for SECONDS COMMAND...
    local end=$(($(now_ms) + $1 * 1000)); shift
    until "$@"; do [ "$(now_ms)" -lt "$end" ] || return 1; sleep 0.1; done
}
state_is() { [ "$(prop "$1" ActiveState)/$(prop "$1" SubState)" = "$2" ]; }
# No grep -q on pipes (SIGPIPE under pipefail): grep >/dev/null.
journal_has() { local p=$1; shift; in_sb journalctl -u hss-jobwatch.service -o json --no-pager "$@" | grep -F -- "$p" >/dev/null; }
http_status() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$metrics_port$1" || true; }
metric() { curl -s --max-time 5 "http://127.0.0.1:$metrics_port/metrics" | awk -v n="$1" '$1 == n {print $2}'; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# The watcher's events as "seq type scope" lines.
watched() { in_sb cat /var/log/watch.out | python3 -c '
import json, sys
for line in sys.stdin:
    try: e = json.loads(line)
    except ValueError: continue
    if "seq" in e and e.get("type") in ("added", "removed", "modified", "replaced"):
        print(e["seq"], e["type"], e["scope"]["project_id"])'; }
seqs_consecutive() { watched | awk 'NR > 1 && $1 != prev + 1 {bad = 1} {prev = $1} END {exit bad}'; }
last_seq_watched() { watched | tail -1 | cut -d' ' -f1; }
watched_count() { watched | awk -v p="${1:-}" 'p == "" || $3 == p' | wc -l; }
not() { ! "$@"; }
# setpriv, not runuser: the sandbox's /etc has no PAM configuration.
as_user() { local u=$1; shift; in_sb sh -c 'u=$1; shift; exec setpriv --reuid "$u" --regid "$(id -g "$u")" --init-groups "$@"' sh "$u" "$@"; }
as_consumer() { as_user consumer hss-jobwatch "$@" >/dev/null 2>&1; }
consumer_reads_config() { as_user consumer cat /etc/hss-jobwatch/config.yaml >/dev/null 2>&1; }
as_outsider() { as_user outsider hss-jobwatch "$@" >/dev/null 2>&1; }
status_text_set() { prop hss-jobwatch.service StatusText | grep 'scope.*jobs' >/dev/null; }
healthz_is() { [ "$(http_status /healthz)" = "$1" ]; }
restarted_running() { [ "$(prop hss-jobwatch.service NRestarts)" -gt "$1" ] && state_is hss-jobwatch.service active/running; }

echo "== package"
cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/deb" >"$work/cpack.log" 2>&1 || { cat "$work/cpack.log"; exit 1; }
deb=$(ls "$work"/deb/hss-jobwatch_*.deb)
echo "  $deb"

echo "== fake HSS on 127.0.0.1"
example_project=2b31ed520xxxxxxebedb6e57xxxxxxxx  # the project id in config/example.yaml
"$build/tests/fake_hss/hss-fake" --port 0 --dir "$work/fake" --token sandbox-token --projects p1,p2,$example_project --jobs 40 \
    --churn --churn-interval 700ms >"$work/fake.out" 2>"$work/fake.err" &
fake_pid=$!
wait_for 20 grep -q listening "$work/fake.out" || { echo "FAIL: hss-fake did not start"; cat "$work/fake.err"; exit 1; }
endpoint=$(sed -n 's/^listening \([^ ]*\) .*/\1/p' "$work/fake.out")
metrics_port=$(free_port)
echo "  $endpoint, metrics on 127.0.0.1:$metrics_port"

echo "== sandbox"
"$sb" up
# The sandbox has the host's /usr but an empty /var: give dpkg the host's
# package list (so apt sees the dependencies installed) without touching it.
tar -C /var/lib/dpkg -cf "$work/dpkg.tar" status diversions
"$sb" install --to /root "$deb" "$work/dpkg.tar" "$work/fake/ca.pem" >/dev/null
in_sb sh -c 'mkdir -p /var/lib/dpkg/info /var/lib/dpkg/updates /var/lib/dpkg/triggers /var/cache/apt/archives/partial \
    /var/lib/apt/lists/partial /var/log/apt /etc/apt/apt.conf.d /etc/apt/sources.list.d /etc/apt/preferences.d &&
    tar -C /var/lib/dpkg -xf /root/dpkg.tar && : >/var/lib/dpkg/statoverride &&
    apt-get install -y -q /root/'"$(basename "$deb")" >"$work/apt.log" 2>&1 || { cat "$work/apt.log"; exit 1; }
user_exists() { in_sb id hss-jobwatch >/dev/null; }
check "apt install: user and group created by postinst" user_exists
check "apt install: nothing enabled or started" state_is hss-jobwatch.service inactive/dead
check "config is root:hss-jobwatch 0640" [ "$(in_sb stat -c %U:%G:%a /etc/hss-jobwatch/config.yaml)" = root:hss-jobwatch:640 ]
check "credentials/ is root-only" [ "$(in_sb stat -c %U:%G:%a /etc/hss-jobwatch/credentials)" = root:root:700 ]
group_exists() { in_sb getent group hss-jobwatch-events >/dev/null; }
check "the consumers' group hss-jobwatch-events created" group_exists
verify=$(in_sb systemd-analyze verify /usr/lib/systemd/system/hss-jobwatch.service /usr/lib/systemd/system/hss-jobwatch.socket 2>&1 || true)
check "systemd-analyze verify prints nothing" [ -z "$verify" ]
[ -z "$verify" ] || printf '        %s\n' "$verify"

echo "== the packaged config before the token is there: exit 78, not restarted"
# It names credential:hss_token, i.e. /etc/hss-jobwatch/credentials/token.
in_sb sh -c "sed -i -e 's|^endpoint: ~\$|endpoint: $endpoint|' \
    -e 's|^  ca_file: ~\$|  ca_file: /usr/local/share/hss-fake-ca.pem|' /etc/hss-jobwatch/config.yaml &&
    cp /root/ca.pem /usr/local/share/hss-fake-ca.pem"
check "endpoint and CA pointed at the fake, nothing else changed" \
    [ "$(in_sb cat /etc/hss-jobwatch/config.yaml | diff - "$src/config/example.yaml" | grep -c '^[<>]')" = 4 ]
check "still root:hss-jobwatch 0640" [ "$(in_sb stat -c %U:%G:%a /etc/hss-jobwatch/config.yaml)" = root:hss-jobwatch:640 ]
in_sb systemctl start hss-jobwatch.service 2>/dev/null || true
check "start fails with status 78" [ "$(prop hss-jobwatch.service ExecMainStatus)" = 78 ]
check "no restart scheduled (failed, not auto-restart)" state_is hss-jobwatch.service failed/failed
check "journal says which secret is missing" journal_has "hss_token"
in_sb systemctl stop hss-jobwatch.socket
in_sb systemctl reset-failed hss-jobwatch.service hss-jobwatch.socket 2>/dev/null || true

echo "== the packaged config with the token where the README puts it"
in_sb sh -c 'printf "sandbox-token\n" >/etc/hss-jobwatch/credentials/token && chmod 0600 /etc/hss-jobwatch/credentials/token &&
    useradd -M -G hss-jobwatch-events consumer && useradd -M outsider'
# Masked, the socket unit is not pulled in: the daemon creates socket.path.
in_sb systemctl mask -q hss-jobwatch.socket
in_sb systemctl start hss-jobwatch.service 2>/dev/null || true
check "starts: active/running" state_is hss-jobwatch.service active/running
all_ok() { prop hss-jobwatch.service StatusText | grep 'all ok' >/dev/null; }
check "walks the example's project: STATUS= all ok" wait_for 20 all_ok
echo "        $(prop hss-jobwatch.service StatusText)"
check "the daemon created the socket itself" journal_has "listening on /run/hss-jobwatch/events.sock"
check "its socket is hss-jobwatch:hss-jobwatch-events 0660" \
    [ "$(in_sb stat -c %U:%G:%a /run/hss-jobwatch/events.sock)" = hss-jobwatch:hss-jobwatch-events:660 ]
check "a member of hss-jobwatch-events connects" as_consumer status
check "and cannot read the config" not consumer_reads_config
check "an outsider cannot connect" not as_outsider status
check "state dir private to the daemon (0700)" [ "$(in_sb stat -c %U:%a /var/lib/hss-jobwatch)" = hss-jobwatch:700 ]
main_pid=$(prop hss-jobwatch.service MainPID)
core_limit() { in_sb awk '/^Max core file size/ {print $5 "/" $6}' "/proc/$main_pid/limits"; }
check "no core dumps (secrets in memory): LimitCORE=0" [ "$(prop hss-jobwatch.service LimitCORE)" = 0 ]
check "and the process's core limit is 0" [ "$(core_limit)" = 0/0 ]
check "memory bounded: MemoryHigh=2G MemoryMax=3G" \
    [ "$(prop hss-jobwatch.service MemoryHigh)/$(prop hss-jobwatch.service MemoryMax)" = 2147483648/3221225472 ]
in_sb systemctl stop hss-jobwatch.service
in_sb systemctl unmask -q hss-jobwatch.socket

echo "== bad config: exit 78, not restarted"
printf 'region: ap-southeast-1\nprojects: [{id: p1}]\npoll: {interval: fast}\n' >"$work/config.yaml"
"$sb" install --to /etc/hss-jobwatch "$work/config.yaml" >/dev/null
in_sb systemctl reset-failed hss-jobwatch.service 2>/dev/null || true
in_sb systemctl start hss-jobwatch.service 2>/dev/null || true
check "invalid YAML value: 78 too, not restarted" \
    [ "$(prop hss-jobwatch.service ExecMainStatus)/$(prop hss-jobwatch.service SubState)" = 78/failed ]
check "journal names file:line:col" journal_has "config.yaml:3:"
in_sb systemctl stop hss-jobwatch.socket
in_sb systemctl reset-failed hss-jobwatch.service hss-jobwatch.socket 2>/dev/null || true

echo "== configure"
write_config() { # write_config PROJECTS_YAML
    printf '%s\n' "endpoint: $endpoint" "auth: {method: token, token_file: credential:hss_token}" \
        "tls: {ca_file: /usr/local/share/hss-fake-ca.pem}" "projects:" "$1" \
        "poll: {interval: 1s, jitter: 0%, rate: unlimited, page_size: 10, retry: {attempts: 2, initial: 50ms, max: 200ms}}" \
        "metrics: {listen: 127.0.0.1:$metrics_port}" >"$work/config.yaml"
    "$sb" install --to /etc/hss-jobwatch "$work/config.yaml" >/dev/null
    in_sb sh -c 'chgrp hss-jobwatch /etc/hss-jobwatch/config.yaml && chmod 0640 /etc/hss-jobwatch/config.yaml'
}
write_config "  - id: p1"
probe() { in_sb systemd-run -q -P --wait -p User=hss-jobwatch -p LoadCredential=hss:/etc/hss-jobwatch/credentials \
    hss-jobwatchd --check-config --probe >"$work/probe.out" 2>&1; }
check "the README's probe (service user and credentials) succeeds" probe

echo "== socket activation"
in_sb systemctl start hss-jobwatch.socket
check "socket listening, service not yet running" state_is hss-jobwatch.service inactive/dead
check "socket is hss-jobwatch:hss-jobwatch-events 0660" \
    [ "$(in_sb stat -c %U:%G:%a /run/hss-jobwatch/events.sock)" = hss-jobwatch:hss-jobwatch-events:660 ]
check "a user outside the group is refused" not as_outsider status
check "first connect (a group member) starts the daemon and gets an answer" as_consumer status
check "service active/running after activation" state_is hss-jobwatch.service active/running
check "the daemon adopted the socket systemd passed" journal_has "listening on the socket passed by systemd"
# systemd logs "Started" when READY=1 arrives. The daemon's "watching"
# line goes to the same journal socket before it sends READY=1, so in the
# journal's order (__SEQNUM) it must come first.
order=$(in_sb journalctl -u hss-jobwatch.service -o json --no-pager | python3 -c '
import json, sys
seen = []
for l in sys.stdin:
    m = str(json.loads(l).get("MESSAGE", ""))
    if m.startswith("watching ") and "watching" not in seen: seen.append("watching")
    if m.startswith("Started hss-jobwatch.service") and "started" not in seen: seen.append("started")
print(",".join(seen))')
check "active only after READY=1, sent once set up (journal: 'watching' before 'Started')" [ "$order" = watching,started ]
check "Type=notify, NotifyAccess=main" [ "$(prop hss-jobwatch.service Type)/$(prop hss-jobwatch.service NotifyAccess)" = notify/main ]
check "STATUS= says what it does" wait_for 10 status_text_set
echo "        $(prop hss-jobwatch.service StatusText)"

echo "== consumer watching"
in_sb systemd-run -q --unit=hssjw-watcher --uid=consumer -p StandardOutput=file:/var/log/watch.out \
    -p StandardError=file:/var/log/watch.err hss-jobwatch watch -o json
watcher_sees() { [ "$(watched_count "${2:-}")" -ge "$1" ]; }
check "the watcher sees events" wait_for 20 watcher_sees 3
check "/healthz 200" wait_for 10 healthz_is 200
events_before=$(metric 'hss_jobwatch_events_total{type="added"}')
check "metrics: walks counted" [ -n "$(metric 'hss_jobwatch_walks_total{scope="p1/-",outcome="complete"}')" ]

echo "== reload: add a scope"
write_config "$(printf '  - id: p1\n  - id: p2')"
in_sb systemctl reload hss-jobwatch.service
check "reload done: active/running" state_is hss-jobwatch.service active/running
check "journal: scope p2 added" journal_has "scope p2/- added"
check "p2 baselines to the watcher (40 added)" wait_for 20 watcher_sees 40 p2
check "metrics: reload counted" [ "$(metric 'hss_jobwatch_reloads_total{result="ok"}')" = 1 ]

echo "== reload: a bad config is rejected, the old one kept"
printf 'bogus: 1\n' >>"$work/config.yaml"
"$sb" install --to /etc/hss-jobwatch "$work/config.yaml" >/dev/null
in_sb systemctl reload hss-jobwatch.service
check "still active/running" state_is hss-jobwatch.service active/running
check "journal names the bad key at file:line:col" journal_has "config.yaml:9:1: unknown key 'bogus'"

echo "== reload: remove a scope"
write_config "  - id: p1"
in_sb systemctl reload hss-jobwatch.service
check "journal: scope p2 removed" journal_has "scope p2/- removed"
cut_seq=$(as_user consumer hss-jobwatch status -o json | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["seq"])')
sleep 3  # several walks of p1
p2_after() { watched | awk -v c="$1" '$1 > c && $3 == "p2"' | grep . >/dev/null; }
check "no p2 event after its removal (no removal flood)" not p2_after "$cut_seq"
check "events kept flowing for p1" [ "$(metric 'hss_jobwatch_events_total{type="added"}')" -gt "${events_before:-0}" ]
check "watcher: every seq once, no gap" seqs_consecutive

echo "== journal fields"
check "journalctl HSS_EVENT=added HSS_PROJECT_ID=p1" journal_has '"HSS_EVENT":"added"' HSS_EVENT=added HSS_PROJECT_ID=p1
check "records carry HSS_SEQ and MESSAGE_ID" journal_has '"MESSAGE_ID"' HSS_EVENT=added

echo "== watchdog"
in_sb mkdir -p /etc/systemd/system/hss-jobwatch.service.d
printf '%s\n' '[Service]' 'WatchdogSec=3s' 'RestartSec=500ms' 'Environment=HSSJW_TEST_STALL_ON_SIGUSR2=1' \
    >"$work/test.conf"
"$sb" install --to /etc/systemd/system/hss-jobwatch.service.d "$work/test.conf" >/dev/null
in_sb systemctl daemon-reload
in_sb systemctl restart hss-jobwatch.service
restarts=$(prop hss-jobwatch.service NRestarts)
sleep 4  # longer than WatchdogSec: pings from the loop keep it alive
check "pings keep a healthy loop alive past WatchdogSec" [ "$(prop hss-jobwatch.service NRestarts)" = "$restarts" ]
in_sb systemctl kill -s SIGUSR2 --kill-who=main hss-jobwatch.service
check "stalled loop killed by the watchdog" wait_for 15 journal_has "Watchdog timeout"
check "and restarted" wait_for 15 restarted_running "$restarts"
seq_now=$(last_seq_watched)
watcher_past() { [ "$(last_seq_watched)" -gt "${1:-0}" ]; }
check "the watcher resumes after the restart" wait_for 20 watcher_past "$seq_now"
check "watcher: still every seq once, no gap" seqs_consecutive
in_sb rm -rf /etc/systemd/system/hss-jobwatch.service.d
in_sb systemctl daemon-reload

echo "== stop"
# The watcher is done; left running it would reconnect at once and so
# activate the service again through the socket.
in_sb systemctl stop hssjw-watcher.service
t0=$(now_ms)
in_sb systemctl stop hss-jobwatch.service
t1=$(now_ms)
echo "        stop took $((t1 - t0)) ms"
check "stopped within 10 s" [ $((t1 - t0)) -lt 10000 ]
stopped=$(prop hss-jobwatch.service ActiveState)/$(prop hss-jobwatch.service Result)/$(prop hss-jobwatch.service ExecMainStatus)
check "clean: inactive/dead, Result=success ($stopped)" [ "${stopped%/*}" = inactive/success ]
check "journal: stopped" journal_has '"MESSAGE":"stopped"'
check "socket still there after the service stopped" in_sb test -S /run/hss-jobwatch/events.sock
check "next connect activates it again" as_consumer status
in_sb systemctl stop hss-jobwatch.service hss-jobwatch.socket

echo "== remove"
purge() { in_sb apt-get purge -y -q hss-jobwatch >"$work/purge.log" 2>&1; }
gone() { ! in_sb test -e /usr/bin/hss-jobwatchd && ! in_sb test -e /etc/hss-jobwatch && ! in_sb test -e /var/lib/hss-jobwatch; }
check "apt purge removes it cleanly" purge
check "state, config and credentials gone" gone
users_kept() { in_sb id hss-jobwatch >/dev/null && in_sb getent group hss-jobwatch hss-jobwatch-events >/dev/null; }
check "the user and both groups kept" users_kept

echo "$((checks - failures)) passed, $failures failed"
[ "$failures" = 0 ]
