#!/usr/bin/env bash
# scripts/bench.sh - the performance figures of docs/PERFORMANCE.md.
#
# Same set-up as scripts/test.sh (packages, engine, images, build), plus
# Debian's runsc (gVisor), registered with the engine if it is not
# (scripts/lib/runtime.sh; undone at exit, so the engine is left as it was
# found).  Then two stacks of their own (tests/integration/stack.sh, fresh
# instances): the first on the engine's default runtime (runc), with the
# gateway the HTTP rows use, and a second one whose server runs every
# language on runsc (SCE_RUNTIME=runsc, read by sce-server itself), started
# after the first.  Both keep their default pools; sce-bench measures one at
# a time while the other's pool is full and idle, and writes its tables to
# bench/results/latest.md.  For the section "Several servers behind one
# gateway", two more runc servers (stacks of their own, their gateways left
# idle) and three gateways with no rate limit: the first with the runc
# stack's server behind it, the second with it and one more, the third with
# all three.  Everything is stopped at exit.  Arguments go to sce-bench, e.g.
#   scripts/bench.sh --throughput-runs 120 --engine-runs 48 --memory-runs 10000
set -euo pipefail
# shellcheck source=lib/setup.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/setup.sh"
# shellcheck source=lib/runtime.sh
. scripts/lib/runtime.sh

build=${SCE_BUILD_DIR:-$SCE_ROOT/build}
sce_setup "$build" runsc

envfile=$(mktemp /tmp/sce-bench-env.XXXXXX)
runsc_envfile=$(mktemp /tmp/sce-bench-runsc-env.XXXXXX)
cluster_dir=$(mktemp -d /tmp/sce-bench-cluster.XXXXXX)
bench_cleanup() {
    local f
    for f in "$cluster_dir"/gateway*.pid; do
        if [ -f "$f" ]; then kill "$(cat "$f")" 2>/dev/null || true; fi
    done
    for f in "$cluster_dir"/server*.env; do
        if [ -f "$f" ]; then tests/integration/stack.sh stop "$build" "$f" >/dev/null || true; fi
    done
    rm -rf "$cluster_dir"
    tests/integration/stack.sh stop "$build" "$runsc_envfile" >/dev/null || true
    tests/integration/stack.sh stop "$build" "$envfile" >/dev/null || true
    sce_forget_runtime || true
}
trap bench_cleanup EXIT
sce_ensure_runtime runsc

# The runc stack and sce-bench itself (its engine rows read the server's
# options from the same environment) run without any runtime option set.
runc_env=(env -u SCE_RUNTIME -u SCE_PYTHON_RUNTIME -u SCE_NODE_RUNTIME)
"${runc_env[@]}" tests/integration/stack.sh start "$build" "$envfile"
"${runc_env[@]}" SCE_RUNTIME=runsc tests/integration/stack.sh start "$build" "$runsc_envfile"
# shellcheck disable=SC1090
runsc_server=$(. "$runsc_envfile" && echo "$SCE_SERVER")
# shellcheck disable=SC1090
runsc_pid=$(. "$runsc_envfile" && cat "$SCE_TEST_DIR/server.pid")
# shellcheck disable=SC1090
. "$envfile"

# cluster_gateway N SERVERS: sce-gateway N with SERVERS (nng URLs, comma-
# separated) behind it, no rate limit, on a free port; its URL in
# $cluster_dir/gatewayN.url.
cluster_gateway() {
    local n=$1 servers=$2 port pid
    for _ in 1 2 3 4 5; do
        port=$((20000 + RANDOM % 20000))
        "$build/web-gateway/sce-gateway" --listen "127.0.0.1:$port" --server "$servers" \
            --rate-limit 0 >"$cluster_dir/gateway$n.log" 2>&1 </dev/null &
        pid=$!
        echo "$pid" >"$cluster_dir/gateway$n.pid"
        for _ in $(seq 1 50); do
            if curl -fs --max-time 2 -o /dev/null "http://127.0.0.1:$port/healthz"; then
                echo "http://127.0.0.1:$port" >"$cluster_dir/gateway$n.url"
                return 0
            fi
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill "$pid" 2>/dev/null || true
    done
    echo "[bench] sce-gateway --server $servers did not start:" >&2
    cat "$cluster_dir/gateway$n.log" >&2
    return 1
}
cluster_servers=$SCE_SERVER
for n in 2 3; do
    "${runc_env[@]}" tests/integration/stack.sh start "$build" "$cluster_dir/server$n.env"
    # shellcheck disable=SC1090
    cluster_servers+=",$(. "$cluster_dir/server$n.env" && echo "$SCE_SERVER")"
done
cluster_gateways=""
for n in 1 2 3; do
    cluster_gateway "$n" "$(cut -d, -f1-"$n" <<<"$cluster_servers")"
    cluster_gateways+="${cluster_gateways:+,}$(cat "$cluster_dir/gateway$n.url")"
done

mkdir -p bench/results
"${runc_env[@]}" "$build/bench/sce-bench" --server "$SCE_SERVER" --gateway "$SCE_GATEWAY" \
    --server-pid "$(cat "$SCE_TEST_DIR/server.pid")" \
    --runsc-server "$runsc_server" --runsc-server-pid "$runsc_pid" \
    --cluster-servers "$cluster_servers" --cluster-gateways "$cluster_gateways" "$@"
