#!/usr/bin/env bash
# scripts/swarm.sh - sce on Docker Swarm: servers, gateway and PostgreSQL.
#
#   scripts/swarm.sh up [--servers N]   build, deploy, wait, print the URL
#   scripts/swarm.sh down [--purge]     remove the stack (--purge: and its
#                                       history volume)
#   scripts/swarm.sh status             the stack's services and /healthz
#
# up: the set-up of scripts/up.sh (packages, an engine, the runtime images,
# the build), then the cluster's images (scripts/images.sh --cluster); if
# the engine is in no swarm, a one-node swarm is made and that is
# remembered (/var/lib/sce/swarm-created); then deploy/swarm/stack.yml is
# deployed.  Without --servers: one server per node (global).  With
# --servers N: N servers replicated (deploy/swarm/stack.one-node.yml), on
# one node all sharing its engine.  It waits until PostgreSQL accepts
# connections (when it runs on this node) and the gateway's /healthz lists
# as many backends up, and prints the URL.
#
# down: removes the stack, waits until its containers and the run
# containers of its servers are gone (removing any a server left), and
# leaves the swarm only if `up` made it.
#
# Environment: SCE_SWARM_PORT (published port of the gateway, 8090),
# SCE_SWARM_STACK (stack name, sce), SCE_SWARM_TIMEOUT (seconds to wait for
# the gateway, 300), SCE_BUILD_DIR (build), and what deploy/swarm/stack.yml
# reads (SCE_SWARM_POOL_SIZE, SCE_SWARM_ALLOWED_HOSTS, SCE_SWARM_RATE_LIMIT).
# The images must be on every node: on a swarm of several nodes, run
# scripts/images.sh and scripts/images.sh --cluster on each (no registry).
set -euo pipefail
# shellcheck source=lib/setup.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/setup.sh"

build=${SCE_BUILD_DIR:-$SCE_ROOT/build}
stack=${SCE_SWARM_STACK:-sce}
port=${SCE_SWARM_PORT:-8090}
timeout_s=${SCE_SWARM_TIMEOUT:-300}
state_dir=/var/lib/sce
state_file=$state_dir/swarm-created
stack_file=$SCE_ROOT/deploy/swarm/stack.yml
one_node_file=$SCE_ROOT/deploy/swarm/stack.one-node.yml
export SCE_SWARM_STACK=$stack SCE_SWARM_PORT=$port

log() { echo "[sce] $*"; }
die() { echo "[sce] error: $*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo pipefail/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

swarm_state() { docker info -f '{{.Swarm.LocalNodeState}}' 2>/dev/null; }

# The stack's containers (services' tasks), one id a line.
stack_containers() {
    docker ps -aq --filter "label=com.docker.stack.namespace=$stack"
}

# The run containers of the stack's servers: their instance names start
# with "$stack-" (stack.yml's SCE_INSTANCE).
run_containers() {
    docker ps -a --filter label=org.sce.managed-by=sce-server \
        --format '{{.ID}} {{.Label "org.sce.instance"}}' | awk -v p="$stack-" 'index($2, p) == 1 { print $1 }'
}

# healthz_backends_up: how many of the gateway's backends are up (0 when
# it does not answer).
healthz_backends_up() {
    { curl -sS --max-time 3 "http://127.0.0.1:$port/healthz" 2>/dev/null || true; } | python3 -c '
import json, sys
try:
    h = json.load(sys.stdin)
except ValueError:
    print(0); sys.exit()
print(sum(1 for b in h.get("backends", []) if b.get("state") == "up"))' 2>/dev/null
}

# wait_postgres: until the stack's PostgreSQL accepts connections (a new
# volume is initialised first, which takes longer than the servers' start),
# so that the first runs are recorded at once.  Only where it runs on this
# node; elsewhere the servers' history waits for it on its own.
wait_postgres() {
    local svc="${stack}_sce-postgres" task cid i
    for ((i = 0; i < timeout_s; i++)); do
        task=$(docker service ps -q --filter desired-state=running "$svc" 2>/dev/null | head -n 1)
        if [ -n "$task" ] && [ "$(docker inspect -f '{{.NodeID}}' "$task" 2>/dev/null)" != "$(docker info -f '{{.Swarm.NodeID}}')" ]; then
            log "PostgreSQL runs on another node: not waited for"
            return 0
        fi
        cid=$(docker ps -q --filter "label=com.docker.swarm.service.name=$svc" | head -n 1)
        if [ -n "$cid" ] && docker exec "$cid" sh -c \
            'exec $(ls /usr/lib/postgresql/*/bin/pg_isready | tail -n 1) -q -h /run/postgresql' 2>/dev/null; then
            return 0
        fi
        sleep 1
    done
    die "PostgreSQL ($svc) does not accept connections within ${timeout_s}s"
}

cmd_up() {
    local servers="" want files state t0=$SECONDS
    while [ $# -gt 0 ]; do
        case "$1" in
            --servers)
                [ $# -ge 2 ] || die "--servers needs a number"
                servers=$2
                shift
                ;;
            *) die "up: unknown argument: $1" ;;
        esac
        shift
    done
    if [ -n "$servers" ] && ! [[ "$servers" =~ ^[1-9][0-9]?$ ]]; then
        die "--servers: expected 1 to 99, got '$servers'"
    fi

    sce_setup "$build"
    scripts/images.sh --cluster --build-dir "$build"

    state=$(swarm_state) || die "docker info failed"
    case "$state" in
        active) log "the engine is in a swarm already: deploying to it" ;;
        inactive)
            log "making a one-node swarm (scripts/swarm.sh down leaves it again)"
            # swarm init also makes the bridge docker_gwbridge, which
            # `swarm leave` keeps: down removes it too if it is new.
            gwbridge_before=0
            docker network inspect docker_gwbridge >/dev/null 2>&1 && gwbridge_before=1
            if ! docker swarm init >/dev/null 2>/tmp/sce-swarm-init.err; then
                # Several addresses and none chosen: a one-node swarm can
                # advertise loopback.
                grep -q 'advertise' /tmp/sce-swarm-init.err || { cat /tmp/sce-swarm-init.err >&2; die "docker swarm init failed"; }
                docker swarm init --advertise-addr 127.0.0.1 >/dev/null || die "docker swarm init failed"
            fi
            mkdir -p "$state_dir"
            { docker info -f '{{.Swarm.NodeID}}'; echo "gwbridge=$gwbridge_before"; } >"$state_file"
            ;;
        *) die "the engine's swarm state is '$state' (expected inactive or active)" ;;
    esac

    files=(-c "$stack_file")
    if [ -n "$servers" ]; then
        files+=(-c "$one_node_file")
        export SCE_SWARM_SERVERS=$servers
        want=$servers
    else
        want=$(docker node ls --format '{{.Status}} {{.Availability}}' | awk '$1 == "Ready" && $2 == "Active"' | wc -l)
    fi
    log "deploying stack $stack: $want server(s), gateway on port $port"
    # No registry: the images are the nodes' own (--resolve-image never).
    docker stack deploy --resolve-image never "${files[@]}" "$stack" >/dev/null

    log "waiting for PostgreSQL, then for the gateway to list $want backend(s) up"
    wait_postgres
    for ((i = 0; i < timeout_s; i++)); do
        [ "$(healthz_backends_up)" -ge "$want" ] && break
        sleep 1
    done
    if [ "$(healthz_backends_up)" -lt "$want" ]; then
        docker stack ps --no-trunc "$stack" >&2 || true
        curl -sS --max-time 3 "http://127.0.0.1:$port/healthz" >&2 || true
        die "the gateway did not list $want backends up within ${timeout_s}s (scripts/swarm.sh down removes the stack)"
    fi
    cat <<MSG
[sce] stack $stack is up ($want server(s), $((SECONDS - t0))s)

  page:     http://127.0.0.1:$port/
  HTTP API: curl -s http://127.0.0.1:$port/run -H 'Content-Type: application/json' \\
              -d '{"language": "python", "code": "print(2 + 2)"}'
  health:   curl -s http://127.0.0.1:$port/healthz
  stop:     scripts/swarm.sh down
MSG
}

cmd_down() {
    local purge=0 left i
    while [ $# -gt 0 ]; do
        case "$1" in
            --purge) purge=1 ;;
            *) die "down: unknown argument: $1" ;;
        esac
        shift
    done
    sce_ensure_engine >/dev/null || die "no docker engine"

    if [ "$(swarm_state)" = active ] && docker stack ls --format '{{.Name}}' | grep -qx "$stack"; then
        log "removing stack $stack"
        docker stack rm "$stack" >/dev/null
    fi
    # The servers stop first (stop_grace_period): each removes its own warm
    # containers.  What one of them left is removed after.
    for ((i = 0; i < 120; i++)); do
        [ -z "$(stack_containers)" ] && break
        sleep 0.5
    done
    left=$(stack_containers)
    if [ -n "$left" ]; then
        log "removing the stack's containers still there: $(echo "$left" | tr '\n' ' ')"
        # shellcheck disable=SC2086
        docker rm -f $left >/dev/null 2>&1 || true
    fi
    left=$(run_containers)
    if [ -n "$left" ]; then
        log "removing run containers the servers left: $(echo "$left" | tr '\n' ' ')"
        # shellcheck disable=SC2086
        docker rm -f $left >/dev/null 2>&1 || true
    fi
    # The stack's network goes last, asynchronously.
    for ((i = 0; i < 60; i++)); do
        [ -z "$(docker network ls -q --filter "label=com.docker.stack.namespace=$stack")" ] && break
        sleep 0.5
    done
    if [ "$purge" -eq 1 ]; then
        for ((i = 0; i < 20; i++)); do
            docker volume rm "${stack}_sce-history" >/dev/null 2>&1 && break
            docker volume inspect "${stack}_sce-history" >/dev/null 2>&1 || break
            sleep 0.5
        done
    fi

    if [ -f "$state_file" ]; then
        if [ "$(swarm_state)" = active ] &&
            [ "$(docker info -f '{{.Swarm.NodeID}}')" = "$(head -n 1 "$state_file")" ]; then
            log "leaving the one-node swarm scripts/swarm.sh up made"
            docker swarm leave --force >/dev/null
            if grep -qx 'gwbridge=0' "$state_file"; then
                for ((i = 0; i < 20; i++)); do
                    docker network inspect docker_gwbridge >/dev/null 2>&1 || break
                    docker network rm docker_gwbridge >/dev/null 2>&1 && break
                    sleep 0.5
                done
                ! docker network inspect docker_gwbridge >/dev/null 2>&1 ||
                    log "warning: could not remove the network docker_gwbridge the swarm made"
            fi
        fi
        rm -f "$state_file"
    fi
    [ -z "$(stack_containers)$(run_containers)" ] || die "containers of stack $stack are left: $(stack_containers) $(run_containers)"
    log "stack $stack is down; the engine's swarm state: $(swarm_state)"
}

cmd_status() {
    docker stack services "$stack" 2>/dev/null || log "no stack $stack"
    curl -sS --max-time 3 "http://127.0.0.1:$port/healthz" && echo
}

[ $# -ge 1 ] || { usage >&2; exit 2; }
command=$1
shift
case "$command" in
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    status) cmd_status ;;
    -h | --help | help) usage ;;
    *) usage >&2; exit 2 ;;
esac
