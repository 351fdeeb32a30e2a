#!/usr/bin/env bash
# tests/integration/stack.sh - the ctest fixture behind every integration test.
#
#   stack.sh start BUILD_DIR ENV_FILE   start sce-server (+ sce-gateway when built)
#   stack.sh stop  BUILD_DIR ENV_FILE   stop them; fail if a labelled container remains
#
# The server gets a unique instance name, so its containers are told apart
# from any other server on the same engine, and an ipc:// socket in a fresh
# directory.  ENV_FILE receives SCE_SERVER, SCE_GATEWAY, SCE_TEST_INSTANCE,
# SCE_TEST_DIR; tests read it through $SCE_TEST_STACK_ENV.  The engine must
# already answer (scripts/test.sh makes sure of it): no engine is a failure,
# never a skip.
set -euo pipefail

# sce__close_fds: a daemon must not inherit the caller's lock (flock
# /tmp/sce-engine.lock ctest ...) or pipes, or it holds them for its whole
# life, after its test has gone.
# shellcheck source=../../scripts/lib/engine.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/engine.sh"

cmd=${1:?usage: stack.sh start|stop BUILD_DIR ENV_FILE}
build=${2:?build dir}
envfile=${3:?env file}
sock=${SCE_DOCKER_SOCKET:-/var/run/docker.sock}

log() { echo "[stack] $*"; }

engine() { curl -fsS --max-time 10 --unix-socket "$sock" "http://localhost/v1.41$1"; }

# Containers still carrying this instance's label.
leftovers() {
    engine "/containers/json?all=1&filters=%7B%22label%22%3A%5B%22org.sce.instance%3D$1%22%5D%7D" |
        grep -o '"Id":"[0-9a-f]*"' | cut -d'"' -f4 || true
}

# gVisor's processes (runsc-sandbox, runsc-gofer) whose container the
# engine no longer knows: they outlived it.  Prints "pid id" per orphan.
runsc_orphans() {
    local d args id
    for d in /proc/[0-9]*; do
        args=$({ tr '\0' ' ' <"$d/cmdline"; } 2>/dev/null) || continue
        case "$args" in runsc-sandbox* | runsc-gofer*) ;; *) continue ;; esac
        id=$(grep -o 'moby/[0-9a-f]\{64\}' <<<"$args" | head -n 1 | cut -d/ -f2)
        [ -n "$id" ] || continue
        engine "/containers/$id/json" >/dev/null 2>&1 || echo "${d#/proc/} $id"
    done
}

stop_pid() { # pid name
    local pid=$1 i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid"
    for i in $(seq 1 300); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    log "$2 (pid $pid) did not stop within 30 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    return 1
}

case "$cmd" in
start)
    if ! engine /_ping >/dev/null 2>&1; then
        log "FAIL: no Docker engine answers on $sock (scripts/test.sh starts one)"
        exit 1
    fi
    dir=$(mktemp -d /tmp/sce-stack.XXXXXX)
    chmod 755 "$dir"
    instance="test-$(basename "$dir" | cut -d. -f2)"
    # TCP on loopback, not ipc: nng 1.5's ipc listener stops accepting after
    # a peer hangs up mid-handshake, which a test can do by accident.
    ok=""
    for attempt in 1 2 3 4 5; do
        port=$((20000 + RANDOM % 20000))
        server_url="tcp://127.0.0.1:$port"
        (sce__close_fds && exec setsid "$build/server/sce-server" --listen "$server_url" \
            --instance "$instance" --history-path "$dir/history.db" ${SCE_TEST_SERVER_ARGS:-} \
            >"$dir/server.log" 2>&1 </dev/null) &
        echo $! >"$dir/server.pid"
        # Ready when Health answers and both languages have been probed.
        for i in $(seq 1 150); do
            if out=$("$build/client/sce" --server "$server_url" languages 2>/dev/null) &&
                ! grep -q 'unavailable\|not checked' <<<"$out"; then
                ok=1
                break 2
            fi
            kill -0 "$(cat "$dir/server.pid")" 2>/dev/null || break
            sleep 0.2
        done
        grep -q "cannot listen" "$dir/server.log" || break
    done
    if [ -z "$ok" ]; then
        log "FAIL: sce-server did not become ready; its log:"
        cat "$dir/server.log"
        "$build/client/sce" --server "$server_url" languages || true
        exit 1
    fi
    gateway_url=""
    if [ -x "$build/web-gateway/sce-gateway" ]; then
        for attempt in 1 2 3 4 5; do
            port=$((20000 + RANDOM % 20000))
            (sce__close_fds && exec setsid "$build/web-gateway/sce-gateway" --listen "127.0.0.1:$port" \
                --server "$server_url" ${SCE_TEST_GATEWAY_ARGS:-} >"$dir/gateway.log" 2>&1 \
                </dev/null) &
            echo $! >"$dir/gateway.pid"
            for i in $(seq 1 50); do
                if curl -fsS --max-time 2 "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then
                    gateway_url="http://127.0.0.1:$port"
                    break 2
                fi
                kill -0 "$(cat "$dir/gateway.pid")" 2>/dev/null || break
                sleep 0.1
            done
            stop_pid "$(cat "$dir/gateway.pid")" gateway || true
        done
        if [ -z "$gateway_url" ]; then
            log "FAIL: sce-gateway did not start; its log:"
            cat "$dir/gateway.log"
            exit 1
        fi
    fi
    cat >"$envfile" <<ENV
SCE_SERVER=$server_url
SCE_GATEWAY=$gateway_url
SCE_TEST_INSTANCE=$instance
SCE_TEST_DIR=$dir
ENV
    log "server $server_url (instance $instance)${gateway_url:+, gateway $gateway_url}"
    ;;
stop)
    [ -f "$envfile" ] || { log "no $envfile: nothing to stop"; exit 0; }
    # shellcheck disable=SC1090
    . "$envfile"
    status=0
    [ -f "$SCE_TEST_DIR/gateway.pid" ] && { stop_pid "$(cat "$SCE_TEST_DIR/gateway.pid")" gateway || status=1; }
    stop_pid "$(cat "$SCE_TEST_DIR/server.pid")" server || status=1
    left=$(leftovers "$SCE_TEST_INSTANCE")
    if [ -n "$left" ]; then
        log "FAIL: containers of instance $SCE_TEST_INSTANCE left behind:"
        echo "$left"
        for id in $left; do engine "/containers/$id?force=1" -X DELETE >/dev/null || true; done
        status=1
    else
        log "no container of instance $SCE_TEST_INSTANCE remains"
    fi
    # No gVisor sandbox outlives its container (a removal takes a moment to
    # reach the processes: up to 10 s).
    orphans=$(runsc_orphans)
    for i in $(seq 1 50); do
        [ -z "$orphans" ] && break
        sleep 0.2
        orphans=$(runsc_orphans)
    done
    if [ -n "$orphans" ]; then
        log "FAIL: gVisor processes outlived their containers (pid container):"
        echo "$orphans"
        status=1
    fi
    if [ "$status" -ne 0 ]; then
        log "server log:"
        cat "$SCE_TEST_DIR/server.log"
    fi
    rm -f "$envfile"
    [ "$status" -eq 0 ] && rm -rf "$SCE_TEST_DIR"
    exit "$status"
    ;;
*)
    echo "usage: stack.sh start|stop BUILD_DIR ENV_FILE" >&2
    exit 2
    ;;
esac
