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
# bench/results/latest.md.  Both stacks are stopped at exit.  Arguments go to
# sce-bench, e.g.
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
bench_cleanup() {
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
mkdir -p bench/results
"${runc_env[@]}" "$build/bench/sce-bench" --server "$SCE_SERVER" --gateway "$SCE_GATEWAY" \
    --server-pid "$(cat "$SCE_TEST_DIR/server.pid")" \
    --runsc-server "$runsc_server" --runsc-server-pid "$runsc_pid" "$@"
