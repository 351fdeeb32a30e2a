#!/usr/bin/env bash
# scripts/bench.sh - the performance figures of docs/PERFORMANCE.md.
#
# Same set-up as scripts/test.sh (packages, engine, images, build), then a
# server and a gateway of its own (tests/integration/stack.sh, a fresh
# instance), then build/bench/sce-bench, whose table goes to
# bench/results/latest.md.  Arguments go to sce-bench, e.g.
#   scripts/bench.sh --throughput-runs 120 --engine-runs 48 --memory-runs 10000
set -euo pipefail
# shellcheck source=lib/setup.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/setup.sh"

build=${SCE_BUILD_DIR:-$SCE_ROOT/build}
sce_setup "$build"

envfile=$(mktemp /tmp/sce-bench-env.XXXXXX)
trap 'tests/integration/stack.sh stop "$build" "$envfile" >/dev/null || true' EXIT
tests/integration/stack.sh start "$build" "$envfile"
# shellcheck disable=SC1090
. "$envfile"
mkdir -p bench/results
"$build/bench/sce-bench" --server "$SCE_SERVER" --gateway "$SCE_GATEWAY" \
    --server-pid "$(cat "$SCE_TEST_DIR/server.pid")" "$@"
