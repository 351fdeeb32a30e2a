#!/usr/bin/env bash
# tests/integration/test_history_pg.sh BUILD_DIR [TEST_HISTORY_PG] - one
# history in PostgreSQL for three sce-servers, on the real engine.
#   store       test_history_pg against the database (two stores sharing it)
#   one order   a run on each server shows in one page, in time order, from
#               any server (and through one gateway before all three)
#   kill -9     a server killed right after its runs were answered lost none
#   outage      PostgreSQL stopped for 10 s during runs: every run answers
#               ok, and their entries are there once it is back
#   secrets     the database's password is in no server's log
# A throwaway PostgreSQL (pg.sh) in a temporary directory; everything
# started is stopped at the end, and no container of the test's instances
# is left.  PostgreSQL that cannot start fails the test.
set -uo pipefail

build=${1:?usage: test_history_pg.sh BUILD_DIR [TEST_HISTORY_PG]}
store_test=${2:-$build/tests/test_history_pg}
here=$(cd "$(dirname "$0")" && pwd)
sce="$build/client/sce"
server_bin="$build/server/sce-server"
gateway_bin="$build/web-gateway/sce-gateway"
sock=${SCE_DOCKER_SOCKET:-/var/run/docker.sock}
work=$(mktemp -d /tmp/sce-history-pg.XXXXXX)
pgdir=$(mktemp -d /tmp/sce-history-pg-db.XXXXXX) # apart: its owner must reach it
declare -A pid port
gw_pid=""
failures=0
names=(a b c)

cleanup() {
    for n in "${names[@]}"; do
        [ -n "${pid[$n]:-}" ] && kill -TERM "${pid[$n]}" 2>/dev/null
    done
    [ -n "$gw_pid" ] && kill -TERM "$gw_pid" 2>/dev/null
    for n in "${names[@]}"; do
        [ -n "${pid[$n]:-}" ] && wait "${pid[$n]}" 2>/dev/null
    done
    "$here/pg.sh" stop "$pgdir" >/dev/null 2>&1
    rm -rf "$work" "$pgdir"
}
trap cleanup EXIT

pass() { echo "ok   $1"; }
fail() { echo "FAIL $1"; failures=$((failures + 1)); }
show_log() { sed 's/^/    | /' "$work/$1.log" | tail -n 30; }
wait_for() {
    local t=$1
    shift
    for _ in $(seq 1 $((t * 10))); do "$@" && return 0; sleep 0.1; done
    return 1
}
# Containers (any state) of instance $1, one id a line.
containers() {
    curl -fsS --unix-socket "$sock" \
        "http://localhost/v1.41/containers/json?all=1&filters=%7B%22label%22%3A%5B%22org.sce.instance%3D$1%22%5D%7D" |
        grep -o '"Id":"[0-9a-f]*"' | cut -d'"' -f4
}

url=$("$here/pg.sh" start "$pgdir") || {
    echo "FAIL PostgreSQL could not be started (tests/integration/pg.sh)"
    exit 1
}
password=$(cat "$pgdir/password")
echo "PostgreSQL: ${url/$password/***}"

# ---- store ---------------------------------------------------------------
if SCE_TEST_PG_URL="$url" "$store_test" >"$work/store.log" 2>&1; then
    pass "store: two stores share one history (test_history_pg)"
else
    fail "store: test_history_pg against the database"
    sed 's/^/    | /' "$work/store.log" | tail -n 30
fi
# The servers start from an empty history.
runuser -u postgres -- psql -q -h "$pgdir" -p "$(cat "$pgdir/port")" -U postgres -d sce \
    -c "TRUNCATE runs" >/dev/null 2>&1 || psql -q "$url" -c "TRUNCATE runs" >/dev/null 2>&1

start_server() { # name
    local n=$1
    port[$n]=$((20000 + RANDOM % 20000))
    "$server_bin" --listen "tcp://127.0.0.1:${port[$n]}" --instance "hpg-$n-$$" \
        --pool-size 1 --history-url "$url" >>"$work/$n.log" 2>&1 &
    pid[$n]=$!
    wait_for 15 grep -q "listening" "$work/$n.log"
}
srv() { echo "tcp://127.0.0.1:${port[$1]}"; }
# run NAME TOKEN: a run on server NAME printing TOKEN; 0 when it answered so.
run_on() {
    printf 'print("%s")\n' "$2" >"$work/$2.py"
    [ "$("$sce" --server "$(srv "$1")" run "$work/$2.py" 2>&1)" = "$2" ]
}
# The codes of the newest page (100 runs), as "time_ms id code" lines,
# newest first, asked of server NAME.
page() {
    "$sce" --server "$(srv "$1")" history --json -n 100 |
        python3 -c 'import json,sys
for e in json.load(sys.stdin)["entries"]:
    print(e["time_ms"], e["id"], e["code"].strip())'
}
# has NAME TOKEN...: every token is in the history, asked of NAME.
has_all() {
    local n=$1 p
    shift
    p=$(page "$n") || return 1
    for t in "$@"; do grep -q "print(\"$t\")" <<<"$p" || return 1; done
}

for n in "${names[@]}"; do
    start_server "$n" || { fail "server $n did not start"; show_log "$n"; exit 1; }
done
# The language probes take the first containers: wait until all answer.
for n in "${names[@]}"; do
    wait_for 60 run_on "$n" "warm-$n" || fail "server $n does not run code"
done

# ---- one order -----------------------------------------------------------
tokens=()
for n in "${names[@]}"; do
    t="order-$n-$$"
    tokens+=("$t")
    run_on "$n" "$t" || fail "one order: the run on $n did not answer"
done
for n in "${names[@]}"; do
    p=$(page "$n")
    order=$(grep -o 'order-[abc]' <<<"$p" | tr '\n' ' ')
    sorted=$(awk '{print $1}' <<<"$p" | sort -rn -c 2>&1 && echo yes)
    if [ "$order" = "order-c order-b order-a " ] && [ "$sorted" = "yes" ]; then
        pass "one order: server $n lists the runs of a, b and c newest first, times in order"
    else
        fail "one order: server $n lists '$order' (times in order: $sorted)"
        sed 's/^/    | /' <<<"$p" | head -n 12
    fi
done
# One run by id, asked of a server that did not run it: a's first run from c.
ids_same=$(for n in "${names[@]}"; do page "$n" | grep "order-a" | awk '{print $2}'; done | sort -u | wc -l)
[ "$ids_same" -eq 1 ] && pass "one order: a run has the same id seen from every server" ||
    fail "one order: a's run has $ids_same different ids"
if [ -x "$gateway_bin" ]; then
    gport=$((20000 + RANDOM % 20000))
    "$gateway_bin" --listen "127.0.0.1:$gport" --server "$(srv a),$(srv b),$(srv c)" \
        >"$work/gateway.log" 2>&1 &
    gw_pid=$!
    if wait_for 15 curl -fsS "http://127.0.0.1:$gport/healthz" -o /dev/null; then
        g=$(curl -fsS "http://127.0.0.1:$gport/history?limit=100" |
            python3 -c 'import json,sys; print(" ".join(e["code"].strip() for e in json.load(sys.stdin)["entries"]))')
        if [ "$(grep -o 'order-[abc]' <<<"$g" | tr '\n' ' ')" = "order-c order-b order-a " ]; then
            pass "one order: GET /history through one gateway shows the three servers' runs in order"
        else
            fail "one order: through the gateway: $g"
        fi
    else
        fail "one order: the gateway did not answer"
        show_log gateway
    fi
    kill -TERM "$gw_pid" 2>/dev/null
    wait "$gw_pid" 2>/dev/null
    gw_pid=""
fi

# ---- kill -9 -------------------------------------------------------------
killed=()
ok=1
for i in 1 2 3 4 5; do
    t="killed-$i-$$"
    killed+=("$t")
    run_on b "$t" || ok=0
done
kill -KILL "${pid[b]}"
wait "${pid[b]}" 2>/dev/null
pid[b]=""
if [ "$ok" -eq 1 ] && has_all a "${killed[@]}"; then
    pass "kill -9: the 5 runs server b answered before it was killed are all in the history"
else
    fail "kill -9: answered $ok; missing: $(for t in "${killed[@]}"; do has_all a "$t" || echo -n "$t "; done)"
    show_log b
fi
# The same instance again: it removes what the killed one left on the engine.
start_server b || fail "kill -9: server b did not start again"
wait_for 60 run_on b "warm-b-again" || fail "kill -9: server b does not run code after its restart"

# ---- outage --------------------------------------------------------------
outage=()
: >"$work/outage.results"
(
    for i in $(seq 1 16); do
        n=${names[$((i % 3))]}
        t="outage-$i-$$"
        if run_on "$n" "$t"; then echo "ok $t"; else echo "FAILED $t on $n"; fi
        sleep 0.5
    done >"$work/outage.results"
) &
runner=$!
sleep 2
"$here/pg.sh" stop "$pgdir" || fail "outage: PostgreSQL did not stop"
stopped_at=$(date +%s)
sleep 10
"$here/pg.sh" start "$pgdir" >/dev/null || fail "outage: PostgreSQL did not start again"
wait "$runner"
for i in $(seq 1 16); do outage+=("outage-$i-$$"); done
answered=$(grep -c '^ok ' "$work/outage.results")
if [ "$answered" -eq 16 ]; then
    pass "outage: all 16 runs answered ok while PostgreSQL was down for 10 s"
else
    fail "outage: $answered of 16 answered: $(grep -v '^ok ' "$work/outage.results" | tr '\n' ' ')"
fi
if wait_for 30 has_all c "${outage[@]}"; then
    pass "outage: every run's entry is in the history once PostgreSQL is back"
else
    fail "outage: missing: $(for t in "${outage[@]}"; do has_all c "$t" || echo -n "$t "; done)"
    for n in "${names[@]}"; do show_log "$n"; done
fi
if grep -q "history: .* went down\|is unreachable" "$work"/[abc].log &&
    grep -q "reachable again" "$work"/[abc].log; then
    pass "outage: the servers logged the database going and coming back"
else
    fail "outage: no down/back lines in the logs"
fi

# ---- secrets -------------------------------------------------------------
if grep -q -- "$password" "$work"/[abc].log; then
    fail "secrets: the password is in a server's log"
else
    pass "secrets: the password is in no server's log"
fi

# ---- the end ---------------------------------------------------------------
for n in "${names[@]}"; do
    [ -n "${pid[$n]}" ] && kill -TERM "${pid[$n]}"
done
for n in "${names[@]}"; do
    [ -n "${pid[$n]}" ] && wait "${pid[$n]}" 2>/dev/null
    pid[$n]=""
done
left=""
for n in "${names[@]}"; do
    wait_for 20 test -z "$(containers "hpg-$n-$$")" || left+="$(containers "hpg-$n-$$" | tr '\n' ' ')"
done
[ -z "$left" ] && pass "cleanup: no container of the three instances is left" ||
    fail "cleanup: left behind: $left"

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
