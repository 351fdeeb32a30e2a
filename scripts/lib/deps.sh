#!/usr/bin/env bash
# scripts/lib/deps.sh - install the Debian packages sce needs to build and run.
#
# Source it and call `sce_install_deps`, or execute it directly.
# Only missing packages are installed; `apt-get update` runs at most once,
# and only when something has to be installed.
#
# Other scripts may append to SCE_DEPS before calling sce_install_deps:
#   SCE_DEPS+=(valgrind)

# The one list of packages (append, do not duplicate).
if ! declare -p SCE_DEPS >/dev/null 2>&1; then
    SCE_DEPS=()
fi
SCE_DEPS+=(
    build-essential cmake pkg-config git ca-certificates curl
    libnng-dev protobuf-c-compiler libprotobuf-c-dev
    libcurl4-openssl-dev libcmocka-dev libmicrohttpd-dev
    libjansson-dev libarchive-dev libsqlite3-dev
    libzstd-dev     # the sce CLI links libarchive.a, whose ZIP reader calls zstd
    python3         # the docs_options test (tests/docs/options_docs.py)
    docker.io mmdebstrap
    libpq-dev       # the server's PostgreSQL history (--history-url)
    postgresql      # the tests' own PostgreSQL (initdb in a temporary directory)
    python3-prometheus-client # the /metrics test parses the gateway's text with it
    libwslay-dev nettle-dev # the gateway's WebSocket (GET /api/v2/connect): framing, SHA-1
)

# Succeeds when package $1 is fully installed.
sce__pkg_installed() {
    local status
    status=$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) || return 1
    [ "$status" = "installed" ]
}

sce_install_deps() {
    local pkg missing=() seen=" "
    for pkg in "${SCE_DEPS[@]}"; do
        case "$seen" in *" $pkg "*) continue ;; esac   # de-duplicate
        seen+="$pkg "
        sce__pkg_installed "$pkg" || missing+=("$pkg")
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        echo "[sce] all ${#SCE_DEPS[@]} packages already installed"
        return 0
    fi
    if [ "$(id -u)" -ne 0 ]; then
        echo "[sce] error: must be root to install: ${missing[*]}" >&2
        return 1
    fi
    echo "[sce] installing ${#missing[@]} package(s): ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || { echo "[sce] error: apt-get update failed" >&2; return 1; }
    apt-get install -y -qq --no-install-recommends "${missing[@]}" \
        || { echo "[sce] error: apt-get install failed" >&2; return 1; }
    echo "[sce] packages installed"
}

# Executed rather than sourced: do the work.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    sce_install_deps "$@"
fi
