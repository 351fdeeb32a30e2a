#!/usr/bin/env bash
# bench/startup-cpu.sh [RUNS] - CPU time that one container spends inside
# itself, by what it runs: the part of a run's cost that belongs to the
# interpreter and not to the engine (docs/PERFORMANCE.md, "Where the gap
# is").
#
# Each command runs RUNS times (default 10) in a fresh container with the
# service's limit set (docker CLI, like sce-bench's docker-run row), one at
# a time; the CPU is the growth of the engine's parent cgroup
# (cgroup v1 cpuacct: /sys/fs/cgroup/cpuacct/docker), so run it while no
# other container is busy (a warm pool waiting on stdin uses no CPU).
set -euo pipefail

runs=${1:-10}
usage=/sys/fs/cgroup/cpuacct/docker/cpuacct.usage
[ -r "$usage" ] || {
    echo "bench/startup-cpu.sh: needs cgroup v1 accounting at $usage" >&2
    exit 1
}
py=${SCE_PYTHON_IMAGE:-sce-python:latest}
node=${SCE_NODE_IMAGE:-sce-node:latest}
flags=(--rm -i --network none --memory 128m --memory-swap 128m --cpus 1 --pids-limit 64
    --read-only --tmpfs /tmp:rw,size=16m --user 65534:65534 --cap-drop ALL
    --security-opt no-new-privileges --init --log-driver none)

measure() { # label image argv...
    local label=$1 image=$2 before after
    shift 2
    before=$(cat "$usage")
    for _ in $(seq "$runs"); do
        docker run "${flags[@]}" "$image" "$@" </dev/null >/dev/null 2>&1 || true
    done
    after=$(cat "$usage")
    printf '| %s | %s | %d |\n' "$label" "$*" $(((after - before) / runs / 1000000))
}

echo "| what | command | CPU ms per container |"
echo "| --- | --- | ---: |"
measure "nothing (the container itself)" "$py" true
measure "python, empty program" "$py" python3 -I -c pass
measure "python, print(2+2)" "$py" python3 -I -c 'print(2+2)'
measure "node, empty program" "$node" node -e 0
measure "node, console.log(2+2)" "$node" node -e 'console.log(2+2)'
docker run --rm --entrypoint node "$node" -p \
    '"node " + process.version + ": start-up snapshot " + process.config.variables.node_use_node_snapshot + ", code cache " + process.config.variables.node_use_node_code_cache'
