#!/usr/bin/env bash
# scripts/images.sh - build sce's runtime images locally from Debian packages.
#
#   scripts/images.sh [--force] [python|node ...]
#   scripts/images.sh --cluster [--build-dir DIR] [--force] [server|gateway|postgres ...]
#
# No registry is reachable, so each image is a Debian root file system made
# by mmdebstrap (variant minbase) plus the interpreter package, streamed as
# a tarball straight into `docker import`; no tree is left on the disk.
# mmdebstrap's --dpkgopt=path-exclude keeps docs, man pages and translations
# out as packages unpack, and its customize hooks add the Node.js build,
# trim what is left and check the interpreter before the import.
#
#   sce-python:latest  package python3 (full standard library)
#   sce-node:latest    Node.js 24 LTS: the official build, from the npm
#                      registry's node-linux-<arch> package (pinned version
#                      and sha512), on a minbase root with libstdc++6
#
# Why not Debian's nodejs: bookworm ships Node.js 18, past its end of life,
# and builds it without node's start-up snapshot and code cache, so every
# container spent 222 ms of CPU on console.log(2+2), against 140 ms with
# the official build (bench/startup-cpu.sh, docs/PERFORMANCE.md).  The npm registry is the
# one place besides Debian these machines reach.
#
# Names: SCE_PYTHON_IMAGE, SCE_NODE_IMAGE. Mirror: SCE_DEBIAN_MIRROR, else
# the host's apt sources, else http://deb.debian.org/debian (mmdebstrap
# itself would not look at the host's sources).  Build logs:
# /var/log/sce-images-LANG.log.
#
# The cluster's images (--cluster, or by name; scripts/swarm.sh builds them,
# plain set-up never does), the same way, from the binaries of a build
# directory (--build-dir, else SCE_BUILD_DIR, else build/):
#
#   sce-server:latest    sce-server and the Debian packages of the shared
#                        libraries it links (found with ldd and dpkg -S on
#                        this machine, so a new library needs no edit here);
#                        runs as root: it needs its node's engine socket
#   sce-gateway:latest   sce-gateway, its libraries the same way, and the
#                        page's files (the build's static_dir) in
#                        /usr/share/sce/static; runs as nobody
#   sce-postgres:latest  Debian's PostgreSQL with the entrypoint
#                        sce-postgres: an empty data directory is
#                        initialised (role and database "sce", UTF-8), then
#                        postgres listens on every address and trusts TCP
#                        connections from the container's own networks only
#                        (pg_hba "samenet": the stack's overlay network),
#                        refusing every other; SIGTERM stops it fast
#                        (SIGINT); LLVM (JIT) left out, jit off
#
# Names: SCE_SERVER_IMAGE, SCE_GATEWAY_IMAGE, SCE_POSTGRES_IMAGE.
#
# An image is rebuilt only when its org.sce.recipe label differs from the
# hash of (this script's text, its package list, the suite, and for the
# cluster's images the files copied in), or with --force.  The images
# asked for are built in parallel.
set -euo pipefail

SCRIPT_PATH=$(readlink -f "${BASH_SOURCE[0]}")
SCRIPT_DIR=$(dirname "$SCRIPT_PATH")
# shellcheck source=lib/engine.sh
source "$SCRIPT_DIR/lib/engine.sh"

SUITE=bookworm
PYTHON_IMAGE=${SCE_PYTHON_IMAGE:-sce-python:latest}
NODE_IMAGE=${SCE_NODE_IMAGE:-sce-node:latest}
PYTHON_PACKAGES=(python3)
NODE_PACKAGES=(libstdc++6)
NODE_DIST_VERSION=24.21.0
# sha512 of each package's tarball (npm's dist.integrity, in hex)
declare -A NODE_DIST_SHA512=(
    [x64]=de750bb336795f47dc898a46d2de93add029273027f3e16520d3fa3a2317ed5f07aefa404cf37ddfa5352e545e389ae22d16b87bcc84a900580a72f23cd02ced
    [arm64]=1692513c4cf63afbd32df8c83a5346158f492cf30a825e66f9de2819804b836e242759a6bcdd5997f1cf2601781c3689e752127afd65d5c459fc333e91e5d6e6
)
# What must work inside each image, and how it tells its version.
PYTHON_CHECK=(python3 -c "import json, ctypes, sqlite3, multiprocessing, resource, http.client, zoneinfo")
NODE_CHECK=(node -e "require('fs');console.log(process.version)")
PYTHON_VERSION=(python3 -c "import platform; print(platform.python_version())")
NODE_VERSION=(node -p "process.versions.node")
IMAGE_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# Left out as packages unpack: docs but their copyright files (license
# terms), man/info pages, translations (C.UTF-8 lives in /usr/lib/locale).
TRIM_OPTS=(--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright'
    --dpkgopt='path-exclude=/usr/share/locale/*')
for d in man info lintian linda groff bug menu bash-completion; do
    TRIM_OPTS+=(--dpkgopt="path-exclude=/usr/share/$d" --dpkgopt="path-exclude=/usr/share/$d/*")
done

# Customize hooks: sh, the root fs in $1 (expanded there, not here);
# mmdebstrap itself then empties /tmp.
# Node.js: `npm pack` fetches the tarball into the root's /tmp.
# shellcheck disable=SC2016
NODE_HOOK='set -e; cd "$1/tmp"
tgz=$(npm pack --silent --ignore-scripts "$SCE_NODE_SPEC" | tail -n 1)
if [ -z "$tgz" ] || [ ! -f "$tgz" ]; then
    echo "[sce] error: node: cannot fetch $SCE_NODE_SPEC from the npm registry" >&2; exit 1
fi
sum=$(sha512sum "$tgz" | cut -d" " -f1)
if [ "$sum" != "$SCE_NODE_SHA512" ]; then
    echo "[sce] error: node: $SCE_NODE_SPEC has sha512 $sum, expected $SCE_NODE_SHA512" >&2; exit 1
fi
tar -xzf "$tgz" package/bin/node package/LICENSE
install -m 0755 package/bin/node "$1/usr/bin/node"
install -D -m 0644 package/LICENSE "$1/usr/share/doc/nodejs/copyright"'
# Then what path-exclude leaves of the docs (symlinks, directories), apt's
# lists and caches (mmdebstrap's own clean-up, skipped, would leave locks and
# empty directories), logs, the host's network identity the bootstrap
# copied in (Docker supplies its own), and every setuid/setgid bit: the
# sandbox has none.  User nobody (65534:65534) must exist.
# shellcheck disable=SC2016
TRIM_HOOK='set -e
find "$1/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
find "$1/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/* "$1"/var/cache/debconf/*-old \
    "$1"/var/lib/dpkg/*-old "$1"/var/cache/ldconfig/aux-cache
find "$1/var/log" -mindepth 1 ! -type d -delete
: >"$1/etc/resolv.conf"; rm -f "$1/etc/hostname"
find "$1" -xdev -perm /6000 -type f -exec chmod ug-s {} +
[ "$(chroot "$1" id -u nobody):$(chroot "$1" id -g nobody)" = 65534:65534 ]'

log() { echo "[sce] $*"; }
die() { echo "[sce] error: $*" >&2; exit 1; }

usage() {
    sed -n '2,/^set -euo pipefail/p' "$SCRIPT_PATH" | sed '$d; s/^# \{0,1\}//'
}

# --- arguments -------------------------------------------------------------
FORCE=0
WANT=()
BUILD_DIR=${SCE_BUILD_DIR:-$(dirname "$SCRIPT_DIR")/build}
while [ $# -gt 0 ]; do
    case "$1" in
        --force | -f) FORCE=1 ;;
        -h | --help) usage; exit 0 ;;
        --cluster) WANT+=(server gateway postgres) ;;
        --build-dir)
            [ $# -ge 2 ] || die "--build-dir needs a directory"
            BUILD_DIR=$2
            shift
            ;;
        python | node | server | gateway | postgres) WANT+=("$1") ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
    shift
done
[ ${#WANT[@]} -gt 0 ] || WANT=(python node)

[ "$(id -u)" -eq 0 ] || die "must run as root (mmdebstrap, chroot)"
for tool in mmdebstrap docker sha256sum sha512sum $(case " ${WANT[*]} " in *" node "*) echo npm ;; esac); do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found (scripts/lib/deps.sh installs it)"
done

# --- helpers ---------------------------------------------------------------

# The Debian mirror: first non-security URI of the host's apt sources.
debian_mirror() {
    local uri
    if [ -n "${SCE_DEBIAN_MIRROR:-}" ]; then
        echo "$SCE_DEBIAN_MIRROR"
        return
    fi
    uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
        awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) print $i }' |
        grep -v -e security -e '^cdrom:' -e '^file:' | head -n 1 || true)
    if [ -z "$uri" ]; then
        uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
            awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ } print $i }' |
            grep -v -e security -e '^cdrom:' -e '^file:' | head -n 1 || true)
    fi
    echo "${uri:-http://deb.debian.org/debian}"
}

# recipe_hash LANG PACKAGES...: what the image is built from (for the
# runtime images, the script without the cluster's part).
recipe_hash() {
    local text
    case "$1" in
        python | node) text=$(sed "/^# --- the cluster's images/,/^# --- main/d" "$SCRIPT_PATH") ;;
        *) text=$(cat "$SCRIPT_PATH") ;;
    esac
    { printf '%s\n' "$text"; printf '\n%s\n' "$SUITE" "$@"; } | sha256sum | cut -c1-64
}

image_recipe() { # the org.sce.recipe label of image $1, or nothing
    docker image inspect -f '{{index .Config.Labels "org.sce.recipe"}}' "$1" 2>/dev/null || true
}

# import_image LANG IMAGE RECIPE PACKAGES...: stdin is the version line of
# CHECK_HOOK, then mmdebstrap's tarball.  No version line: the bootstrap
# failed, nothing is imported.
import_image() {
    local lang=$1 image=$2 recipe=$3 version
    shift 3
    IFS= read -r version || return 1
    docker import \
        --change "ENV PATH=$IMAGE_PATH" \
        --change "ENV LANG=C.UTF-8" \
        --change "WORKDIR /tmp" \
        --change "LABEL org.sce.managed=1" \
        --change "LABEL org.sce.recipe=$recipe" \
        --change "LABEL org.sce.language=$lang" \
        --change "LABEL org.sce.version=$version" \
        --message "sce $lang runtime: debian $SUITE $*, $lang $version" \
        - "$image"
}

# build_image LANG IMAGE RECIPE: mmdebstrap | docker import, then a smoke
# test of the image the way the server runs it.
build_image() {
    local lang=$1 image=$2 recipe=$3
    local pkgs check vcmd version run hooks=() logf=/var/log/sce-images-$lang.log t0=$SECONDS arch old_id new_id
    case "$lang" in
        python) pkgs=("${PYTHON_PACKAGES[@]}"); check=("${PYTHON_CHECK[@]}"); vcmd=("${PYTHON_VERSION[@]}") ;;
        node) pkgs=("${NODE_PACKAGES[@]}"); check=("${NODE_CHECK[@]}"); vcmd=("${NODE_VERSION[@]}") ;;
    esac
    if [ "$lang" = node ]; then
        case "$(uname -m)" in
            x86_64) arch=x64 ;;
            aarch64) arch=arm64 ;;
            *) echo "[sce] error: node: no pinned Node.js build for $(uname -m)" >&2; return 1 ;;
        esac
        export SCE_NODE_SPEC="node-linux-$arch@$NODE_DIST_VERSION" SCE_NODE_SHA512=${NODE_DIST_SHA512[$arch]}
        hooks+=(--customize-hook="$NODE_HOOK")
    fi
    # Last, the check; the version goes to fd 3, which import_image reads first.
    run="chroot \"\$1\" /usr/bin/env -i PATH=$IMAGE_PATH LANG=C.UTF-8"
    hooks+=(--customize-hook="$TRIM_HOOK"
        --customize-hook="set -e; $run ${check[*]@Q} >&2; $run ${vcmd[*]@Q} >&3")

    log "$lang: mmdebstrap $SUITE + ${pkgs[*]} from $MIRROR | docker import $image (log: $logf)"
    old_id=$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)
    : >"$logf"
    # The merged-usr hooks make /usr merged the way debootstrap does, without
    # the usrmerge package (and the perl it pulls in).
    if ! mmdebstrap --mode=root --variant=minbase --format=tar --include="$(IFS=,; echo "${pkgs[*]}")" \
        --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr --skip=cleanup/apt \
        "${TRIM_OPTS[@]}" "${hooks[@]}" "$SUITE" - "$MIRROR" 3>&1 2>>"$logf" |
        import_image "$lang" "$image" "$recipe" "${pkgs[@]}" >>"$logf" 2>&1; then
        tail -n 20 "$logf" >&2
        echo "[sce] error: $lang: mmdebstrap | docker import failed (see $logf)" >&2
        return 1
    fi
    version=$(docker image inspect -f '{{index .Config.Labels "org.sce.version"}}' "$image")

    if ! docker run --rm --network none --read-only --user 65534:65534 "$image" \
        "${check[@]}" >>"$logf" 2>&1; then
        tail -n 5 "$logf" >&2
        echo "[sce] error: $lang: $image does not run: ${check[*]}" >&2
        return 1
    fi
    new_id=$(docker image inspect -f '{{.Id}}' "$image")
    # Drop the image this one replaces, unless something still uses it.
    if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then
        docker image rm "$old_id" >/dev/null 2>&1 || true
    fi
    log "$lang: built $image ($lang $version, $(docker image inspect -f '{{.Size}}' "$image" |
        awk '{ printf "%.0f MB", $1 / 1e6 }')) in $((SECONDS - t0))s"
}

# --- the cluster's images ---------------------------------------------------
# (Left out of the runtime images' recipe: a change here rebuilds only these.)

SERVER_IMAGE=${SCE_SERVER_IMAGE:-sce-server:latest}
GATEWAY_IMAGE=${SCE_GATEWAY_IMAGE:-sce-gateway:latest}
POSTGRES_IMAGE=${SCE_POSTGRES_IMAGE:-sce-postgres:latest}
POSTGRES_PACKAGES=(postgresql)
STATIC_IN_IMAGE=/usr/share/sce/static
# Left out of sce-postgres: LLVM and the JIT that alone loads it (jit=off).
POSTGRES_TRIM_OPTS=(--dpkgopt='path-exclude=/usr/lib/*/libLLVM*'
    --dpkgopt='path-exclude=/usr/lib/postgresql/*/lib/llvmjit*'
    --dpkgopt='path-exclude=/usr/lib/postgresql/*/lib/bitcode/*')
# The entrypoint of sce-postgres (/usr/local/bin/sce-postgres).
# shellcheck disable=SC2016
POSTGRES_ENTRYPOINT='#!/bin/sh
# sce-postgres: PostgreSQL for the shared history of an sce cluster.
# An empty $PGDATA is initialised: superuser and database "sce", UTF-8;
# TCP connections from the networks of this container (samenet: the
# stack'"'"'s overlay network) are trusted, all others refused.  postgres
# itself runs as user postgres.
set -eu
PGDATA=${PGDATA:-/var/lib/postgresql/data}
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
as_pg() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
mkdir -p "$PGDATA" /run/postgresql
chown postgres:postgres "$PGDATA" /run/postgresql
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    echo "sce-postgres: initialising $PGDATA" >&2
    as_pg "$bin/initdb" -D "$PGDATA" -U sce -E UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host=reject >/dev/null
    echo "CREATE DATABASE sce" | as_pg "$bin/postgres" --single -D "$PGDATA" postgres >/dev/null
    printf "%s\n" "local all all trust" "host all all samenet trust" >"$PGDATA/pg_hba.conf"
fi
# SIGTERM (docker stop) becomes SIGINT, a fast shut-down: a smart one would
# wait for every client to leave, and the servers never do.
as_pg "$bin/postgres" -D "$PGDATA" -c listen_addresses="*" \
    -c unix_socket_directories=/run/postgresql -c jit=off "$@" &
pid=$!
trap "kill -INT \$pid" TERM INT
while :; do
    status=0
    wait "$pid" || status=$?
    kill -0 "$pid" 2>/dev/null || break
done
exit "$status"'


# lib_packages BINARY: the Debian packages that hold the shared libraries
# BINARY links directly (its NEEDED entries), one a line; libc6 is in every
# root.  Their own dependencies come with them from apt.
lib_packages() {
    local bin=$1 soname path dir pkg
    local -A needed=()
    for soname in $(objdump -p "$bin" | awk '$1 == "NEEDED" { print $2 }'); do
        needed[$soname]=1
    done
    ldd "$bin" | awk '$2 == "=>" { print $1, $3 }' | while read -r soname path; do
        [ -n "${needed[$soname]:-}" ] || continue
        [ "$path" != "not" ] || { echo "[sce] error: $bin: $soname not found" >&2; return 1; }
        dir=$(basename "$(dirname "$path")")
        pkg=$(dpkg -S "*/$dir/$soname" 2>/dev/null | head -n 1 | sed 's/[:,].*//' || true)
        [ -n "$pkg" ] || { echo "[sce] error: no Debian package holds $path (linked by $bin)" >&2; return 1; }
        [ "$pkg" = libc6 ] || echo "$pkg"
    done | sort -u
}

# cluster_file NAME: the file or directory of the build copied into image NAME.
cluster_file() {
    local static
    case "$1" in
        server) echo "$BUILD_DIR/server/sce-server" ;;
        gateway) echo "$BUILD_DIR/web-gateway/sce-gateway" ;;
        gateway-static)
            static=$(sed -n 's/^SCE_STATIC_DIR:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null || true)
            echo "${static:-$BUILD_DIR/web-gateway/static}"
            ;;
    esac
}

# files_hash PATH...: one hash of the files' contents and names.
files_hash() {
    find "$@" -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-64
}

# build_cluster_image NAME IMAGE RECIPE PACKAGES...: mmdebstrap | docker
# import, like build_image, then a smoke test of the image.
build_cluster_image() {
    local name=$1 image=$2 recipe=$3
    shift 3
    local pkgs=("$@") logf=/var/log/sce-images-$name.log t0=$SECONDS opts=() hooks=() changes=()
    local run="chroot \"\$1\" /usr/bin/env -i PATH=$IMAGE_PATH LANG=C.UTF-8" version old_id new_id cid ok
    # shellcheck disable=SC2016
    case "$name" in
        server)
            export SCE_FILE_BIN SCE_IMAGE_VERSION
            SCE_FILE_BIN=$(cluster_file server)
            SCE_IMAGE_VERSION=$(sha256sum "$SCE_FILE_BIN" | cut -c1-12)
            hooks+=(--customize-hook='install -s -m 0755 "$SCE_FILE_BIN" "$1/usr/bin/sce-server"'
                --customize-hook='mkdir -p "$1/var/lib/sce"')
            changes+=(--change 'ENTRYPOINT ["/usr/bin/sce-server"]' --change "ENV SCE_LISTEN=tcp://0.0.0.0:7700"
                --change "EXPOSE 7700")
            ;;
        gateway)
            export SCE_FILE_BIN SCE_FILE_STATIC SCE_IMAGE_VERSION SCE_STATIC_IN_IMAGE=$STATIC_IN_IMAGE
            SCE_FILE_BIN=$(cluster_file gateway)
            SCE_FILE_STATIC=$(cluster_file gateway-static)
            SCE_IMAGE_VERSION=$(sha256sum "$SCE_FILE_BIN" | cut -c1-12)
            hooks+=(--customize-hook='install -s -m 0755 "$SCE_FILE_BIN" "$1/usr/bin/sce-gateway"'
                --customize-hook='mkdir -p "$1$SCE_STATIC_IN_IMAGE" && cp -R "$SCE_FILE_STATIC/." "$1$SCE_STATIC_IN_IMAGE/" && chmod -R a+rX,go-w "$1$SCE_STATIC_IN_IMAGE"')
            changes+=(--change 'ENTRYPOINT ["/usr/bin/sce-gateway"]' --change "ENV SCE_GATEWAY_LISTEN=0.0.0.0:8080"
                --change "ENV SCE_GATEWAY_STATIC_DIR=$STATIC_IN_IMAGE" --change "USER 65534:65534"
                --change "EXPOSE 8080")
            ;;
        postgres)
            export SCE_PG_ENTRYPOINT=$POSTGRES_ENTRYPOINT
            opts+=("${POSTGRES_TRIM_OPTS[@]}")
            # No cluster of Debian's own (pg_createcluster made one as the
            # package installed), and no snake-oil key shared by every copy.
            hooks+=(--customize-hook='printf "%s\n" "$SCE_PG_ENTRYPOINT" >"$1/usr/local/bin/sce-postgres"
chmod 0755 "$1/usr/local/bin/sce-postgres"
rm -rf "$1"/var/lib/postgresql/* "$1"/etc/postgresql/* "$1"/etc/ssl/private/ssl-cert-snakeoil.key \
    "$1"/etc/ssl/certs/ssl-cert-snakeoil.pem')
            changes+=(--change 'ENTRYPOINT ["/usr/local/bin/sce-postgres"]'
                --change "ENV PGDATA=/var/lib/postgresql/data" --change "EXPOSE 5432")
            ;;
    esac
    case "$name" in
        server | gateway)
            hooks+=(--customize-hook="set -e; $run sce-$name --help >/dev/null; echo \"\$SCE_IMAGE_VERSION\" >&3") ;;
        postgres)
            hooks+=(--customize-hook="set -e; $run sh -c 'for b in /usr/lib/postgresql/*/bin/postgres; do \$b --version; done' |
                tail -n 1 | awk '{ print \$3 }' >&3") ;;
    esac
    hooks=("${hooks[@]:0:${#hooks[@]}-1}" --customize-hook="$TRIM_HOOK" "${hooks[-1]}")

    log "$name: mmdebstrap $SUITE + ${pkgs[*]} from $MIRROR | docker import $image (log: $logf)"
    old_id=$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)
    : >"$logf"
    if ! mmdebstrap --mode=root --variant=minbase --format=tar --include="$(IFS=,; echo "${pkgs[*]}")" \
        --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr --skip=cleanup/apt \
        "${TRIM_OPTS[@]}" "${opts[@]}" "${hooks[@]}" "$SUITE" - "$MIRROR" 3>&1 2>>"$logf" |
        {
            IFS= read -r version || exit 1
            docker import --change "ENV PATH=$IMAGE_PATH" --change "ENV LANG=C.UTF-8" \
                --change "LABEL org.sce.component=$name" --change "LABEL org.sce.recipe=$recipe" \
                --change "LABEL org.sce.version=$version" "${changes[@]}" \
                --message "sce $name: debian $SUITE ${pkgs[*]}, $name $version" - "$image"
        } >>"$logf" 2>&1; then
        tail -n 20 "$logf" >&2
        echo "[sce] error: $name: mmdebstrap | docker import failed (see $logf)" >&2
        return 1
    fi
    version=$(docker image inspect -f '{{index .Config.Labels "org.sce.version"}}' "$image")

    # The smoke test: the program starts in the image (PostgreSQL: the
    # entrypoint initialises an empty directory and answers a query).
    ok=0
    case "$name" in
        server | gateway) docker run --rm --network none "$image" --help >>"$logf" 2>&1 && ok=1 ;;
        postgres)
            if cid=$(docker run -d --network none "$image" 2>>"$logf"); then
                for _ in $(seq 1 120); do
                    if docker exec "$cid" sh -c 'psql=$(ls /usr/lib/postgresql/*/bin/psql | tail -n 1)
                        "$psql" -h /run/postgresql -U sce -d sce -Atc "SELECT 1"' 2>/dev/null | grep -qx 1; then
                        ok=1
                        break
                    fi
                    sleep 0.25
                done
                docker logs "$cid" >>"$logf" 2>&1 || true
                docker rm -f "$cid" >/dev/null 2>&1 || true
            fi
            ;;
    esac
    if [ "$ok" -ne 1 ]; then
        tail -n 5 "$logf" >&2
        echo "[sce] error: $name: $image does not start (see $logf)" >&2
        return 1
    fi
    new_id=$(docker image inspect -f '{{.Id}}' "$image")
    if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then
        docker image rm "$old_id" >/dev/null 2>&1 || true
    fi
    log "$name: built $image ($name $version, $(docker image inspect -f '{{.Size}}' "$image" |
        awk '{ printf "%.0f MB", $1 / 1e6 }')) in $((SECONDS - t0))s"
}

# --- main ------------------------------------------------------------------
sce_ensure_engine >/dev/null || die "no docker engine"
MIRROR=$(debian_mirror)
START=$SECONDS

# Decide what to build.
BUILD=()
declare -A IMAGE RECIPE PACKAGES
IMAGE[python]=$PYTHON_IMAGE
IMAGE[node]=$NODE_IMAGE
IMAGE[server]=$SERVER_IMAGE
IMAGE[gateway]=$GATEWAY_IMAGE
IMAGE[postgres]=$POSTGRES_IMAGE
for lang in "${WANT[@]}"; do
    case "$lang" in
        python) RECIPE[python]=$(recipe_hash python "${PYTHON_PACKAGES[@]}") ;;
        node) RECIPE[node]=$(recipe_hash node "${NODE_PACKAGES[@]}") ;;
        server | gateway)
            bin=$(cluster_file "$lang")
            [ -x "$bin" ] || die "$lang: $bin not built (--build-dir, SCE_BUILD_DIR)"
            PACKAGES[$lang]=$(lib_packages "$bin" | tr '\n' ' ') || die "$lang: cannot list the packages of $bin"
            files=("$bin")
            [ "$lang" = server ] || files+=("$(cluster_file gateway-static)")
            [ -e "${files[-1]}" ] || die "$lang: ${files[-1]} not built"
            read -ra pkgs <<<"${PACKAGES[$lang]}"
            RECIPE[$lang]=$(recipe_hash "$lang" "${pkgs[@]}" "$(files_hash "${files[@]}")")
            ;;
        postgres)
            PACKAGES[postgres]=${POSTGRES_PACKAGES[*]}
            RECIPE[postgres]=$(recipe_hash postgres "${POSTGRES_PACKAGES[@]}")
            ;;
    esac
done
for lang in "${WANT[@]}"; do
    if [ "$FORCE" -eq 0 ] && [ "$(image_recipe "${IMAGE[$lang]}")" = "${RECIPE[$lang]}" ]; then
        log "image ${IMAGE[$lang]} is up to date"
    else
        BUILD+=("$lang")
    fi
done
[ ${#BUILD[@]} -gt 0 ] || exit 0

# One background job per image, each in its own process group (set -m), so
# that an interrupt reaches all of a job: mmdebstrap then removes its own
# temporary tree and mounts, and a cut-off import makes no image.
PIDS=()
stop_jobs() {
    local p
    echo "[sce] interrupted" >&2
    for p in "${PIDS[@]}"; do kill -TERM -- "-$p" 2>/dev/null || true; done
    wait
    exit 130
}
trap stop_jobs INT TERM
set -m
for lang in "${BUILD[@]}"; do
    case "$lang" in
        python | node) build_image "$lang" "${IMAGE[$lang]}" "${RECIPE[$lang]}" </dev/null & ;;
        *)
            read -ra pkgs <<<"${PACKAGES[$lang]}"
            build_cluster_image "$lang" "${IMAGE[$lang]}" "${RECIPE[$lang]}" "${pkgs[@]}" </dev/null &
            ;;
    esac
    PIDS+=($!)
done
FAILED=()
for i in "${!BUILD[@]}"; do
    wait "${PIDS[$i]}" || FAILED+=("${BUILD[$i]}")
done

if [ ${#FAILED[@]} -gt 0 ]; then
    die "failed to build: ${FAILED[*]} (after $((SECONDS - START))s)"
fi
log "built ${BUILD[*]} in $((SECONDS - START))s"
