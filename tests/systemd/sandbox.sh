#!/usr/bin/env bash
# A throw-away systemd for the tests: `systemd-nspawn --boot` of the host's
# own /usr with an empty, volatile /etc and /var (nothing to download, and
# binaries built here find their libraries). /usr gets a throw-away overlay
# so a package can be installed; everything is gone after `down`. The
# container shares the host's network, so a daemon inside reaches a test
# server on the host's 127.0.0.1.
#
#   sandbox.sh check                   exit 0 if a sandbox can run here, else
#                                      print why and exit 77 (ctest: skipped)
#   sandbox.sh up                      boot, wait until systemd is running
#   sandbox.sh install --to DIR FILE...  copy files in (root-owned, modes
#                                      kept); daemon-reload if DIR holds units
#   sandbox.sh exec CMD [ARG...]       run CMD inside as root, clean environment;
#                                      stdio and exit status pass through
#   sandbox.sh down                    halt it and remove what it left behind
#
# HSSJW_SANDBOX_NAME names it (default hssjw), so that several can run at
# once. Needs root and systemd-container. Processes are only signalled by
# the PIDs recorded here.
set -euo pipefail

name=${HSSJW_SANDBOX_NAME:-hssjw}
state=/run/hssjw-sandbox/$name
in_path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

die() { echo "sandbox.sh: $*" >&2; exit 1; }

# Why a sandbox cannot run here, or nothing.
unavailable() {
    [ "$(id -u)" = 0 ] || { echo "needs root (systemd-nspawn)"; return; }
    command -v systemd-nspawn >/dev/null || { echo "systemd-nspawn missing (apt-get install systemd-container)"; return; }
    command -v nsenter >/dev/null || { echo "nsenter missing (apt-get install util-linux)"; return; }
    [ -x /usr/lib/systemd/systemd ] || echo "no /usr/lib/systemd/systemd to boot"
}

# Our nspawn's PID if it is alive (its command line checked, so that a
# reused PID is never taken for ours; a zombie's is empty).
nspawn_pid() {
    local pid
    pid=$(cat "$state/nspawn.pid" 2>/dev/null) || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [[ $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) == *"systemd-nspawn --machine=$name "* ]] || return 1
    echo "$pid"
}

# A zombie (nspawn that died as our child) is not alive.
alive() { local s; s=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1); [ -n "$s" ] && [ "$s" != Z ]; }

# The container's PID 1 as the host sees it: the child of nspawn that is
# PID 1 in its own PID namespace.
leader_pid() {
    local c
    # shellcheck disable=SC2013 # space-separated PIDs
    for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
        [ "$(awk '/^NSpid:/ {print $NF}' "/proc/$c/status" 2>/dev/null)" = 1 ] && { echo "$c"; return 0; }
    done
    return 1
}

inside() { # inside LEADER CMD...
    local leader=$1; shift
    nsenter --target "$leader" --all -- /usr/bin/env -i PATH="$in_path" HOME=/root LANG=C.UTF-8 SYSTEMD_PAGER=cat "$@"
}

leader() {
    local n
    n=$(nspawn_pid) || die "sandbox '$name' is not up"
    leader_pid "$n" || die "sandbox '$name': no container PID 1"
}

# When the host is not run by systemd, nspawn (--keep-unit) stays in the
# caller's cgroup; one of our own per hierarchy systemd uses keeps two
# sandboxes (and the caller) apart. None when the host has systemd.
cgroups() {
    [ -d /run/systemd/system ] && return 0
    if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
        echo "/sys/fs/cgroup/hssjw-sandbox-$name"
    else
        [ -d /sys/fs/cgroup/systemd ] && echo "/sys/fs/cgroup/systemd/hssjw-sandbox-$name"
        [ "$(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ] && echo "/sys/fs/cgroup/unified/hssjw-sandbox-$name"
    fi
    return 0
}

cleanup() {
    local d
    for d in $(cgroups); do
        if [ -d "$d" ]; then find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true; fi
    done
    # nspawn cannot remove this itself when /run is not a tmpfs.
    rm -rf "/run/systemd/nspawn/propagate/$name"
    [ -d "$state" ] && find "$state" -mindepth 1 -maxdepth 1 ! -name console.log -exec rm -rf {} +
    return 0
}

cmd_up() {
    nspawn_pid >/dev/null && die "sandbox '$name' is already up"
    cleanup
    mkdir -p "$state/usr"
    printf 'disable *\n' >"$state/preset"  # nothing of the host's enabled at first boot
    local args=(--machine="$name" --boot --console=read-only --link-journal=no
        --directory=/ --volatile=yes --overlay="/usr:$state/usr:/usr"
        --bind-ro="$state/preset:/etc/systemd/system-preset/00-hssjw-sandbox.preset")
    [ -d /run/systemd/system ] || args+=(--register=no --keep-unit)
    local e
    for e in alternatives ssl ld.so.cache ld.so.conf ld.so.conf.d nsswitch.conf hosts; do
        [ -e "/etc/$e" ] && args+=(--bind-ro="/etc/$e")
    done
    # Read by the container's systemd like a kernel command line.
    args+=(systemd.firstboot=off)
    # Detached in its own session; the launcher records its PID and joins
    # our cgroups, then becomes nspawn (same PID).
    # shellcheck disable=SC2016 # for the inner bash
    setsid bash -c 'echo $$ >"$1"; for d in $2; do mkdir -p "$d" && echo $$ >"$d/cgroup.procs"; done; shift 2; exec "$@"' \
        launcher "$state/nspawn.pid" "$(cgroups | paste -sd' ')" systemd-nspawn "${args[@]}" \
        </dev/null >"$state/console.log" 2>&1 9>&- &
    local deadline=$((SECONDS + 60)) p n l="" st=""
    while [ $SECONDS -lt $deadline ]; do
        sleep 0.1
        p=$(cat "$state/nspawn.pid" 2>/dev/null) || continue
        alive "$p" || break  # nspawn failed
        n=$(nspawn_pid) || continue  # the launcher has not become nspawn yet
        [ -n "$l" ] || l=$(leader_pid "$n") || continue
        # Fails until systemd's socket exists; then waits for the boot.
        st=$(timeout 30 nsenter --target "$l" --all -- /usr/bin/env -i PATH="$in_path" \
            systemctl is-system-running --wait 2>/dev/null) || true
        case $st in running | degraded) echo "sandbox '$name' up ($st)" >&2; return 0 ;; esac
    done
    tail -n 30 "$state/console.log" >&2
    cmd_down
    die "sandbox '$name' did not boot (state: ${st:-none})"
}

cmd_down() {
    local n l t=$((SECONDS + 30))
    if n=$(nspawn_pid); then
        l=$(leader_pid "$n") || l=""
        kill -TERM "$n" 2>/dev/null || true  # nspawn asks the container's systemd to halt
        while nspawn_pid >/dev/null && [ $SECONDS -lt $t ]; do sleep 0.1; done
        if nspawn_pid >/dev/null; then
            echo "sandbox.sh: no clean halt within 30 s; killing it" >&2
            [ -z "$l" ] || kill -KILL "$l" 2>/dev/null || true  # ends its PID namespace
            sleep 1
            ! nspawn_pid >/dev/null || kill -KILL "$n" 2>/dev/null || true
        fi
    fi
    cleanup
    rm -rf "$state"  # a failed boot's console.log was printed by `up`
}

cmd_install() {
    if [ "${1:-}" != --to ] || [[ ${2:-} != /* ]]; then die "usage: install --to /DIR FILE..."; fi
    local to=$2 f l
    shift 2
    l=$(leader)
    inside "$l" mkdir -p "$to"
    for f in "$@"; do
        [ -e "$f" ] || die "no such file: $f"
        # Unpacked by a tar inside, so that paths resolve in the container.
        tar -C "$(dirname "$f")" -cf - "./$(basename "$f")" | inside "$l" tar --no-same-owner -C "$to" -xf -
    done
    case $to in /etc/systemd/* | /run/systemd/* | /usr/lib/systemd/*) inside "$l" systemctl daemon-reload ;; esac
}

cmd=${1:-}
[ $# -gt 0 ] && shift
if [ "$cmd" = check ]; then
    why=$(unavailable)
    [ -z "$why" ] || { echo "$why"; exit 77; }
    exit 0
fi
why=$(unavailable)
[ -z "$why" ] || die "$why"
[[ $name =~ ^[A-Za-z0-9][A-Za-z0-9-]{0,62}$ ]] || die "HSSJW_SANDBOX_NAME must be a host name: $name"
mkdir -p /run/hssjw-sandbox
case $cmd in
    up | down)
        # One lock for every name (nothing left per name after `down`).
        exec 9</run/hssjw-sandbox
        flock 9
        "cmd_$cmd"
        ;;
    install) cmd_install "$@" ;;
    exec) [ $# -gt 0 ] || die "usage: exec CMD [ARG...]"; inside "$(leader)" "$@" ;;
    *) die "usage: sandbox.sh check|up|install --to DIR FILE...|exec CMD...|down" ;;
esac
