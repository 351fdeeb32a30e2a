#!/usr/bin/env bash
# scripts/images.sh - build sce's runtime images locally from Debian packages.
#
#   scripts/images.sh [--force] [python|node ...]
#
# No registry is reachable, so each image is a debootstrap'ed Debian root
# file system (variant minbase) plus the interpreter package, trimmed and
# turned into an image with `tar | docker import`.
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
# the host's apt sources, else http://deb.debian.org/debian.
#
# An image is rebuilt only when its org.sce.recipe label differs from the
# hash of (this script's text, its package list, the suite), or with --force.
# Both images are built in parallel when both are needed.
set -euo pipefail

SCRIPT_PATH=$(readlink -f "${BASH_SOURCE[0]}")
SCRIPT_DIR=$(dirname "$SCRIPT_PATH")
# shellcheck source=lib/engine.sh
source "$SCRIPT_DIR/lib/engine.sh"

SUITE=bookworm
WORK_ROOT=/var/cache/sce-images
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
# What must work inside each image.
PYTHON_CHECK=(python3 -c "import json, ctypes, sqlite3, multiprocessing, resource, http.client, zoneinfo")
NODE_CHECK=(node -e "require('fs');console.log(process.version)")
IMAGE_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

log() { echo "[sce] $*"; }
die() { echo "[sce] error: $*" >&2; exit 1; }

usage() {
    sed -n '2,/^set -euo pipefail/p' "$SCRIPT_PATH" | sed '$d; s/^# \{0,1\}//'
}

# --- arguments -------------------------------------------------------------
FORCE=0
WANT=()
while [ $# -gt 0 ]; do
    case "$1" in
        --force | -f) FORCE=1 ;;
        -h | --help) usage; exit 0 ;;
        python | node) WANT+=("$1") ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
    shift
done
[ ${#WANT[@]} -gt 0 ] || WANT=(python node)

[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap, chroot)"
for tool in debootstrap docker tar sha256sum sha512sum chroot; do
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

# recipe_hash LANG PACKAGES...: what the image is built from.
recipe_hash() {
    { cat "$SCRIPT_PATH"; printf '\n%s\n' "$SUITE" "$@"; } | sha256sum | cut -c1-64
}

image_recipe() { # the org.sce.recipe label of image $1, or nothing
    docker image inspect -f '{{index .Config.Labels "org.sce.recipe"}}' "$1" 2>/dev/null || true
}

# Remove a build directory; unmount anything left mounted inside it first
# (an interrupted debootstrap leaves /proc and /sys mounted in the target).
remove_tree() {
    local dir=$1 mnt
    [ -d "$dir" ] || return 0
    while read -r mnt; do
        umount -l "$mnt" 2>/dev/null || true
    done < <(awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r)
    rm -rf --one-file-system "$dir"
}

# Trim a root file system: docs, man pages, translations, caches, logs.
trim_rootfs() {
    local r=$1
    # Keep the copyright files (license terms), drop the rest of the docs.
    find "$r/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
    find "$r/usr/share/doc" -mindepth 1 -type d -empty -delete
    rm -rf "$r"/usr/share/{man,info,lintian,linda,locale,groff,bug,menu,bash-completion}
    mkdir -p "$r/usr/share/locale"            # C.UTF-8 lives in /usr/lib/locale
    rm -rf "$r"/var/cache/apt/* "$r"/var/lib/apt/lists/* "$r"/var/cache/debconf/*-old \
        "$r"/var/lib/dpkg/*-old "$r"/var/cache/ldconfig/aux-cache
    find "$r/var/log" -mindepth 1 ! -type d -delete
    # debootstrap copies the host's network identity; Docker supplies its own.
    : >"$r/etc/resolv.conf"
    rm -f "$r/etc/hostname"
    # The sandbox must contain no setuid/setgid programs.
    find "$r" -xdev -perm /6000 -type f -exec chmod ug-s {} +
}

# install_node_dist ROOT LOG: the official node binary into ROOT/usr/bin,
# from the npm registry, checked against the pinned sha512.
install_node_dist() {
    local r=$1 logf=$2 arch tmp tgz sum spec rv=1
    case "$(uname -m)" in
        x86_64) arch=x64 ;;
        aarch64) arch=arm64 ;;
        *) echo "[sce] error: node: no pinned Node.js build for $(uname -m)" >&2; return 1 ;;
    esac
    command -v npm >/dev/null 2>&1 || { echo "[sce] error: node: npm not found" >&2; return 1; }
    spec="node-linux-$arch@$NODE_DIST_VERSION"
    tmp=$WORK_ROOT/node.dist # removed here, and by the build job's EXIT trap
    remove_tree "$tmp"
    mkdir -p "$tmp"
    if ! tgz=$(cd "$tmp" && npm pack --silent --ignore-scripts "$spec" 2>>"$logf" | tail -n 1) ||
        [ ! -f "$tmp/$tgz" ]; then
        echo "[sce] error: node: cannot fetch $spec from the npm registry (see $logf)" >&2
    elif ! sum=$(sha512sum "$tmp/$tgz" | cut -d' ' -f1) || [ "$sum" != "${NODE_DIST_SHA512[$arch]}" ]; then
        echo "[sce] error: node: $spec has sha512 $sum, expected ${NODE_DIST_SHA512[$arch]}" >&2
    elif tar -C "$tmp" -xzf "$tmp/$tgz" package/bin/node package/LICENSE &&
        install -m 0755 "$tmp/package/bin/node" "$r/usr/bin/node" &&
        install -D -m 0644 "$tmp/package/LICENSE" "$r/usr/share/doc/nodejs/copyright"; then
        rv=0
    else
        echo "[sce] error: node: cannot unpack $spec into the root fs" >&2
    fi
    rm -rf "$tmp"
    return "$rv"
}

# Make sure user nobody (65534) and group nogroup (65534) exist.
ensure_nobody() {
    local r=$1
    grep -q '^nogroup:' "$r/etc/group" || echo 'nogroup:x:65534:' >>"$r/etc/group"
    grep -q '^nobody:' "$r/etc/passwd" ||
        echo 'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin' >>"$r/etc/passwd"
    if [ -f "$r/etc/shadow" ] && ! grep -q '^nobody:' "$r/etc/shadow"; then
        echo 'nobody:*:19000:0:99999:7:::' >>"$r/etc/shadow"
    fi
}

# build_image LANG IMAGE RECIPE: debootstrap, trim, check, import.
build_image() {
    local lang=$1 image=$2 recipe=$3
    local pkgs check version dir logf t0=$SECONDS t old_id new_id
    case "$lang" in
        python) pkgs=("${PYTHON_PACKAGES[@]}"); check=("${PYTHON_CHECK[@]}") ;;
        node) pkgs=("${NODE_PACKAGES[@]}"); check=("${NODE_CHECK[@]}") ;;
    esac
    dir="$WORK_ROOT/$lang.rootfs"
    logf="$WORK_ROOT/$lang.log"
    remove_tree "$dir"
    mkdir -p "$dir"
    : >"$logf"

    log "$lang: debootstrap $SUITE + ${pkgs[*]} from $MIRROR (log: $logf)"
    if ! debootstrap --variant=minbase --include="$(IFS=,; echo "${pkgs[*]}")" \
        "$SUITE" "$dir" "$MIRROR" >>"$logf" 2>&1; then
        tail -n 20 "$logf" >&2
        remove_tree "$dir"
        echo "[sce] error: $lang: debootstrap failed (see $logf)" >&2
        return 1
    fi
    t=$SECONDS
    log "$lang: debootstrap done in $((t - t0))s ($(du -sm "$dir" | cut -f1) MB)"

    if [ "$lang" = node ] && ! install_node_dist "$dir" "$logf"; then
        remove_tree "$dir"
        return 1
    fi
    trim_rootfs "$dir"
    ensure_nobody "$dir"

    # Check the interpreter and read its version inside the root fs.
    if ! chroot "$dir" /usr/bin/env -i PATH="$IMAGE_PATH" LANG=C.UTF-8 "${check[@]}" >>"$logf" 2>&1; then
        tail -n 5 "$logf" >&2
        remove_tree "$dir"
        echo "[sce] error: $lang: check failed in the root fs: ${check[*]}" >&2
        return 1
    fi
    case "$lang" in
        python) version=$(chroot "$dir" /usr/bin/env -i python3 -c 'import platform; print(platform.python_version())') ;;
        node) version=$(chroot "$dir" /usr/bin/env -i node -p 'process.versions.node') ;;
    esac
    log "$lang: trimmed to $(du -sm "$dir" | cut -f1) MB, $lang $version"

    old_id=$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)
    if ! tar -C "$dir" --numeric-owner -cf - . | docker import \
        --change "ENV PATH=$IMAGE_PATH" \
        --change "ENV LANG=C.UTF-8" \
        --change "WORKDIR /tmp" \
        --change "LABEL org.sce.managed=1" \
        --change "LABEL org.sce.recipe=$recipe" \
        --change "LABEL org.sce.language=$lang" \
        --change "LABEL org.sce.version=$version" \
        --message "sce $lang runtime: debian $SUITE ${pkgs[*]}, $lang $version" \
        - "$image" >>"$logf" 2>&1; then
        tail -n 5 "$logf" >&2
        remove_tree "$dir"
        echo "[sce] error: $lang: docker import failed" >&2
        return 1
    fi
    remove_tree "$dir"

    # Smoke test the imported image the way the server runs it.
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
    rm -f "$logf"
}

# --- main ------------------------------------------------------------------
sce_ensure_engine >/dev/null || die "no docker engine"
MIRROR=$(debian_mirror)
START=$SECONDS

# Decide what to build.
BUILD=()
declare -A IMAGE RECIPE
IMAGE[python]=$PYTHON_IMAGE
IMAGE[node]=$NODE_IMAGE
RECIPE[python]=$(recipe_hash python "${PYTHON_PACKAGES[@]}")
RECIPE[node]=$(recipe_hash node "${NODE_PACKAGES[@]}")
for lang in "${WANT[@]}"; do
    if [ "$FORCE" -eq 0 ] && [ "$(image_recipe "${IMAGE[$lang]}")" = "${RECIPE[$lang]}" ]; then
        log "image ${IMAGE[$lang]} is up to date"
    else
        BUILD+=("$lang")
    fi
done
[ ${#BUILD[@]} -gt 0 ] || exit 0

mkdir -p "$WORK_ROOT"
# Clean up if we are interrupted: stop each build job with everything it
# started (debootstrap, dpkg in the chroot, ...), then remove the root fs.
PIDS=()
descendants() {
    local c
    for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
        echo "$c"
        descendants "$c"
    done
}
cleanup() {
    local p l tree=()
    for p in "${PIDS[@]}"; do tree+=("$p" $(descendants "$p")); done
    [ ${#tree[@]} -eq 0 ] || kill "${tree[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
    for l in "${BUILD[@]}"; do remove_tree "$WORK_ROOT/$l.rootfs"; done
    remove_tree "$WORK_ROOT/node.dist"
}
trap 'echo "[sce] interrupted, cleaning up" >&2; cleanup; exit 130' INT TERM

# Build in parallel, one background job per image.
for lang in "${BUILD[@]}"; do
    # The EXIT trap removes the root fs however the job ends.
    (
        trap 'remove_tree "$WORK_ROOT/$lang.rootfs"; remove_tree "$WORK_ROOT/$lang.dist"' EXIT
        build_image "$lang" "${IMAGE[$lang]}" "${RECIPE[$lang]}"
    ) &
    PIDS+=($!)
done
FAILED=()
for i in "${!BUILD[@]}"; do
    wait "${PIDS[$i]}" || FAILED+=("${BUILD[$i]}")
done
PIDS=()
rmdir "$WORK_ROOT" 2>/dev/null || true

if [ ${#FAILED[@]} -gt 0 ]; then
    die "failed to build: ${FAILED[*]} (after $((SECONDS - START))s)"
fi
log "built ${BUILD[*]} in $((SECONDS - START))s"
