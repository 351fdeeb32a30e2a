#!/usr/bin/env bash
# scripts/up.sh - set up and run sce on this machine.
#
# Installs the missing Debian packages, starts a Docker engine if none
# answers (and only then), builds the runtime images and the code, then
# (re)starts sce-server and sce-gateway in the background and says how to
# use them.  Safe to run again: each step skips what is already done.
#
# SCE_RUNTIME=runsc runs the programs on gVisor: Debian's runsc is
# installed and registered with the running engine (its daemon.json and a
# reload, scripts/lib/runtime.sh; the engine is never restarted), and the
# server is started with --runtime runsc.  Without it (or with runc) the
# server runs on the engine's default runtime again; runsc stays registered.
#
# Environment: SCE_LISTEN (server URL, default tcp://127.0.0.1:7700),
# SCE_GATEWAY_LISTEN (default 127.0.0.1:8080), SCE_BUILD_DIR (default build),
# SCE_RUN_DIR (logs and pid files, default $SCE_BUILD_DIR/run), SCE_RUNTIME.
set -euo pipefail
# shellcheck source=lib/setup.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/setup.sh"

build=${SCE_BUILD_DIR:-$SCE_ROOT/build}
run=${SCE_RUN_DIR:-$build/run}
server_url=${SCE_LISTEN:-tcp://127.0.0.1:7700}
gateway_addr=${SCE_GATEWAY_LISTEN:-127.0.0.1:8080}

runtime=${SCE_RUNTIME:-runc}
case "$runtime" in
runc) sce_setup "$build" ;;
runsc)
    sce_setup "$build" runsc
    sce_ensure_runtime runsc
    ;;
*)
    echo "[sce] error: SCE_RUNTIME=$runtime: expected runc or runsc (gVisor)" >&2
    exit 2
    ;;
esac
# The server's runtime option: runsc, or none (the engine's default).
runtime_args=()
[ "$runtime" = runsc ] && runtime_args=(--runtime runsc)

mkdir -p "$run"

# Stops the copy of a program this script started earlier, if it still runs.
stop_previous() { # name
    local pidfile="$run/$1.pid" pid
    [ -f "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null && grep -q "$1" "/proc/$pid/cmdline" 2>/dev/null; then
        echo "[sce] stopping the previous $1 (pid $pid)"
        kill -TERM "$pid"
        for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$pidfile"
}

stop_previous sce-gateway
stop_previous sce-server

echo "[sce] starting sce-server on $server_url, runtime $runtime (log: $run/sce-server.log)"
env -u SCE_RUNTIME setsid "$build/server/sce-server" --listen "$server_url" "${runtime_args[@]}" \
    >>"$run/sce-server.log" 2>&1 </dev/null &
echo $! >"$run/sce-server.pid"
for _ in $(seq 1 150); do
    if "$build/client/sce" --server "$server_url" languages 2>/dev/null | grep -q 'python' &&
        ! "$build/client/sce" --server "$server_url" languages 2>/dev/null | grep -q 'not checked'; then
        break
    fi
    sleep 0.2
done
"$build/client/sce" --server "$server_url" health

echo "[sce] starting sce-gateway on http://$gateway_addr (log: $run/sce-gateway.log)"
setsid "$build/web-gateway/sce-gateway" --listen "$gateway_addr" --server "$server_url" \
    >>"$run/sce-gateway.log" 2>&1 </dev/null &
echo $! >"$run/sce-gateway.pid"
for _ in $(seq 1 50); do
    curl -fsS --max-time 2 "http://$gateway_addr/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done

cat <<MSG

sce is running.
  page:     http://$gateway_addr/
  HTTP API: curl -s http://$gateway_addr/run -H 'Content-Type: application/json' \\
              -d '{"language": "python", "code": "print(2 + 2)"}'
  CLI:      export SCE_SERVER=$server_url PATH="$build/client:\$PATH"
            sce run hello.py        # or: echo 'console.log(42)' | sce run -l node -
  stop:     kill \$(cat $run/sce-gateway.pid) \$(cat $run/sce-server.pid)
MSG
