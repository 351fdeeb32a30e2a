#!/usr/bin/env bash
# tests/integration/test_cluster.sh BUILD_DIR - three sce-servers on loopback
# behind one sce-gateway (`--server tcp://A,tcp://B,tcp://C`), all of this
# test's own (instances cluster-PID-a/b/c), against the real engine:
#   balance   60 runs at concurrency 6, python and node mixed, all succeed
#             and each server serves a fair share (the request ids of the
#             answers, found in the servers' logs; /healthz backends[].runs)
#   health    /healthz lists the three backends up; /metrics has sce_
#             series for each backend
#   kill      kill -9 of one server once 6 slow runs (15 s each) have all
#             started: its runs are answered within seconds with a 502/503
#             JSON error naming it and saying the run may or may not have
#             been carried out, the others succeed, nothing starts again
#             elsewhere; it is marked down and gets none of the next 12 runs
#   return    restarted on its port (same instance: it sweeps what its
#             killed predecessor left), it is up again and serves runs
#   once      no run started twice: each request id has one start line in
#             all the servers' logs together
#   cleanup   no container of the three instances is left
# The servers log at debug level, so that a run's request id is in its
# server's log from its start ("warm container ..." / "new container ..."),
# not only from its end (a killed server logs no end).
set -uo pipefail

build=${1:?usage: test_cluster.sh BUILD_DIR}
sce="$build/client/sce"
server_bin="$build/server/sce-server"
gateway_bin="$build/web-gateway/sce-gateway"
sock=${SCE_DOCKER_SOCKET:-/var/run/docker.sock}
work=$(mktemp -d /tmp/sce-cluster-test.XXXXXX)
names=(a b c)
declare -A port pid inst
gw_pid=""
gw=""
failures=0

engine() { curl -fsS --max-time 10 --unix-socket "$sock" "http://localhost/v1.41$1"; }
# Containers of instance $1 (all states), one id a line.
containers() {
    engine "/containers/json?all=1&filters=%7B%22label%22%3A%5B%22org.sce.instance%3D$1%22%5D%7D" |
        grep -o '"Id":"[0-9a-f]*"' | cut -d'"' -f4
}

# Only this test's processes are stopped; then whatever their instances
# left (a failure's leftovers: the last check has already failed on them).
cleanup() {
    local p n id
    for p in $gw_pid "${pid[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in $gw_pid "${pid[@]}"; do
        for _ in $(seq 1 150); do gone "$p" && break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null
    done
    for n in "${names[@]}"; do
        for id in $(containers "${inst[$n]}" 2>/dev/null); do
            engine "/containers/$id?force=1" -X DELETE >/dev/null 2>&1
        done
    done
    rm -rf "$work"
}
trap cleanup EXIT

pass() { echo "ok   $1"; }
fail() { echo "FAIL $1"; failures=$((failures + 1)); }
show_log() { echo "    $1:"; sed 's/^/    | /' "$work/$1.log" | tail -n "${2:-30}"; }
# wait_for SECONDS COMMAND...: until the command succeeds.
wait_for() {
    local t=$1
    shift
    for _ in $(seq 1 $((t * 10))); do "$@" && return 0; sleep 0.1; done
    return 1
}
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="${2:-$(now)}" 'BEGIN { printf "%.1f", b - a }'; } # seconds from $1 to $2 (now)
# Process $1 has ended (a child not yet waited for is a zombie: kill -0
# still finds it).
gone() { ! kill -0 "$1" 2>/dev/null || [ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" = Z ]; }

# ---- servers and gateway ------------------------------------------------

ready() { # URL: Health answers and both languages have been probed
    local out
    out=$("$sce" --server "$1" languages 2>/dev/null) && ! grep -q 'unavailable\|not checked' <<<"$out"
}
# Starts server $1 on its port, its log appended to (a restart keeps the
# first life's lines), and waits until it is ready.
start_server() {
    local n=$1 url
    url="tcp://127.0.0.1:${port[$n]}"
    "$server_bin" --listen "$url" --instance "${inst[$n]}" --history-path "$work/$n.db" \
        --pool-size 1 --timeout 30s --log-level debug >>"$work/$n.log" 2>&1 </dev/null &
    pid[$n]=$!
    alive_and_ready() { ! gone "${pid[$n]}" && ready "$url"; }
    wait_for 60 alive_and_ready
}
url_of() { echo "tcp://127.0.0.1:${port[$1]}"; }

for n in "${names[@]}"; do
    inst[$n]="cluster-$$-$n"
    ok=""
    for _ in 1 2 3; do
        port[$n]=$(free_port)
        if start_server "$n"; then ok=1; break; fi
        kill -KILL "${pid[$n]}" 2>/dev/null
        grep -q "cannot listen" "$work/$n.log" || break
    done
    if [ -z "$ok" ]; then
        fail "server $n did not become ready"
        show_log "$n"
        exit 1
    fi
done
backend_list="$(url_of a),$(url_of b),$(url_of c)"
for _ in 1 2 3; do
    gport=$(free_port)
    "$gateway_bin" --listen "127.0.0.1:$gport" --server "$backend_list" --rate-limit 0 \
        >"$work/gateway.log" 2>&1 </dev/null &
    gw_pid=$!
    answers() { curl -fs --max-time 2 -o /dev/null "http://127.0.0.1:$gport/healthz"; }
    if wait_for 10 answers; then
        gw="http://127.0.0.1:$gport"
        break
    fi
    kill -KILL "$gw_pid" 2>/dev/null
done
if [ -z "$gw" ]; then
    fail "sce-gateway --server $backend_list did not start"
    show_log gateway
    exit 1
fi
echo "     gateway $gw, servers $backend_list"

# ---- HTTP helpers ---------------------------------------------------------

# The body of a run of language $1 printing $2 after $3 seconds.
body_for() {
    case $1 in
    python) printf '{"language":"python","code":"import time\\ntime.sleep(%s)\\nprint(\\"%s\\")\\n"}' "$3" "$2" ;;
    node) printf '{"language":"node","code":"setTimeout(() => console.log(\\"%s\\"), %s)\\n"}' "$2" "$(($3 * 1000))" ;;
    esac
}
# post NAME BODY: POST /run; the answer in NAME.json, the HTTP status in
# NAME.http, the time it came in NAME.end.
post() {
    curl -s -o "$work/$1.json" -w '%{http_code}\n' --max-time 120 \
        -H 'Content-Type: application/json' --data-binary "$2" "$gw/run" >"$work/$1.http" 2>/dev/null
    now >"$work/$1.end"
}
# answer NAME: "http status request_id output error code", \x1f-separated.
answer() {
    python3 - "$work/$1" <<'EOF'
import json, sys
p = sys.argv[1]
try:
    http = open(p + ".http").read().strip() or "000"
except OSError:
    http = "000"
try:
    d = json.load(open(p + ".json"))
except Exception:
    d = {}
if not isinstance(d, dict):
    d = {}
f = [http] + [str(d.get(k, "")).strip().replace("\n", " ") for k in ("status", "request_id", "output", "error", "code")]
print("\x1f".join(f))
EOF
}
# The backends of /healthz, one a line: url state in_flight runs.
backends() {
    curl -s --max-time 5 "$gw/healthz" | python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
except Exception:
    sys.exit(0)
for b in d.get("backends", []):
    print(b.get("url"), b.get("state"), b.get("in_flight", 0), b.get("runs", 0))'
}
backend() { backends | awk -v u="$1" '$1 == u'; } # URL: its line
state_of() { backend "$1" | awk '{print $2}'; }
runs_of() { backend "$1" | awk '{print $4}'; }
in_flight_total() { backends | awk '{s += $3} END {print s + 0}'; }

# The request ids whose run started in log $1 from line $2 on (probes,
# whose id is "probe", left out), one a line, in order.
started() {
    tail -n "+${2:-1}" "$work/$1.log" | grep -oE '\[[^] ]+\] (warm|new) container ' |
        cut -d'[' -f2 | cut -d']' -f1 | grep -vx 'probe\|-'
}
lines() { wc -l <"$work/$1.log"; }
# The server whose log holds the start of run $1 ("" when none, "a b"
# when two).
server_of() {
    local n found=""
    for n in "${names[@]}"; do
        grep -qF "[$1] " "$work/$n.log" && found="${found:+$found }$n"
    done
    echo "$found"
}
name_of_url() { # URL -> a, b or c
    local n
    for n in "${names[@]}"; do [ "$(url_of "$n")" = "$1" ] && echo "$n"; done
}

# posts PREFIX COUNT CONCURRENCY SECONDS: COUNT runs (python and node in
# turn, run i printing PREFIX-PID-i), at most CONCURRENCY at once.  A
# subshell: its jobs are the runs alone, not the servers.
posts() (
    local prefix=$1 count=$2 conc=$3 secs=$4 i lang
    for i in $(seq 1 "$count"); do
        while [ "$(jobs -rp | wc -l)" -ge "$conc" ]; do wait -n; done
        lang=python
        [ $((i % 2)) -eq 0 ] && lang=node
        post "$prefix-$i" "$(body_for "$lang" "$prefix-$$-$i" "$secs")" &
    done
    wait
)
# check_runs PREFIX COUNT: every run answered 200 ok with its own output;
# counts per server (from the logs) into served[a|b|c]; bad lines into
# $bad.  A run found in no log or in two is bad.
declare -A served
check_runs() {
    local prefix=$1 count=$2 i http status rid output error code where
    served=([a]=0 [b]=0 [c]=0)
    bad=""
    for i in $(seq 1 "$count"); do
        IFS=$'\x1f' read -r http status rid output error code < <(answer "$prefix-$i")
        where=$(server_of "$rid")
        if [ "$http" != 200 ] || [ "$status" != ok ] || [ "$output" != "$prefix-$$-$i" ] ||
            [ -z "$rid" ] || [ "$(wc -w <<<"$where")" -ne 1 ]; then
            bad+="      $prefix-$i: HTTP $http status '$status' output '$output' error '$error' request_id '$rid' in logs of '$where'"$'\n'
            continue
        fi
        served[$where]=$((served[$where] + 1))
    done
}

# ---- health: three backends up ------------------------------------------

three_up() { [ "$(backends | awk '$2 == "up"' | wc -l)" -eq 3 ]; }
if wait_for 10 three_up; then
    pass "health: /healthz lists 3 backends up"
else
    fail "health: /healthz backends: $(backends | tr '\n' ';') (whole answer: $(curl -s "$gw/healthz"))"
fi
hz_code=$(curl -s -o /dev/null -w '%{http_code}' "$gw/healthz")
[ "$hz_code" = 200 ] || fail "health: /healthz answered $hz_code with three servers up"

# ---- balance: 60 runs at concurrency 6 ----------------------------------

declare -A runs_before
for n in "${names[@]}"; do runs_before[$n]=$(runs_of "$(url_of "$n")"); done
t0=$(now)
posts bal 60 6 0
t1=$(now)
check_runs bal 60
if [ -z "$bad" ]; then
    pass "balance: 60 runs at concurrency 6, python and node, all ok ($(since "$t0" "$t1") s)"
else
    fail "balance: runs that failed or were not found in exactly one server's log:"
    printf '%s' "$bad" | head -n 20
fi
share="a ${served[a]}, b ${served[b]}, c ${served[c]}"
if [ "${served[a]}" -ge 10 ] && [ "${served[b]}" -ge 10 ] && [ "${served[c]}" -ge 10 ]; then
    pass "balance: each server served a fair share of the 60 (logs: $share)"
else
    fail "balance: unfair shares of the 60 (logs: $share)"
fi
# The gateway's own count agrees with the logs.
hz_share=""
hz_ok=1
for n in "${names[@]}"; do
    r=$(runs_of "$(url_of "$n")")
    d=$(( ${r:-0} - ${runs_before[$n]:-0} ))
    hz_share+="$n $d "
    [ "$d" -eq "${served[$n]}" ] || hz_ok=0
done
if [ "$hz_ok" -eq 1 ]; then
    pass "balance: /healthz backends[].runs count the same ($hz_share)"
else
    fail "balance: /healthz backends[].runs grew by $hz_share; the logs say $share"
fi

# ---- metrics: sce_ series per backend -------------------------------------

m_code=$(curl -s -o "$work/metrics.txt" -w '%{http_code}' "$gw/metrics")
if [ "$m_code" = 200 ]; then
    m_ok=1
    for n in "${names[@]}"; do
        grep -q "^sce_[a-z_]*{[^}]*backend=\"$(url_of "$n")\"" "$work/metrics.txt" || m_ok=0
    done
    if [ "$m_ok" -eq 1 ]; then
        pass "metrics: /metrics has sce_ series for each of the 3 backends"
    else
        fail "metrics: a backend has no sce_ series with backend=\"URL\"; /metrics:"
        grep -F 'backend=' "$work/metrics.txt" | head -n 20 | sed 's/^/    | /'
    fi
else
    fail "metrics: GET /metrics answered $m_code"
fi

# ---- kill -9 of one server with slow runs in flight ----------------------

# The request ids whose run ended in log $1 from line $2 on.
ended() {
    tail -n "+${2:-1}" "$work/$1.log" | grep -oE '\[[^] ]+\] [a-z]+ run [0-9a-f]+ \(' |
        cut -d'[' -f2 | cut -d']' -f1 | grep -vx 'probe\|-'
}
# Runs started and not ended in log $1 from line $2 on, counted.
running_in() { comm -23 <(started "$1" "$2" | sort) <(ended "$1" "$2" | sort) | grep -c .; }
started_since_from() { for n in "${names[@]}"; do started "$n" "${from[$n]}"; done | grep -c .; }

declare -A from
for n in "${names[@]}"; do from[$n]=$(($(lines "$n") + 1)); done
slow_pids=()
for i in 1 2 3 4 5 6; do
    lang=python
    [ $((i % 2)) -eq 0 ] && lang=node
    post "slow-$i" "$(body_for "$lang" "slow-$$-$i" 15)" &
    slow_pids+=($!)
done
six_in_flight() { [ "$(in_flight_total)" -eq 6 ]; }
if wait_for 10 six_in_flight; then
    pass "kill: /healthz counts the 6 slow runs in flight ($(backends | awk '{printf "%s %s; ", $1, $3}'))"
else
    fail "kill: /healthz never showed the 6 runs in flight ($(backends | tr '\n' ';'))"
fi
# Killed once every run has started (its server's log says so; each sleeps
# 15 s, within the servers' 30 s limit, so that a loaded machine's slow
# greps cannot outlast them), or 3 s after the first started (a loaded engine may take longer to
# start the last than the first takes to end): the victim is the server
# with the most runs under way.
t_first=""
for _ in $(seq 1 300); do
    k=$(started_since_from)
    [ "$k" -ge 6 ] && break
    [ "$k" -ge 1 ] && [ -z "$t_first" ] && t_first=$(now)
    [ -n "$t_first" ] && awk -v a="$(since "$t_first")" 'BEGIN { exit !(a >= 3) }' && break
    sleep 0.1
done
[ "$(started_since_from)" -ge 1 ] || fail "kill: none of the 6 slow runs started within 30 s"
victim=""
most=0
for n in "${names[@]}"; do
    r=$(running_in "$n" "${from[$n]}")
    [ "$r" -gt "$most" ] && { most=$r; victim=$n; }
done
if [ -z "$victim" ]; then
    # The logs show none under way (a loaded machine slows this loop's
    # greps more than the runs): the gateway's own count of calls not yet
    # answered decides.
    read -r victim_url most < <(backends | sort -k3,3nr | awk '$3 > 0 {print $1, $3; exit}')
    for n in "${names[@]}"; do [ "$(url_of "$n")" = "${victim_url:-}" ] && victim=$n; done
fi
if [ -z "$victim" ]; then
    fail "kill: no run under way to kill: they ended before the last one started"
    exit 1
fi
victim_url=$(url_of "$victim")
t_kill=$(now)
kill -KILL "${pid[$victim]}"
wait "${pid[$victim]}" 2>/dev/null
echo "     killed server $victim ($victim_url) with $most run(s) under way"

victim_down() { [ "$(state_of "$victim_url")" = down ]; }
if wait_for 5 victim_down; then
    pass "kill: server $victim marked down in /healthz $(since "$t_kill") s after the kill"
else
    fail "kill: server $victim not down 5 s after the kill: $(backend "$victim_url")"
fi
for p in "${slow_pids[@]}"; do wait "$p"; done

survivors=()
for n in "${names[@]}"; do [ "$n" != "$victim" ] && survivors+=("$n"); done
ok_runs=0
lost_runs=0
ok_rids=()
for i in 1 2 3 4 5 6; do
    IFS=$'\x1f' read -r http status rid output error code < <(answer "slow-$i")
    after=$(since "$t_kill" "$(cat "$work/slow-$i.end")")
    where=$(server_of "$rid")
    if [ "$http" = 200 ] && [ "$status" = ok ] && [ "$output" = "slow-$$-$i" ]; then
        ok_runs=$((ok_runs + 1))
        ok_rids+=("$rid")
        # On a survivor, or on the victim before the kill (it had ended).
        [ "$(wc -w <<<"$where")" -eq 1 ] ||
            fail "kill: slow-$i succeeded, but its request id '$rid' is in the logs of '$where'"
    elif { [ "$http" = 502 ] || [ "$http" = 503 ]; } && [ "$status" = error ] &&
        grep -qi 'may or may not' <<<"$error" && grep -qF "$victim_url" <<<"$error" && [ -n "$code" ]; then
        lost_runs=$((lost_runs + 1))
        if awk -v a="$after" 'BEGIN { exit !(a > 5) }'; then
            fail "kill: slow-$i answered $http only $after s after the kill: $error"
        fi
        if [ -n "$rid" ] && [ -n "$where" ] && [ "$where" != "$victim" ]; then
            fail "kill: slow-$i was lost, but its request id '$rid' is in the logs of '$where'"
        fi
        echo "     slow-$i: HTTP $http $after s after the kill: {\"error\":\"$error\",\"status\":\"$status\",\"code\":\"$code\"}"
    else
        fail "kill: slow-$i: HTTP $http status '$status' output '$output' error '$error' code '$code' ($after s after the kill)"
    fi
done
# The victim's runs that had started and not answered ok are lost, and
# at least those (a run still waiting for its container left no line).
victim_lost=$(comm -23 <(started "$victim" "${from[$victim]}" | sort) <(printf '%s\n' "${ok_rids[@]}" | sort) | grep -c .)
if [ "$lost_runs" -ge 1 ] && [ "$lost_runs" -ge "$victim_lost" ] && [ $((ok_runs + lost_runs)) -eq 6 ]; then
    pass "kill: $lost_runs run(s) lost with server $victim, answered 502/503 'may or may not have been carried out' naming it within 5 s; the other $ok_runs ok"
else
    fail "kill: $lost_runs lost (the victim's log shows $victim_lost started and not answered), $ok_runs ok, of 6"
fi
# On the survivors only the runs that succeeded started (nothing resent).
extra=""
for n in "${survivors[@]}"; do
    for rid in $(started "$n" "${from[$n]}"); do
        case " ${ok_rids[*]} " in *" $rid "*) ;; *) extra+="$n:$rid " ;; esac
    done
done
if [ -z "$extra" ]; then
    pass "kill: the surviving servers started only the runs that succeeded"
else
    fail "kill: runs started on the survivors that no answer accounts for: $extra"
fi
hz_code=$(curl -s -o /dev/null -w '%{http_code}' "$gw/healthz")
[ "$hz_code" = 200 ] || fail "kill: /healthz answered $hz_code with two of three servers up"

victim_runs=$(runs_of "$victim_url")
posts after 12 6 0
check_runs after 12
if [ -z "$bad" ] && [ "${served[$victim]}" -eq 0 ] && [ "$(runs_of "$victim_url")" = "$victim_runs" ]; then
    pass "kill: 12 further runs all ok on the other two ($(for n in "${survivors[@]}"; do printf '%s %s ' "$n" "${served[$n]}"; done)), none sent to $victim"
else
    fail "kill: 12 further runs with $victim down (served: a ${served[a]}, b ${served[b]}, c ${served[c]}; /healthz runs of $victim $victim_runs -> $(runs_of "$victim_url")):"
    printf '%s' "$bad" | head -n 12
fi

# ---- return: restarted on its port ---------------------------------------

from[$victim]=$(($(lines "$victim") + 1))
if start_server "$victim"; then
    t_ready=$(now)
    victim_up() { [ "$(state_of "$victim_url")" = up ]; }
    if wait_for 5 victim_up; then
        pass "return: server $victim restarted on its port is up in /healthz $(since "$t_ready") s after it answers"
    else
        fail "return: server $victim answers but is not up in /healthz 5 s later: $(backend "$victim_url")"
    fi
    posts back 12 6 0
    check_runs back 12
    if [ -z "$bad" ] && [ "${served[$victim]}" -ge 2 ]; then
        pass "return: 12 runs all ok, server $victim served ${served[$victim]} (a ${served[a]}, b ${served[b]}, c ${served[c]})"
    else
        fail "return: 12 runs after the restart (a ${served[a]}, b ${served[b]}, c ${served[c]}):"
        printf '%s' "$bad" | head -n 12
    fi
    # The restarted server never started a run of the lost ones.
    resent=""
    for rid in $(started "$victim" "${from[$victim]}"); do
        grep -qF "[$rid] " <(head -n "$((from[$victim] - 1))" "$work/$victim.log") && resent+="$rid "
    done
    if [ -z "$resent" ]; then
        pass "return: the restarted server ran none of the runs lost with its predecessor"
    else
        fail "return: the restarted server started runs its predecessor had: $resent"
    fi
else
    fail "return: server $victim did not start again on port ${port[$victim]}"
    show_log "$victim" 20
fi

# ---- once: each run started exactly once ----------------------------------

twice=$(for n in "${names[@]}"; do started "$n" 1; done | sort | uniq -d | tr '\n' ' ')
total=$(for n in "${names[@]}"; do started "$n" 1; done | wc -l)
if [ -z "$twice" ]; then
    pass "once: each of the $total runs the servers started has one start in all three logs"
else
    fail "once: request ids started more than once: $twice"
fi

# ---- cleanup: stop all; no container left ----------------------------------

kill -TERM "$gw_pid" 2>/dev/null
for n in "${names[@]}"; do kill -TERM "${pid[$n]}" 2>/dev/null; done
for p in "$gw_pid" "${pid[@]}"; do
    wait_for 30 gone "$p" || fail "cleanup: pid $p did not stop within 30 s"
done
none_left() {
    local n
    for n in "${names[@]}"; do [ -z "$(containers "${inst[$n]}")" ] || return 1; done
}
if wait_for 20 none_left; then
    pass "cleanup: no container of ${inst[a]}, ${inst[b]}, ${inst[c]} is left"
else
    fail "cleanup: left behind: $(for n in "${names[@]}"; do echo "${inst[$n]}: $(containers "${inst[$n]}" | tr '\n' ' ')"; done)"
fi

if [ "$failures" -ne 0 ]; then
    show_log gateway 40
    for n in "${names[@]}"; do show_log "$n" 15; done
fi
echo "$failures failure(s)"
[ "$failures" -eq 0 ]
