#!/usr/bin/env bash
# scripts/lib/setup.sh - the set-up that scripts/up.sh, test.sh and bench.sh
# share.
#
# Source it from a script in scripts/ (after set -euo pipefail): it sets and
# exports SCE_ROOT (the source tree), changes to it, and sources deps.sh,
# engine.sh and build.sh.  Then
#   sce_setup BUILD_DIR [PACKAGE...]
# installs the missing Debian packages (deps.sh's list, Node.js and npm
# unless npm is already there, and PACKAGEs), makes sure a Docker engine
# answers (starting one only if none does), builds the runtime images that
# are not up to date (scripts/images.sh) and the tree in BUILD_DIR.
# runtime.sh's sce_ensure_runtime / sce_forget_runtime register gVisor.

SCE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export SCE_ROOT
cd "$SCE_ROOT"
. scripts/lib/deps.sh
. scripts/lib/engine.sh
. scripts/lib/runtime.sh
. scripts/lib/build.sh

sce_setup() {
    local build=$1
    shift
    command -v npm >/dev/null 2>&1 || SCE_DEPS+=(nodejs npm)
    SCE_DEPS+=("$@")
    sce_install_deps
    sce_ensure_engine
    scripts/images.sh
    sce_build "$build"
}
