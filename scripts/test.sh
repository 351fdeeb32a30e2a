#!/usr/bin/env bash
# scripts/test.sh - set up everything the tests need and run every test.
#
# Same set-up as scripts/up.sh (packages, a Docker engine if none answers,
# the runtime images, the build), plus Chromium for the browser test; then
# ctest runs all of it: unit tests, integration tests against the real
# engine, the browser test.  A test that cannot run fails; nothing is
# skipped.  Extra arguments go to ctest (e.g. -L unit, -R run_python).
set -euo pipefail

SCE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export SCE_ROOT
cd "$SCE_ROOT"
. scripts/lib/deps.sh
. scripts/lib/engine.sh
. scripts/lib/build.sh

build=${SCE_BUILD_DIR:-$SCE_ROOT/build}

command -v npm >/dev/null 2>&1 || SCE_DEPS+=(nodejs npm)
SCE_DEPS+=(chromium valgrind)
sce_install_deps
sce_ensure_engine
scripts/images.sh
sce_build "$build"

start=$SECONDS
echo "[sce] running the tests"
ctest --test-dir "$build" --output-on-failure --no-tests=error -j 2 "$@"
echo "[sce] all tests passed in $((SECONDS - start)) s"
