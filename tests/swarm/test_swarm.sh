#!/usr/bin/env bash
# tests/swarm/test_swarm.sh BUILD_DIR - the Swarm deployment on this machine.
#
# From `scripts/swarm.sh up --servers 3` (three servers sharing this
# machine's engine, the gateway, PostgreSQL) to runs through its gateway to
# `scripts/swarm.sh down`:
#   - /healthz lists 3 backends, all up;
#   - 12 runs, python and node, 6 at a time, each answers its own output;
#   - more than one backend served them (/healthz's per-backend runs);
#   - one /history page shows all 12, whichever server ran them: the
#     servers share PostgreSQL (and the database holds them);
#   - after down: no container of the stack, no run container of its
#     servers, and the engine in the swarm state it started in.
# Nothing is skipped: a step that cannot run fails the test.  Uses the
# engine alone (run it under flock /tmp/sce-engine.lock, RUN_SERIAL in
# ctest).  Stack scetest, port SCE_SWARM_TEST_PORT (18090).
set -euo pipefail

build=$(cd "${1:?usage: test_swarm.sh BUILD_DIR}" && pwd)
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export SCE_BUILD_DIR=$build SCE_SWARM_STACK=scetest SCE_SWARM_PORT=${SCE_SWARM_TEST_PORT:-18090}
export SCE_SWARM_RATE_LIMIT=100 SCE_SWARM_POOL_SIZE=2
base=http://127.0.0.1:$SCE_SWARM_PORT
servers=3
t0=$SECONDS
failed=0

say() { echo "[swarm-test] $*"; }
fail() { echo "[swarm-test] FAIL: $*" >&2; failed=1; }

# shellcheck source=../../scripts/lib/engine.sh
. "$root/scripts/lib/engine.sh"
sce_ensure_engine || { echo "[swarm-test] FAIL: no docker engine" >&2; exit 1; }
before=$(docker info -f '{{.Swarm.LocalNodeState}}')
say "the engine's swarm state before: $before"
# Networks too: a swarm's ingress and docker_gwbridge, the stack's overlay.
networks() { docker network ls --format '{{.Name}}' | sort | tr '\n' ' '; }
nets_before=$(networks)

leftovers() {
    docker ps -aq --filter label=com.docker.stack.namespace=scetest
    docker ps -a --filter label=org.sce.managed-by=sce-server --format '{{.ID}} {{.Label "org.sce.instance"}}' |
        awk 'index($2, "scetest-") == 1 { print $1 }'
}

downed=0
down() {
    [ "$downed" -eq 0 ] || return 0
    downed=1
    local t=$SECONDS
    "$root/scripts/swarm.sh" down --purge || fail "scripts/swarm.sh down failed"
    say "down took $((SECONDS - t))s"
    local after left
    after=$(docker info -f '{{.Swarm.LocalNodeState}}')
    [ "$after" = "$before" ] || fail "the engine's swarm state is '$after', it was '$before'"
    local nets_after
    nets_after=$(networks)
    [ "$nets_after" = "$nets_before" ] || fail "networks after down: $nets_after; before: $nets_before"
    left=$(leftovers)
    [ -z "$left" ] || fail "containers left after down: $(echo "$left" | tr '\n' ' ')"
}
finish() {
    local rv=$?
    down
    [ "$rv" -eq 0 ] || failed=1
    say "wall time $((SECONDS - t0))s"
    if [ "$failed" -ne 0 ]; then
        echo "[swarm-test] FAILED" >&2
        exit 1
    fi
    say "PASSED"
}
trap finish EXIT

[ -z "$(leftovers)" ] || { fail "containers of stack scetest exist before the test"; exit 1; }

t=$SECONDS
"$root/scripts/swarm.sh" up --servers "$servers" || { fail "scripts/swarm.sh up --servers $servers failed"; exit 1; }
say "up took $((SECONDS - t))s"

pg=$(docker ps -q --filter label=com.docker.swarm.service.name=scetest_sce-postgres | head -n 1)

if ! python3 - "$base" "$servers" "$pg" <<'PY'; then
import concurrent.futures, json, subprocess, sys, time, urllib.request, uuid

base, servers, pg = sys.argv[1], int(sys.argv[2]), sys.argv[3]
errors = []

def get(path):
    with urllib.request.urlopen(base + path, timeout=30) as r:
        return r.status, json.load(r)

def run(i):
    token = uuid.uuid4().hex[:12]
    if i % 2 == 0:
        body = {"language": "python", "code": f"import time; time.sleep(0.3); print('{token}')"}
    else:
        body = {"language": "node", "code": f"setTimeout(() => console.log('{token}'), 300)"}
    req = urllib.request.Request(base + "/run", json.dumps(body).encode(),
                                 {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            ans = json.load(r)
    except urllib.error.HTTPError as e:
        return token, f"HTTP {e.code}: {e.read()[:300]!r}"
    if ans.get("status") != "ok" or ans.get("stdout") != token + "\n":
        return token, f"answer {json.dumps(ans)[:300]}"
    return token, None

status, h = get("/healthz")
backends = h.get("backends", [])
up = [b for b in backends if b.get("state") == "up"]
print(f"[swarm-test] /healthz {status}: {len(backends)} backends, {len(up)} up")
if status != 200 or len(backends) != servers or len(up) != servers:
    errors.append(f"/healthz: expected {servers} backends up, got {json.dumps(backends)[:600]}")

t = time.monotonic()
with concurrent.futures.ThreadPoolExecutor(6) as ex:
    results = list(ex.map(run, range(12)))
print(f"[swarm-test] 12 runs at concurrency 6 in {time.monotonic() - t:.1f}s")
tokens = [tok for tok, _ in results]
for tok, err in results:
    if err:
        errors.append(f"run {tok}: {err}")

_, h = get("/healthz")
served = {b["url"]: b.get("runs", 0) for b in h.get("backends", [])}
print(f"[swarm-test] runs per backend: {served}")
if sum(1 for n in served.values() if n > 0) < 2:
    errors.append(f"runs were not spread over more than one backend: {served}")

# A run answered while a server's history connection was still being made
# waits in its queue and is written moments later: allow 30 s.
deadline = time.monotonic() + 30
while True:
    _, page = get("/history?limit=50")
    codes = " ".join(e.get("code", "") for e in page.get("entries", []))
    missing = [tok for tok in tokens if tok not in codes]
    if not missing or time.monotonic() > deadline:
        break
    time.sleep(1)
print(f"[swarm-test] /history: total {page.get('total')}, {len(tokens) - len(missing)} of 12 runs in one page")
if not page.get("enabled") or missing:
    errors.append(f"/history misses the runs {missing}")

# The entries are PostgreSQL's: count the rows that hold the runs' tokens.
if not pg:
    errors.append("no sce-postgres container")
else:
    q = "SELECT count(*) FROM runs WHERE " + " OR ".join(f"code LIKE '%{tok}%'" for tok in tokens)
    psql = subprocess.run(["docker", "exec", pg, "sh", "-c",
                           'exec $(ls /usr/lib/postgresql/*/bin/psql | tail -n 1) -h /run/postgresql '
                           '-U sce -d sce -Atc "$0"', q], capture_output=True, text=True)
    print(f"[swarm-test] PostgreSQL rows of the runs: {psql.stdout.strip()} {psql.stderr.strip()}")
    if psql.returncode != 0 or psql.stdout.strip() != "12":
        errors.append(f"PostgreSQL: expected 12 rows, got {psql.stdout.strip()!r} {psql.stderr.strip()!r}")

for e in errors:
    print("[swarm-test] FAIL: " + e, file=sys.stderr)
sys.exit(1 if errors else 0)
PY
    fail "the runs through the swarm's gateway"
fi

down
