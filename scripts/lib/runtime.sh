#!/usr/bin/env bash
# scripts/lib/runtime.sh - register the OCI runtime sce runs programs on
# with the Docker engine that is running.
#
# Source it (after engine.sh) and call
#   sce_ensure_runtime RUNTIME      runc (or empty): nothing to do
#                                   runsc: gVisor, registered if it is not
#   sce_forget_runtime              undo what sce_ensure_runtime changed
#
# runsc is Debian's gVisor package.  It is registered in the engine's
# daemon.json as {"runtimes": {"runsc": {"path": "/usr/bin/runsc",
# "runtimeArgs": ["--network=none", "--oci-seccomp"]}}} and the engine
# reloads its configuration on SIGHUP: it is never restarted, and no other
# key or runtime of daemon.json is touched.  --network=none: sce's
# containers have no network, and runsc refuses to start a sandbox with a
# network stack of its own in the root network namespace.  --oci-seccomp:
# without it runsc ignores the container's seccomp profile.  An existing
# "runsc" entry is used as it is if it has both, and is never rewritten;
# without them sce-server refuses to run on it (server/oci_runtime.c), so
# that is an error naming the fix.
#
# sce_ensure_runtime records what it added in SCE_RUNTIME_ADDED (the
# daemon.json path, and whether the file existed), so that a test run can
# leave the engine as it found it with sce_forget_runtime.

SCE_RUNSC_PATH=${SCE_RUNSC_PATH:-/usr/bin/runsc}
SCE_RUNTIME_ADDED=""

# The engine's pid: /var/run/docker.pid, else the one process named dockerd.
sce__dockerd_pid() {
    local pid f
    pid=$(cat /var/run/docker.pid 2>/dev/null || true)
    if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ]; then
        echo "$pid"
        return 0
    fi
    for f in /proc/[0-9]*/comm; do
        if [ "$(cat "$f" 2>/dev/null)" = dockerd ]; then
            f=${f%/comm}
            echo "${f#/proc/}"
            return 0
        fi
    done
    return 1
}

# The daemon.json the engine with pid $1 reads (its --config-file, or the
# default).
sce__daemon_json() {
    local arg next=""
    while IFS= read -r -d '' arg; do
        if [ -n "$next" ]; then
            echo "$arg"
            return 0
        fi
        case "$arg" in
        --config-file=*) echo "${arg#--config-file=}"; return 0 ;;
        --config-file) next=1 ;;
        esac
    done <"/proc/$1/cmdline"
    echo /etc/docker/daemon.json
}

# The engine's view of runtime $1: its runtimeArgs, one per line; fails
# when the engine does not know the runtime.
sce__engine_runtime_args() {
    local sock="${SCE_DOCKER_SOCKET:-/var/run/docker.sock}" info
    info=$(curl -fsS --max-time 10 --unix-socket "$sock" http://localhost/info) || return 1
    python3 -c '
import json, sys
rt = json.load(sys.stdin).get("Runtimes") or {}
if sys.argv[1] not in rt:
    sys.exit(1)
for a in rt[sys.argv[1]].get("runtimeArgs") or []:
    print(a)
' "$1" <<<"$info"
}

# Sends the engine SIGHUP and waits until its view of runtime $1 is
# present ($2 = present) or gone ($2 = absent).
sce__engine_reload() {
    local pid=$1 name=$2 want=$3 i
    kill -HUP "$pid"
    for ((i = 0; i < 100; i++)); do
        if sce__engine_runtime_args "$name" >/dev/null; then
            [ "$want" = present ] && return 0
        else
            [ "$want" = absent ] && return 0
        fi
        sleep 0.1
    done
    echo "[sce] error: the engine (pid $pid) did not reload its configuration within 10 s" >&2
    return 1
}

sce_ensure_runtime() {
    local runtime=${1:-runc} pid conf existed args
    case "$runtime" in
    runc) return 0 ;;
    runsc) ;;
    *)
        echo "[sce] error: unknown runtime '$runtime' (runc or runsc)" >&2
        return 1
        ;;
    esac
    if [ ! -x "$SCE_RUNSC_PATH" ]; then
        echo "[sce] error: $SCE_RUNSC_PATH is missing (apt-get install runsc)" >&2
        return 1
    fi
    if args=$(sce__engine_runtime_args runsc); then
        if grep -qx -- '--network=none' <<<"$args" && grep -qx -- '--oci-seccomp' <<<"$args"; then
            echo "[sce] runtime runsc (gVisor) is registered with the engine"
            return 0
        fi
        echo "[sce] error: the engine's runtime 'runsc' lacks --network=none or --oci-seccomp" \
            "in its runtimeArgs; add them in daemon.json and send dockerd SIGHUP" \
            "(sce does not rewrite another's runtime)" >&2
        return 1
    fi
    pid=$(sce__dockerd_pid) || {
        echo "[sce] error: no dockerd process to register runsc with" >&2
        return 1
    }
    conf=$(sce__daemon_json "$pid")
    existed=0
    [ -f "$conf" ] && existed=1
    mkdir -p "$(dirname "$conf")"
    # Adds the one key, keeps every other one; written next to the file and
    # renamed over it, so the engine never reads half a file.
    python3 - "$conf" "$SCE_RUNSC_PATH" <<'PY' || return 1
import json, os, sys
path, runsc = sys.argv[1], sys.argv[2]
conf = {}
if os.path.exists(path):
    with open(path) as f:
        text = f.read()
    if text.strip():
        try:
            conf = json.loads(text)
        except ValueError as e:
            sys.exit(f"[sce] error: {path} is not valid JSON ({e}); not touching it")
if not isinstance(conf, dict):
    sys.exit(f"[sce] error: {path} is not a JSON object; not touching it")
rts = conf.setdefault("runtimes", {})
if "runsc" in rts:
    sys.exit(f"[sce] error: {path} names a runtime 'runsc' the engine has not loaded; "
             "send dockerd SIGHUP or fix the file")
rts["runsc"] = {"path": runsc, "runtimeArgs": ["--network=none", "--oci-seccomp"]}
tmp = path + ".sce-tmp"
with open(tmp, "w") as f:
    json.dump(conf, f, indent=2)
    f.write("\n")
os.replace(tmp, path)
PY
    echo "[sce] registered runtime runsc (gVisor) in $conf; reloading the engine (pid $pid)"
    sce__engine_reload "$pid" runsc present || return 1
    SCE_RUNTIME_ADDED="$conf:$existed"
}

sce_forget_runtime() {
    local conf existed pid
    [ -n "$SCE_RUNTIME_ADDED" ] || return 0
    conf=${SCE_RUNTIME_ADDED%:*}
    existed=${SCE_RUNTIME_ADDED##*:}
    SCE_RUNTIME_ADDED=""
    # The engine reloads its runtimes only when the file names the key, so
    # the first write keeps "runtimes" (maybe empty) for the reload, and the
    # second puts the file back as it was once the engine has let go.
    sce__forget_write "$conf" keep || return 1
    echo "[sce] removed runtime runsc from $conf again; reloading the engine"
    pid=$(sce__dockerd_pid) || return 0
    sce__engine_reload "$pid" runsc absent || return 1
    sce__forget_write "$conf" tidy "$existed"
}

# Writes daemon.json $1 without runsc; with "tidy", also without an empty
# "runtimes", and removes a file sce created ($3 = 0) that is left empty.
sce__forget_write() {
    python3 - "$@" <<'PY'
import json, os, sys
path, mode = sys.argv[1], sys.argv[2]
existed = len(sys.argv) > 3 and sys.argv[3] == "1"
with open(path) as f:
    conf = json.load(f)
rts = conf.setdefault("runtimes", {})
rts.pop("runsc", None)
if mode == "tidy" and not rts:
    del conf["runtimes"]
if mode == "tidy" and not conf and not existed:
    os.remove(path)
    sys.exit(0)
tmp = path + ".sce-tmp"
with open(tmp, "w") as f:
    json.dump(conf, f, indent=2)
    f.write("\n")
os.replace(tmp, path)
PY
}
