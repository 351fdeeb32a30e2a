#!/usr/bin/env bash
# scripts/test.sh - set up everything the tests need and run every test.
#
# Same set-up as scripts/up.sh (packages, a Docker engine if none answers,
# the runtime images, the build), plus Chromium for the browser test; then
# ctest runs all of it: unit tests, integration tests against the real
# engine, the browser test, the cluster tests (three servers behind one
# gateway; three servers sharing a throwaway PostgreSQL) and the Swarm
# deployment (scripts/swarm.sh up --servers 3 ... down, which builds the
# sce-server, sce-gateway and sce-postgres images and leaves the engine in
# the swarm state it found).  A test that cannot run fails; nothing is
# skipped.  Extra arguments go to ctest (e.g. -L unit, -R run_python).
#
# Then the gVisor stage: runsc (Debian's gVisor) registered with the engine
# (scripts/lib/runtime.sh; removed again at the end if this script added
# it), and the integration and security tests run again against servers on
# it (SCE_RUNTIME=runsc, which every sce-server they start reads); the
# fixture's stop fails if a gVisor sandbox outlived its container.  The
# cluster, PostgreSQL and Swarm tests are about the servers' plumbing, not
# the sandbox: they run in the first stage only.  SCE_RUNTIME=runsc
# runs the first stage on gVisor instead (the gVisor stage is then that
# stage); SCE_TEST_GVISOR=0 leaves the stage out (a quick local run; CI
# always runs it).
#
# Then the sanitizer stage: the same tree built again with clang,
# AddressSanitizer, UndefinedBehaviorSanitizer and libFuzzer coverage
# (build-asan), and ctest there runs the unit tests, each fuzzer for
# SCE_FUZZ_SECONDS (20) over its seed corpus, and the integration and
# security tests against the sanitizer-built sce-server, sce-gateway and sce.
# Left to the first stage: the browser test, the runner test (no code of
# ours runs in it), the fault tests (they restart the engine, and measure
# memory, which ASan inflates), the Swarm test (its images hold the gcc
# build) and the cluster test (the gateway's backends run under ASan in
# test_backends, against fake servers).  Every sanitizer report, also one from a
# daemon running in the background, is written to build-asan/sanitizer-logs/
# and fails the stage.  SCE_TEST_SANITIZERS=0 leaves the stage out (a quick
# local run; CI always runs it).  Extra arguments apply to the first stage
# only.
set -euo pipefail
# shellcheck source=lib/setup.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/setup.sh"

build=${SCE_BUILD_DIR:-$SCE_ROOT/build}
# Chromium for the browser test, valgrind; for the sanitizer stage clang,
# its sanitizer and libFuzzer runtimes, and llvm-symbolizer (package llvm)
# for readable stacks.
# runsc for the gVisor stage.
sce_setup "$build" chromium valgrind clang libclang-rt-14-dev llvm runsc

runtime=${SCE_RUNTIME:-runc}
case "$runtime" in
runc | runsc) ;;
*) echo "[sce] error: SCE_RUNTIME=$runtime: expected runc or runsc" >&2; exit 2 ;;
esac
# Registered for the whole run (the gVisor stage, or every stage with
# SCE_RUNTIME=runsc); the engine is left as it was found.
if [ "$runtime" = runsc ] || [ "${SCE_TEST_GVISOR:-1}" != 0 ]; then
    sce_ensure_runtime runsc
    trap 'sce_forget_runtime' EXIT
fi
# Every sce-server started from here on reads it (SCE_RUNTIME is its
# `runtime` option): set for runsc, unset for the engine's default.
if [ "$runtime" = runsc ]; then export SCE_RUNTIME=runsc; else unset SCE_RUNTIME; fi

start=$SECONDS
echo "[sce] running the tests (runtime $runtime)"
ctest --test-dir "$build" --output-on-failure --no-tests=error -j 2 "$@"
echo "[sce] all tests passed in $((SECONDS - start)) s"

if [ "$runtime" = runc ] && [ "${SCE_TEST_GVISOR:-1}" != 0 ]; then
    start=$SECONDS
    echo "[sce] gVisor stage: the integration and security tests on runsc"
    # The browser test drives the page, not the sandbox; the runner test
    # runs the images through `docker run` itself; the fault tests restart
    # the engine.  The cluster, shared-history, streaming-gateway and
    # Piston/Judge0 API tests test plumbing the runtime does not change
    # (followed runs on gVisor are follow_* and cli's).  Everything else
    # that runs a program runs it on gVisor.
    SCE_RUNTIME=runsc ctest --test-dir "$build" --output-on-failure --no-tests=error -j 2 \
        -L docker -LE 'browser|fault|swarm' \
        -E '^(runners|cluster|history_pg|gateway_stream|gateway_piston_.*|judge0_.*)$'
    echo "[sce] gVisor stage passed in $((SECONDS - start)) s"
fi

[ "${SCE_TEST_SANITIZERS:-1}" = 0 ] && exit 0

asan=${SCE_ASAN_BUILD_DIR:-$SCE_ROOT/build-asan}
logs=$asan/sanitizer-logs
start=$SECONDS
echo "[sce] sanitizer stage: building $asan (clang, ASan + UBSan + libFuzzer)"
# Warnings are the gcc build's business (-Werror there); clang's extra ones
# must not stop the runtime checks.
if [ ! -f "$asan/CMakeCache.txt" ]; then
    CC=clang sce_build "$asan" -DCMAKE_BUILD_TYPE=Debug -DSCE_SANITIZE=ON -DSCE_FUZZ=ON \
        -DSCE_WERROR=OFF
else
    sce_build "$asan"
fi
rm -rf "$logs"
mkdir -p "$logs"
# log_path: reports go to files, so one from a daemon in the background
# (stack.sh's sce-server) is seen too.  allocator_may_return_null: the code
# handles a failed malloc (tests ask for impossible sizes on purpose).
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:allocator_may_return_null=1:log_path=$logs/report"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:abort_on_error=1:log_path=$logs/report"
status=0
# The fuzzers first, on their own, so that they do not slow the integration
# tests (their deadlines are real) and the other way round.
ctest --test-dir "$asan" --output-on-failure --no-tests=error -j 2 -L 'unit|fuzz' || status=$?
ctest --test-dir "$asan" --output-on-failure --no-tests=error -j 2 -L docker \
    -LE 'browser|fault|swarm' -E '^(runners|cluster)$' || status=$?
# Every file with more than the allocator's "failed to allocate" warnings
# (tests ask for impossible sizes on purpose) is a report; libFuzzer's crash
# stacks land here too.
reports=$(grep -lvE '^(==[0-9]+==WARNING: AddressSanitizer failed to allocate .*)?$' \
    "$logs"/* 2>/dev/null || true)
for f in $reports; do
    echo "[sce] sanitizer report $f:"
    cat "$f"
done
if [ "$status" -ne 0 ] || [ -n "$reports" ]; then
    echo "[sce] sanitizer stage FAILED after $((SECONDS - start)) s" >&2
    exit 1
fi
echo "[sce] sanitizer stage passed in $((SECONDS - start)) s"
