#!/usr/bin/env bash
# scripts/lib/engine.sh - make sure a Docker Engine answers on the socket.
#
# Source it and call `sce_ensure_engine`, or execute it directly.
# If ${SCE_DOCKER_SOCKET:-/var/run/docker.sock} answers GET /_ping with OK,
# nothing is started. Otherwise dockerd is started in the background
# (log: /var/log/sce-dockerd.log, pid: /run/sce-dockerd.pid) and we wait
# up to SCE_ENGINE_TIMEOUT (60) seconds for it to answer.

# Succeeds when process $1 exists and is not a zombie.  kill -0 would
# also succeed for a zombie: a killed daemon stays one until its parent
# (or a slow init) reaps it, and must count as gone.
sce__alive() {
    local st
    [ -n "$1" ] || return 1
    st=$(cat /proc/"$1"/stat 2>/dev/null) || return 1
    st=${st##*) }
    case ${st%% *} in
        Z | X | x) return 1 ;;
    esac
    return 0
}

# Succeeds when some process named dockerd is alive (works without procps).
sce__dockerd_running() {
    local f p
    for f in /proc/[0-9]*/comm; do
        if [ "$(cat "$f" 2>/dev/null)" = dockerd ]; then
            p=${f#/proc/}
            sce__alive "${p%/comm}" && return 0
        fi
    done
    return 1
}

# Succeeds when the engine on socket $1 answers "OK" to /_ping.
sce__engine_ping() {
    local out
    out=$(curl -fsS --max-time 2 --unix-socket "$1" http://localhost/_ping 2>/dev/null) || return 1
    [ "$out" = "OK" ]
}

# Closes every descriptor above 2 of the calling (sub)shell.
sce__close_fds() {
    local fd
    for fd in /proc/"$BASHPID"/fd/*; do
        fd=${fd##*/}
        if [ "$fd" -gt 2 ] 2>/dev/null; then
            eval "exec $fd>&-" 2>/dev/null || true
        fi
    done
}

# dockerd runs its own containerd and records it in
# /var/run/docker/containerd/containerd.pid.  When dockerd was killed
# without its containerd (a machine's processes ended one by one), a new
# dockerd finds that pid alive, takes it for a containerd to reuse and
# waits for its socket until "timeout waiting for containerd to start".
# Called only when no dockerd is alive: a containerd of that pid file is
# then an orphan, given 5 s to end by itself, then TERM and KILL; a pid
# that now names another process is only a stale file.
sce__end_orphan_containerd() {
    local pidfile=/var/run/docker/containerd/containerd.pid cpid comm i
    [ -f "$pidfile" ] || return 0
    cpid=$(cat "$pidfile" 2>/dev/null || true)
    comm=$(cat /proc/"$cpid"/comm 2>/dev/null || true)
    if ! sce__alive "$cpid" || [ "$comm" != containerd ]; then
        echo "[sce] removing stale $pidfile"
        rm -f "$pidfile"
        return 0
    fi
    for ((i = 0; i < 20; i++)); do
        if ! sce__alive "$cpid"; then
            rm -f "$pidfile"
            return 0
        fi
        sleep 0.25
    done
    echo "[sce] ending containerd $cpid left by a dockerd that is gone"
    kill -TERM "$cpid" 2>/dev/null || true
    for ((i = 0; i < 40; i++)); do
        sce__alive "$cpid" || break
        sleep 0.25
    done
    if sce__alive "$cpid"; then
        kill -KILL "$cpid" 2>/dev/null || true
        sleep 0.5
    fi
    rm -f "$pidfile"
}

sce_ensure_engine() {
    local sock="${SCE_DOCKER_SOCKET:-/var/run/docker.sock}"
    local timeout="${SCE_ENGINE_TIMEOUT:-60}"
    local log=/var/log/sce-dockerd.log pidfile=/run/sce-dockerd.pid
    local pid i start=$SECONDS

    if sce__engine_ping "$sock"; then
        echo "[sce] docker engine answers on $sock"
        return 0
    fi
    if ! command -v dockerd >/dev/null 2>&1; then
        echo "[sce] error: no engine on $sock and dockerd is not installed (apt-get install docker.io)" >&2
        return 1
    fi

    # A dockerd we started earlier may still be booting: wait for it
    # instead of starting a second one.
    pid=""
    if [ -f "$pidfile" ]; then
        pid=$(cat "$pidfile" 2>/dev/null || true)
        if sce__alive "$pid"; then
            echo "[sce] dockerd (pid $pid) already started, waiting for it"
        else
            pid=""
        fi
    fi

    if [ -z "$pid" ]; then
        # Stale leftovers of a dead daemon would make dockerd refuse to
        # start ("pid file found, ensure docker is not running") or fail
        # to bind. Remove them only if their owner is really gone.
        local dpid
        if [ -f /var/run/docker.pid ]; then
            dpid=$(cat /var/run/docker.pid 2>/dev/null || true)
            if ! sce__alive "$dpid"; then
                echo "[sce] removing stale /var/run/docker.pid"
                rm -f /var/run/docker.pid
            fi
        fi
        if [ -S "$sock" ] && ! sce__dockerd_running; then
            echo "[sce] removing stale socket $sock"
            rm -f "$sock"
        fi
        if ! sce__dockerd_running; then
            sce__end_orphan_containerd
        fi

        echo "[sce] starting dockerd (log: $log)"
        local args=()
        if [ "$sock" != /var/run/docker.sock ]; then
            args+=(-H "unix://$sock")
        fi
        # setsid: the daemon must survive the script's shell and its job
        # control.  It keeps none of the caller's other descriptors: an
        # inherited lock (flock) or pipe would be held for the daemon's life.
        (sce__close_fds && exec setsid dockerd "${args[@]}" >>"$log" 2>&1 </dev/null) &
        pid=$!
        echo "$pid" >"$pidfile"
    fi

    for ((i = 0; i < timeout * 4; i++)); do
        if sce__engine_ping "$sock"; then
            echo "[sce] docker engine is up (pid $pid, $((SECONDS - start))s)"
            return 0
        fi
        if ! sce__alive "$pid"; then
            echo "[sce] error: dockerd exited during start-up; last lines of $log:" >&2
            tail -n 15 "$log" >&2 || true
            rm -f "$pidfile"
            return 1
        fi
        sleep 0.25
    done
    echo "[sce] error: dockerd (pid $pid) did not answer on $sock within ${timeout}s; see $log" >&2
    tail -n 15 "$log" >&2 || true
    return 1
}

# Executed rather than sourced: do the work.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    sce_ensure_engine "$@"
fi
