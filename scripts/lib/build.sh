#!/usr/bin/env bash
# scripts/lib/build.sh - configure and build the tree with CMake.
#
#   sce_build BUILD_DIR [extra cmake args...]
# Runs with as many jobs as there are cores; configure is skipped when the
# build directory is already configured (CMake re-runs itself as needed).

sce_build() {
    local dir=$1
    shift
    local jobs
    jobs=$(nproc 2>/dev/null || echo 2)
    if [ ! -f "$dir/CMakeCache.txt" ] || [ $# -gt 0 ]; then
        echo "[sce] configuring $dir"
        cmake -S "$SCE_ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
    fi
    echo "[sce] building $dir"
    cmake --build "$dir" -j "$jobs"
}
