#!/usr/bin/env bash
# tests/integration/gateway/test_gateway_stream.sh - streamed runs over HTTP
# (POST /run with Accept: text/event-stream, POST /runs/{id}/stdin and
# /cancel) with curl -N, against the stack's server and a gateway of its own
# (no rate limit, its own log and pid for the memory check):
#
#   a. five lines 0.5 s apart arrive as they are printed, the first within
#      about 1.5 s of the request, and the result is a plain run's;
#   b. input() (Python) and readline (Node.js) answered through
#      POST /runs/{id}/stdin;
#   c. a client that hangs up mid-run: its run is cancelled and its
#      container gone within 5 s (the server's log and history say so);
#   d. 404 for an unknown run id, 409 for stdin after close or the end;
#   e. a program printing 10 MB read at 100 bytes a second: the gateway's
#      RSS stays under 64 MiB and the run ends output_limit.
#
# usage: test_gateway_stream.sh SCE_GATEWAY_BINARY   (SCE_TEST_STACK_ENV set)
set -euo pipefail

gateway_bin=${1:?usage: test_gateway_stream.sh SCE_GATEWAY_BINARY}
# shellcheck disable=SC1090
. "${SCE_TEST_STACK_ENV:?the env file of the stack fixture}"
sock=${SCE_DOCKER_SOCKET:-/var/run/docker.sock}
work=$(mktemp -d /tmp/sce-stream.XXXXXX)
gw_pid=""
pids=()

cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    if [ -n "$gw_pid" ]; then
        kill -TERM "$gw_pid" 2>/dev/null || true
        wait "$gw_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    [ -f "$work/gateway.log" ] && tail -n 30 "$work/gateway.log" >&2
    exit 1
}
now_ms() { date +%s%3N; }

# ------------------------------------------------------------ the gateway
for attempt in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 20000))
    "$gateway_bin" --listen "127.0.0.1:$port" --server "$SCE_SERVER" --rate-limit 0 \
        >"$work/gateway.log" 2>&1 </dev/null &
    gw_pid=$!
    for _ in $(seq 1 50); do
        if curl -fsS --max-time 2 "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then
            break 2
        fi
        kill -0 "$gw_pid" 2>/dev/null || break
        sleep 0.1
    done
    kill "$gw_pid" 2>/dev/null || true
    wait "$gw_pid" 2>/dev/null || true
    gw_pid=""
done
[ -n "$gw_pid" ] || fail "the gateway did not start"
gw="http://127.0.0.1:$port"

# The JSON body of a run of `code` in `language`.
body() { python3 -c 'import json,sys; print(json.dumps({"language": sys.argv[1], "code": sys.argv[2]}))' "$1" "$2"; }

# Streams a run into FILE, each line prefixed with its arrival time (ms).
# Extra curl arguments follow the file.
# The body is made first, so that the request leaves at once.
stream_to() {
    local file=$1 language=$2 code=$3
    shift 3
    body "$language" "$code" >"$file.body"
    curl -sS -N "$@" -H 'Accept: text/event-stream' -H 'Content-Type: application/json' \
        --data-binary "@$file.body" "$gw/run" |
        while IFS= read -r line; do printf '%s %s\n' "$(now_ms)" "$line"; done >"$file"
}

# The data of the first event named $2 in stream file $1 (JSON), or "".
event_data() {
    awk -v ev="event: $2" '$2" "$3 == ev { want = 1; next }
        want && $2 == "data:" { sub(/^[0-9]+ data: /, ""); print; exit }' "$1"
}
wait_for() { # file pattern timeout_s
    local until=$(($(now_ms) + $3 * 1000))
    while ! grep -q -- "$2" "$1" 2>/dev/null; do
        [ "$(now_ms)" -lt "$until" ] || return 1
        sleep 0.05
    done
}
json_field() { python3 -c 'import json,sys; v=json.loads(sys.argv[1]); print(v.get(sys.argv[2], ""))' "$1" "$2"; }
# 0 when the history lists a run of verdict $1 whose code holds $2, within 10 s.
history_has() {
    local page
    for _ in $(seq 1 50); do
        page=$(curl -fsS "$gw/history?verdict=$1&limit=20") || true
        grep -q -- "$2" <<<"$page" && return 0
        sleep 0.2
    done
    return 1
}
status_of() { # method url [curl args] -> HTTP status
    local m=$1 u=$2
    shift 2
    curl -sS -o /dev/null -w '%{http_code}' -X "$m" "$@" "$u"
}

# ------------------------------------------------------------ a. lines as they come
echo "== a. five lines 0.5 s apart"
code=$'import time\nfor i in range(5):\n    print("line", i, flush=True)\n    time.sleep(0.5)\n'
body python "$code" >"$work/a.body"
t0=$(now_ms)
curl -sS -N -H 'Accept: text/event-stream' -H 'Content-Type: application/json' \
    --data-binary "@$work/a.body" "$gw/run" |
    while IFS= read -r line; do printf '%s %s\n' "$(now_ms)" "$line"; done >"$work/a"
t1=$(now_ms)
grep -q '^[0-9]* event: start' "$work/a" || fail "no start event: $(cat "$work/a")"
first=$(awk '$2" "$3 == "event: stdout" { print $1; exit }' "$work/a")
last=$(awk '$2" "$3 == "event: stdout" { t = $1 } END { print t }' "$work/a")
[ -n "$first" ] || fail "no stdout event: $(cat "$work/a")"
echo "first stdout after $((first - t0)) ms, last after $((last - t0)) ms, whole run $((t1 - t0)) ms"
[ $((first - t0)) -le 1500 ] || fail "the first line came $((first - t0)) ms after the request"
[ $((last - first)) -ge 1500 ] || fail "the lines came all at once: $((last - first)) ms apart"
[ $((t1 - t0)) -ge 2500 ] || fail "the run took $((t1 - t0)) ms, less than its 2.5 s"
result=$(event_data "$work/a" result)
[ -n "$result" ] || fail "no result event"
[ "$(json_field "$result" status)" = ok ] || fail "status: $result"
[ "$(json_field "$result" stdout)" = "$(printf 'line %s\n' 0 1 2 3 4)" ] || fail "stdout: $result"
start=$(event_data "$work/a" start)
run_a=$(json_field "$start" id)
[[ "$run_a" =~ ^[0-9a-f]{32}$ ]] || fail "start event without a run id: $start"

# ------------------------------------------------------------ b. stdin
for lang in python node; do
    echo "== b. input() round trip, $lang"
    if [ $lang = python ]; then
        code=$'name = input("name? ")\nprint("hello", name)\n'
    else
        code=$'const rl = require("readline").createInterface({input: process.stdin, output: process.stdout});\nrl.question("name? ", (n) => { console.log("hello " + n); rl.close(); });\n'
    fi
    stream_to "$work/b-$lang" $lang "$code" &
    pids+=($!)
    wait_for "$work/b-$lang" '{"id":"' 15 || fail "$lang: no start event"
    id=$(json_field "$(event_data "$work/b-$lang" start)" id)
    wait_for "$work/b-$lang" 'name? ' 15 || fail "$lang: no prompt: $(cat "$work/b-$lang")"
    code_s=$(printf 'Ada\n' | status_of POST "$gw/runs/$id/stdin" --data-binary @- \
        -H 'Content-Type: text/plain')
    [ "$code_s" = 204 ] || fail "$lang: stdin answered $code_s"
    wait_for "$work/b-$lang" '"exit_code":' 15 || fail "$lang: no result: $(cat "$work/b-$lang")"
    result=$(event_data "$work/b-$lang" result)
    [[ "$(json_field "$result" stdout)" == *"hello Ada"* ]] || fail "$lang: $result"
    # d. 409: the run has ended.
    code_s=$(status_of POST "$gw/runs/$id/stdin" --data-binary 'late')
    [ "$code_s" = 409 ] || fail "$lang: stdin after the end answered $code_s"
done

# ------------------------------------------------------------ c. client gone
echo "== c. a client that hangs up mid-run"
marker="gone-$RANDOM$RANDOM"
code=$'import re, time\nprint(re.search(r"/containers/([0-9a-f]{64})/", open("/proc/self/mountinfo").read()).group(1), flush=True)\ntime.sleep(30)  # '"$marker"$'\n'
stream_to "$work/c" python "$code" &
curl_pid=$!
pids+=($curl_pid)
wait_for "$work/c" '{"data":"' 20 || fail "no first line: $(cat "$work/c")"
container=$(json_field "$(event_data "$work/c" stdout)" data | tr -d '\n')
id_c=$(json_field "$(event_data "$work/c" start)" id)
[[ "$container" =~ ^[0-9a-f]{64}$ ]] || fail "no container id: $container"
# Hang up: curl and the loop reading it.
pkill -P "$curl_pid" curl 2>/dev/null || true
kill "$curl_pid" 2>/dev/null || true
t0=$(now_ms)
while curl -fsS --max-time 5 --unix-socket "$sock" \
    "http://localhost/v1.41/containers/$container/json" >/dev/null 2>&1; do
    [ $(($(now_ms) - t0)) -lt 5000 ] || fail "container $container still there 5 s after the hang-up"
    sleep 0.2
done
echo "container gone $(($(now_ms) - t0)) ms after the hang-up"
grep -q "followed run $id_c: cancel" "$SCE_TEST_DIR/server.log" ||
    fail "the server's log does not show run $id_c cancelled"
history_has cancelled "$marker" || fail "history has no cancelled run of $marker"

# ------------------------------------------------------------ d. 404, 409
echo "== d. unknown run, stdin after close"
[ "$(status_of POST "$gw/runs/0123456789abcdef0123456789abcdef/stdin" --data-binary x)" = 404 ] ||
    fail "stdin of an unknown run is not 404"
[ "$(status_of POST "$gw/runs/0123456789abcdef0123456789abcdef/cancel")" = 404 ] ||
    fail "cancel of an unknown run is not 404"
[ "$(status_of POST "$gw/runs/nothex/stdin" --data-binary x)" = 404 ] || fail "a bad id is not 404"
stream_to "$work/d" python $'import sys, time\ndata = sys.stdin.read()\ntime.sleep(1)\nprint(len(data))\n' &
pids+=($!)
wait_for "$work/d" '{"id":"' 15 || fail "no start event"
id=$(json_field "$(event_data "$work/d" start)" id)
[ "$(status_of POST "$gw/runs/$id/stdin?close=1" --data-binary abc)" = 204 ] || fail "stdin+close"
[ "$(status_of POST "$gw/runs/$id/stdin" --data-binary more)" = 409 ] ||
    fail "stdin after close is not 409"
wait_for "$work/d" '"exit_code":' 15 || fail "no result after close"
[ "$(json_field "$(event_data "$work/d" result)" stdout)" = 3 ] || fail "stdin: $(event_data "$work/d" result)"
[ "$(status_of POST "$gw/runs/$id/cancel")" = 204 ] || fail "cancel after the end is not 204"

# ------------------------------------------------------------ e. a slow reader
echo "== e. 10 MB read at 100 bytes a second"
marker="flood-$RANDOM$RANDOM"
stream_to "$work/e" python $'import sys\nsys.stdout.write("x" * 10_000_000)  # '"$marker"$'\n' \
    --limit-rate 100 &
curl_pid=$!
pids+=($curl_pid)
max_kb=0
for _ in $(seq 1 40); do
    kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$gw_pid/status")
    [ "$kb" -gt "$max_kb" ] && max_kb=$kb
    sleep 0.1
done
echo "gateway RSS at most $max_kb KiB while reading slowly"
[ "$max_kb" -lt $((64 * 1024)) ] || fail "the gateway's RSS reached $max_kb KiB"
history_has output_limit "$marker" || fail "the flood did not end output_limit"
pkill -P "$curl_pid" curl 2>/dev/null || true
kill "$curl_pid" 2>/dev/null || true

# The metrics saw the streams.
metrics=$(curl -fsS "$gw/metrics")
grep -q '^sce_live_runs ' <<<"$metrics" || fail "no sce_live_runs in /metrics"
echo "ok"
