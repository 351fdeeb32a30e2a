#!/usr/bin/env bash
# tests/integration/test_cli.sh BUILD_DIR - the `sce` command line as a user
# types it, against the real stack (fixture `stack`), plus servers of this
# test's own for the failure paths: a dead engine, a missing image, and a
# server killed mid-run whose successor must remove its leftovers.
set -uo pipefail

build=${1:?usage: test_cli.sh BUILD_DIR}
sce="$build/client/sce"
server_bin="$build/server/sce-server"
# shellcheck disable=SC1090
. "${SCE_TEST_STACK_ENV:?run through ctest (fixture stack)}"
export SCE_SERVER
work=$(mktemp -d /tmp/sce-cli-test.XXXXXX)
sock=${SCE_DOCKER_SOCKET:-/var/run/docker.sock}
pids=()
failures=0
trap 'for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done; rm -rf "$work"' EXIT

pass() { echo "ok   $1"; }
fail() { echo "FAIL $1"; failures=$((failures + 1)); }

# expect NAME WANT_STATUS GOT_STATUS [file-that-must-contain text]...
check() {
    local name=$1 want=$2 got=$3
    shift 3
    if [ "$got" != "$want" ]; then
        fail "$name: exit status $got, expected $want"
        sed 's/^/    | /' "$work/out" "$work/err" 2>/dev/null | head -20
        return
    fi
    while [ $# -ge 2 ]; do
        if ! grep -qF -- "$2" "$work/$1"; then
            fail "$name: $1 lacks '$2'"
            sed 's/^/    | /' "$work/$1" | head -20
            return
        fi
        shift 2
    done
    pass "$name"
}

cd "$work" || exit 1
printf 'print("Hello from a file")\n' >hello.py
printf 'console.log("Hello from " + process.argv.slice(2).join(" "))\n' >hello.js
printf 'import sys\nprint(sys.stdin.read().upper(), end="")\nexit(3)\n' >shout.py
printf 'while True:\n    pass\n' >loop.py
printf 'x = "a" * 10**9\n' >bomb.py
printf 'line one\nline two\n' >input.txt

"$sce" run hello.py >out 2>err
check "sce run hello.py" 0 $? out "Hello from a file"
[ "$(cat out)" = "Hello from a file" ] && [ ! -s err ] && pass "output is only the program's" ||
    fail "stdout/stderr not exactly the program's"

"$sce" run hello.js -- a b >out 2>err
check "language guessed from .js, args after --" 0 $? out "Hello from a b"

"$sce" run --stdin input.txt shout.py >out 2>err
check "stdin file and exit(3)" 3 $? out "LINE ONE" out "LINE TWO"

"$sce" run --timeout 1 loop.py >out 2>err
check "timeout exits 124" 124 $? err "timeout: Execution timed out after 1 second"

"$sce" run bomb.py >out 2>err
check "memory limit exits 137" 137 $? err "memory_limit: Killed: memory limit of 128 MiB exceeded"

printf 'console.log(6 * 7)\n' | "$sce" run -l node - >out 2>err
check "code from stdin with -l" 0 $? out "42"

"$sce" run - </dev/null >out 2>err
check "code from stdin without -l is a usage error" 64 $?

"$sce" run --json hello.py >out 2>err
check "--json" 0 $? out '"verdict"' out '"stdout"'
if node -e 'const r = JSON.parse(require("fs").readFileSync("out", "utf8"));
            if (r.stdout !== "Hello from a file\n" || r.exit_code !== 0) process.exit(1);'; then
    pass "--json is valid JSON with the run's fields"
else
    fail "--json output does not parse or lacks fields"
fi

head -c 5001 /dev/zero | tr '\0' '#' >long.py
"$sce" run long.py >out 2>err
check "over-long code is rejected" 65 $? err "code is 5001 characters; the limit is 5000"

"$sce" languages >out 2>err
check "sce languages" 0 $? out "python" out "node" out "3.11"

"$sce" health >out 2>err
check "sce health" 0 $? out "serving"

"$sce" --server ipc://"$work"/nobody.sock run hello.py >out 2>err
check "no server: exit 69 with a clear message" 69 $? err "cannot reach sce-server"

# ---- servers of our own for the failure paths ----------------------------

start_server() { # name url extra-args...
    local name=$1 url=$2
    shift 2
    "$server_bin" --listen "$url" --instance "$name" "$@" >"$work/$name.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 1 100); do
        # Up when it answers, whatever it says of the engine.
        grep -q "^serving" <<<"$("$sce" --server "$url" health 2>&1)" && return 0
        sleep 0.1
    done
    echo "server $name did not start:"
    cat "$work/$name.log"
    return 1
}

dead=ipc://$work/dead.sock
start_server "cli-dead-$$" "$dead" --docker-socket "$work/no-engine.sock"
"$sce" --server "$dead" run hello.py >out 2>err
check "dead engine: UNAVAILABLE with how to fix it" 69 $? \
    err "cannot reach the Docker engine at $work/no-engine.sock" err "scripts/up.sh"
"$sce" --server "$dead" health >out 2>err
check "dead engine: health says so, server still up" 69 $? out "engine"

noimg=ipc://$work/noimg.sock
start_server "cli-noimg-$$" "$noimg" --python-image sce-missing:nope
"$sce" --server "$noimg" run hello.py >out 2>err
check "missing image: UNAVAILABLE with how to fix it" 69 $? \
    err "image sce-missing:nope is not on the Docker engine: build it with scripts/images.sh"
"$sce" --server "$noimg" run hello.js >out 2>err
check "missing image: the other language still runs" 0 $? out "Hello from"

# A server killed with SIGKILL mid-run leaves its container; the next server
# of the same instance removes it at start-up.
inst="cli-crash-$$"
crash=ipc://$work/crash.sock
start_server "$inst" "$crash"
server_pid=${pids[-1]}
printf 'import time\nprint("sleeping", flush=True)\ntime.sleep(60)\n' >sleep.py
"$sce" --server "$crash" run sleep.py >/dev/null 2>&1 &
pids+=($!)
ids() {
    curl -fsS --unix-socket "$sock" \
        "http://localhost/v1.41/containers/json?all=1&filters=%7B%22label%22%3A%5B%22org.sce.instance%3D$inst%22%5D%7D" |
        grep -o '"Id":"[0-9a-f]*"' | cut -d'"' -f4
}
for _ in $(seq 1 50); do [ -n "$(ids)" ] && break; sleep 0.1; done
sleep 0.5
kill -KILL "$server_pid"
sleep 0.5
# Its containers (the running one, warm ones): the successor's own differ.
old_ids=$(ids)
start_server "$inst" "$crash"
left=""
for _ in $(seq 1 100); do
    left=$(comm -12 <(echo "$old_ids" | sort) <(ids | sort))
    [ -z "$left" ] && break
    sleep 0.1
done
if [ -n "$old_ids" ] && [ -z "$left" ]; then
    pass "leftovers of a SIGKILLed server removed by its successor ($(echo "$old_ids" | wc -l) -> 0)"
else
    fail "leftovers: $(echo "$old_ids" | grep -c .) container(s) before restart, still there: $left"
fi

for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
wait 2>/dev/null
echo "$failures failure(s)"
[ "$failures" -eq 0 ]
