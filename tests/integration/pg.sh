#!/usr/bin/env bash
# tests/integration/pg.sh start|stop DIR - a throwaway PostgreSQL for the
# tests, from Debian's package (initdb in DIR, no system cluster touched).
#
#   start DIR   the first time: initdb in DIR/data (role `sce` with a random
#               password, database `sce`), on a free port of 127.0.0.1;
#               later (after stop): the same cluster on the same port.
#               Waits until it accepts connections (pg_ctl -w) and prints
#               its URL: postgresql://sce:PASSWORD@127.0.0.1:PORT/sce
#   stop DIR    pg_ctl stop -m fast (connections are closed at once)
#
# initdb refuses root: as root, the server runs as the `postgres` user,
# which then owns DIR.  It listens on 127.0.0.1 only, with its unix socket
# in DIR.  Exits non-zero with the reason when PostgreSQL cannot start (the
# callers fail, never skip).  The caller removes DIR after its last stop.
set -euo pipefail

cmd=${1:?usage: pg.sh start|stop DIR}
dir=${2:?usage: pg.sh start|stop DIR}
bin=${SCE_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    echo "pg.sh: no PostgreSQL server binaries (install Debian's postgresql)" >&2
    exit 1
fi

# Runs a command as the cluster's owner.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

case "$cmd" in
start)
    mkdir -p "$dir"
    if [ ! -d "$dir/data" ]; then
        [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
        chmod 700 "$dir"
        if ! as_owner test -w "$dir"; then
            echo "pg.sh: $dir cannot be reached by $(as_owner id -un) (a parent directory is private?)" >&2
            exit 1
        fi
        head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/password"
        free_port >"$dir/port"
        [ "$(id -u)" -eq 0 ] && chown postgres: "$dir/password" "$dir/port"
        # The superuser over the unix socket only (trust); TCP needs a
        # password.
        as_owner "$bin/initdb" -D "$dir/data" -U postgres -E UTF8 --locale=C \
            --auth-local=trust --auth-host=scram-sha-256 >"$dir/initdb.log" 2>&1 || {
            echo "pg.sh: initdb failed:" >&2
            tail -n 20 "$dir/initdb.log" >&2
            exit 1
        }
        fresh=1
    else
        fresh=0
    fi
    port=$(cat "$dir/port")
    if ! as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off" start >/dev/null; then
        echo "pg.sh: PostgreSQL did not start on 127.0.0.1:$port:" >&2
        tail -n 20 "$dir/server.log" >&2
        exit 1
    fi
    if [ "$fresh" -eq 1 ]; then
        as_owner "$bin/psql" -q -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
            -c "CREATE ROLE sce LOGIN PASSWORD '$(cat "$dir/password")'" \
            -c "CREATE DATABASE sce OWNER sce" >/dev/null
    fi
    echo "postgresql://sce:$(cat "$dir/password")@127.0.0.1:$port/sce"
    ;;
stop)
    [ -d "$dir/data" ] || exit 0
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 || {
        # Not running (already stopped) is fine; a server that will not stop is not.
        ! as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1
    }
    ;;
*)
    echo "usage: pg.sh start|stop DIR" >&2
    exit 2
    ;;
esac
