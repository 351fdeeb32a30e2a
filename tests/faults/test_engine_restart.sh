#!/usr/bin/env bash
# tests/faults/test_engine_restart.sh BUILD_DIR SOURCE_DIR - the Docker
# engine restarts while runs are in flight.
#
#   1. a server of this test's own (its own instance, tcp on a random port)
#      starts runs that sleep 5 s, two in Python and one in Node.js;
#   2. dockerd is stopped with SIGTERM (by its pid) and started again the way
#      scripts/lib/engine.sh does it (sce_ensure_engine);
#   3. each of those runs must answer in bounded time, with a clear non-OK
#      status (UNAVAILABLE / INTERNAL naming the engine) or a verdict - never
#      a hang, never "ok" as if nothing happened;
#   4. the server recovers by itself: both languages run again within
#      RECOVER_S seconds of the engine answering, health says the engine is
#      fine, and the warm pool (whose containers died with the engine) is
#      full again;
#   5. after SIGTERM no container of the instance is left.
#
# Restarting dockerd kills every container on the machine, the stack
# fixture's and other servers' included: ctest runs this test alone
# (RUN_SERIAL) and after the stack fixture is stopped (faults.cmake).  The
# engine is always brought back, even when this script fails.
set -uo pipefail

build=${1:?usage: test_engine_restart.sh BUILD_DIR SOURCE_DIR}
src=${2:?source dir}
sce="$build/client/sce"
server_bin="$build/server/sce-server"
sock=${SCE_DOCKER_SOCKET:-/var/run/docker.sock}
work=$(mktemp -d /tmp/sce-fault-engine.XXXXXX)
inst="fault-engine-$$"
RUN_SLEEP_S=5     # what each in-flight run sleeps
ANSWER_BOUND_S=45 # the server's run timeout (10 s) + docker_timeout (30 s) + 5 s
RECOVER_S=60      # from the engine answering again to both languages running
POOL_S=60         # ... to the warm pool being full again
POOL_SIZE=2       # warm containers per language
# Removals that failed while the engine was away are retried by the next
# leftover sweep (server/reaper.c): a short interval keeps the test short;
# with the default (60 s) the dead containers linger up to a minute.
SWEEP_S=10
pool_target=$((POOL_SIZE * 2))
server_pid=""
failures=0
# shellcheck source=scripts/lib/engine.sh
. "$src/scripts/lib/engine.sh"

log() { echo "[$(date +%T)] $*"; }
pass() { echo "ok   $1"; }
fail() {
    echo "FAIL $1"
    failures=$((failures + 1))
}

engine() { curl -fsS --max-time 10 --unix-socket "$sock" "http://localhost/v1.41$1"; }
# Containers of this instance (all states), one "id state request-id" a line.
containers() {
    engine "/containers/json?all=1&filters=%7B%22label%22%3A%5B%22org.sce.instance%3D$inst%22%5D%7D" |
        python3 -c 'import json,sys
for c in json.load(sys.stdin):
    print(c["Id"][:12], c["State"], c["Labels"].get("org.sce.request-id", "-"), c["Labels"].get("org.sce.language", "-"))'
}
warm_running() { containers | awk '$2 == "running" && $3 == "pool"' | wc -l; }

cleanup() {
    # Whatever happened, leave an engine behind for everyone else.
    if ! sce__engine_ping "$sock"; then
        log "cleanup: the engine does not answer; starting it"
        sce_ensure_engine || true
    fi
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -KILL "$server_pid" 2>/dev/null
    fi
    for id in $(containers 2>/dev/null | awk '{print $1}'); do
        engine "/containers/$id?force=1" -X DELETE >/dev/null 2>&1 || true
    done
    [ "$failures" -eq 0 ] && rm -rf "$work"
}
trap cleanup EXIT

# The running dockerd: ours (engine.sh's pid file) or one started otherwise.
dockerd_pid() {
    local f p
    for f in /run/sce-dockerd.pid /var/run/docker.pid; do
        p=$(cat "$f" 2>/dev/null) || continue
        if [ -n "$p" ] && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = dockerd ]; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

if ! sce__engine_ping "$sock"; then
    echo "FAIL no engine answers on $sock (scripts/test.sh starts one)"
    exit 1
fi
if ! dpid=$(dockerd_pid); then
    echo "FAIL the engine answers, but no dockerd pid is known (/run/sce-dockerd.pid, /var/run/docker.pid):"
    echo "     this test restarts the engine and cannot do it here"
    exit 1
fi

# ---- a server of our own --------------------------------------------------
port=""
for _ in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 20000))
    url="tcp://127.0.0.1:$port"
    setsid "$server_bin" --listen "$url" --instance "$inst" --history-path "$work/history.db" \
        --pool-size "$POOL_SIZE" --sweep-interval "${SWEEP_S}s" >"$work/server.log" 2>&1 </dev/null &
    server_pid=$!
    for _ in $(seq 1 150); do
        out=$("$sce" --server "$url" languages 2>/dev/null) &&
            ! grep -q 'unavailable\|not checked' <<<"$out" && break 2
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.2
    done
    kill -KILL "$server_pid" 2>/dev/null
    server_pid=""
done
if [ -z "$server_pid" ]; then
    echo "FAIL the server did not start:"
    cat "$work/server.log"
    exit 1
fi
export SCE_SERVER=$url
log "server $url (instance $inst, pid $server_pid); dockerd pid $dpid"

printf 'import time\nprint("start", flush=True)\ntime.sleep(%d)\nprint("end")\n' "$RUN_SLEEP_S" >"$work/sleep.py"
printf 'console.log("start"); setTimeout(() => console.log("end"), %d);\n' "$((RUN_SLEEP_S * 1000))" >"$work/sleep.js"
printf 'print(6 * 7)\n' >"$work/ok.py"
printf 'console.log(6 * 7)\n' >"$work/ok.js"

# The pool is full before the fault, so that its refill after it means something.
for _ in $(seq 1 300); do
    [ "$(warm_running)" -ge "$pool_target" ] && break
    sleep 0.1
done
log "warm containers before the fault: $(warm_running) of $pool_target"

# ---- runs in flight, then the engine goes away ----------------------------
declare -A started
for r in py1 py2 js1; do
    f=$work/sleep.py
    [ "$r" = js1 ] && f=$work/sleep.js
    (
        t0=$EPOCHREALTIME
        "$sce" run --json "$f" >"$work/$r.out" 2>"$work/$r.err"
        rc=$?
        echo "$rc $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')" >"$work/$r.rc"
    ) &
    started[$r]=$!
done
# Warm containers start a program in milliseconds, cold ones in well under
# a second: 2 s in, every run is inside its sleep, 3 s from its end.
sleep 2
log "$(containers | awk '$2 == "running"' | wc -l) containers of the instance running; stopping dockerd (pid $dpid) with SIGTERM"
t_stop=$SECONDS
kill -TERM "$dpid"
for _ in $(seq 1 600); do
    kill -0 "$dpid" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$dpid" 2>/dev/null; then
    fail "dockerd (pid $dpid) did not exit within 60 s of SIGTERM"
    exit 1
fi
log "dockerd exited after $((SECONDS - t_stop)) s; starting it again (scripts/lib/engine.sh)"
sce_ensure_engine
engine_back=$SECONDS
log "engine answers again, $((engine_back - t_stop)) s after the stop"

# ---- the runs that were in flight ----------------------------------------
for r in py1 py2 js1; do
    for _ in $(seq 1 $((ANSWER_BOUND_S * 10))); do
        [ -s "$work/$r.rc" ] && break
        sleep 0.1
    done
    if [ ! -s "$work/$r.rc" ]; then
        fail "$r: no answer within $ANSWER_BOUND_S s of its start (a hang)"
        kill "${started[$r]}" 2>/dev/null
        continue
    fi
    read -r rc secs <"$work/$r.rc"
    err=$(head -c 400 "$work/$r.err")
    verdict=$(python3 -c 'import json,sys
try: print(json.load(open(sys.argv[1])).get("status", "?"))
except Exception: print("-")' "$work/$r.out")
    log "$r: exit $rc after ${secs}s; verdict $verdict; stderr: ${err:-(empty)}"
    case $rc in
    69 | 70)
        # UNAVAILABLE (69) / INTERNAL (70): the message must say what happened.
        if grep -qiE 'engine|docker' "$work/$r.err"; then
            pass "$r: answered $( [ "$rc" = 69 ] && echo UNAVAILABLE || echo INTERNAL) naming the engine"
        else
            fail "$r: exit $rc, but the message does not name the engine: $err"
        fi
        ;;
    *)
        # A verdict: acceptable, as long as it does not claim a normal end.
        if grep -q '"end' "$work/$r.out" || [ "$verdict" = OK ] || [ "$verdict" = ok ]; then
            fail "$r: claims a normal end though its container died: $(head -c 300 "$work/$r.out")"
        elif [ "$verdict" = "-" ]; then
            fail "$r: exit $rc with neither a status message nor a verdict: $err"
        else
            pass "$r: answered with verdict $verdict"
        fi
        ;;
    esac
done

# ---- recovery -------------------------------------------------------------
recovered=""
until_s=$((engine_back + RECOVER_S))
while [ "$SECONDS" -le "$until_s" ]; do
    if [ "$("$sce" run "$work/ok.py" 2>"$work/rec.err")" = 42 ] &&
        [ "$("$sce" run "$work/ok.js" 2>>"$work/rec.err")" = 42 ]; then
        recovered=$((SECONDS - engine_back))
        break
    fi
    sleep 0.5
done
if [ -n "$recovered" ]; then
    pass "both languages run again ${recovered} s after the engine came back"
else
    fail "no successful run in both languages within $RECOVER_S s of the engine's return; last error: $(tail -n 2 "$work/rec.err")"
fi
if "$sce" health >"$work/health" 2>&1; then
    pass "health: the server serves and its engine is up"
else
    fail "health still unhappy: $(cat "$work/health")"
fi

# The warm pool lost its containers with the engine; it must be full again.
full=""
until_s=$((engine_back + POOL_S))
while [ "$SECONDS" -le "$until_s" ]; do
    if [ "$(warm_running)" -ge "$pool_target" ]; then
        full=$((SECONDS - engine_back))
        break
    fi
    sleep 0.5
done
if [ -n "$full" ]; then
    pass "warm pool full again ($(warm_running)/$pool_target running) ${full} s after the engine came back"
else
    fail "warm pool not refilled within $POOL_S s: $(warm_running)/$pool_target warm containers running"
    containers | sed 's/^/    | /'
fi
# Containers of the instance that died with the engine must not linger
# beyond the sweeps that follow: the first may run while the engine is
# still settling, and on a loaded machine removing a dozen containers
# takes seconds of its own.
gone=""
dead=""
until_s=$((engine_back + 2 * SWEEP_S + 10))
while [ "$SECONDS" -le "$until_s" ]; do
    dead=$(containers | awk '$2 != "running"')
    if [ -z "$dead" ]; then
        gone=$((SECONDS - engine_back))
        break
    fi
    sleep 0.5
done
if [ -n "$gone" ]; then
    pass "the containers that died with the engine are removed (${gone} s after it came back; sweep every ${SWEEP_S} s)"
else
    fail "dead containers of the instance still there $((SECONDS - engine_back)) s after the restart:"
    printf '%s\n' "$dead" | sed 's/^/    | /'
fi

# ---- shutdown: nothing left -------------------------------------------------
kill -TERM "$server_pid"
for _ in $(seq 1 300); do
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$server_pid" 2>/dev/null; then
    fail "the server did not exit within 30 s of SIGTERM"
else
    wait "$server_pid" 2>/dev/null
    pass "the server exited on SIGTERM"
fi
server_pid=""
left=$(containers)
if [ -z "$left" ]; then
    pass "no container of instance $inst left"
else
    fail "containers of instance $inst left after SIGTERM:"
    echo "$left" | sed 's/^/    | /'
fi

if [ "$failures" -ne 0 ]; then
    echo "---- server log ($work/server.log) ----"
    grep -vE ' debug ' "$work/server.log" | tail -n 80
fi
echo "$failures failure(s)"
[ "$failures" -eq 0 ]
