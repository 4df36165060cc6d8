#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests, on a free loopback port.
#
#   scripts/pg-cluster.sh start DIR   # initdb + pg_ctl start in DIR; prints the URL
#   scripts/pg-cluster.sh stop DIR    # pg_ctl stop; DIR stays (delete it yourself)
#
# The printed URL (postgres://masscast@127.0.0.1:PORT/postgres?sslmode=disable) is what
# MASSCAST_TEST_POSTGRES_URL takes. The cluster trusts local connections on loopback only
# (no password), listens on 127.0.0.1 only, and keeps its socket in DIR. Run as root, the
# server runs as an unprivileged user (postgres if it exists, else nobody), since PostgreSQL
# refuses to run as root. Finds initdb and pg_ctl on PATH or in /usr/lib/postgresql/*/bin.
set -euo pipefail

usage() { echo "usage: $0 start DIR | stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
action=$1
dir=$2

bindir=""
if command -v pg_ctl >/dev/null && command -v initdb >/dev/null; then
    bindir=$(dirname "$(command -v pg_ctl)")
else
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$d/pg_ctl" ] && [ -x "$d/initdb" ]; then bindir=$d; break; fi
    done
fi
if [ -z "$bindir" ]; then
    echo "pg-cluster: initdb and pg_ctl not found (on PATH or in /usr/lib/postgresql/*/bin); install PostgreSQL: apt-get install -y postgresql" >&2
    exit 1
fi

# As root, run the server as an unprivileged user.
as_user=()
if [ "$(id -u)" -eq 0 ]; then
    if id postgres >/dev/null 2>&1; then runner=postgres; else runner=nobody; fi
    if command -v runuser >/dev/null; then as_user=(runuser -u "$runner" --); else as_user=(su -s /bin/sh "$runner" -c); fi
fi
run() {
    if [ ${#as_user[@]} -eq 0 ]; then "$@";
    # From /: the unprivileged user may not enter the caller's (private) working directory.
    elif [ "${as_user[0]}" = runuser ]; then (cd / && "${as_user[@]}" "$@");
    else (cd / && "${as_user[@]}" "$(printf '%q ' "$@")"); fi
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

case "$action" in
start)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    data="$dir/data"
    if [ -n "${runner:-}" ]; then chown "$runner" "$dir"; chmod 0700 "$dir"; fi
    if [ ! -f "$data/PG_VERSION" ]; then
        run "$bindir/initdb" -D "$data" -U masscast --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
            || { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    port=$(free_port)
    # Fast and throwaway: no fsync (the tests' durability is the store's, not this disk's).
    if ! run "$bindir/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
        start >/dev/null; then
        cat "$dir/server.log" >&2
        exit 1
    fi
    echo "$port" >"$dir/port"
    echo "postgres://masscast@127.0.0.1:$port/postgres?sslmode=disable"
    ;;
stop)
    data="$(cd "$dir" && pwd)/data"
    if [ -f "$data/postmaster.pid" ]; then
        run "$bindir/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null
    fi
    ;;
*) usage ;;
esac
