#!/usr/bin/env bash
# The state store benchmark (docs/benchmarks.md, "PostgreSQL store"): the same work with the
# state in a SQLite file and in PostgreSQL on loopback, in alternating rounds of one run,
# against `masscast sandbox` (limits off) started as a separate process:
#   get:     `masscast run` of the runner benchmark's pipeline of STEPS mass/get steps (a
#            step record per step: run overhead). A new SQLite file / a new database per run.
#   million: `masscast run` of one mass/send to 1,000,000 OpenIDs, 100 batches of 10,000
#            (a journal intent before and a result after every batch: journal throughput).
#            A new sandbox, and a new file / database, for every run.
#   wake:    WAKES mass/wait steps woken one by one by pushes POSTed to `masscast listen`
#            (wake.py): the latency from the push stored to the wait ended, p50/p99, with
#            the state in PostgreSQL (LISTEN/NOTIFY) and in a SQLite file (the inbox read
#            four times a second). Target: PostgreSQL p99 < 100 ms.
# Both sides of get and million are timed as whole processes (timed.py of the runner
# benchmark: wall time, CPU, peak RSS) and by the run's own duration in the store.
#
# PostgreSQL: a cluster of its own in a temporary folder (initdb + pg_ctl, loopback, trust), with the
# server's durable defaults (fsync = on, synchronous_commit = on: every commit waits for its
# WAL flush), unlike scripts/pg-cluster.sh's test cluster, which turns fsync off.
#
# Settings (environment): GET_ROUNDS (5), ROUNDS (3, million rounds), STEPS (200), OPENIDS
# (1000000), WAKES (250), ONLY (all | get | million | wake), MASSCAST (a prebuilt release
# binary: skip the build).
set -euo pipefail

cd "$(dirname "$0")/../.."
HERE=Benchmarks/state
RUNNER=Benchmarks/runner
OUT=$PWD/$HERE/out
GET_ROUNDS=${GET_ROUNDS:-5}
ROUNDS=${ROUNDS:-3}
STEPS=${STEPS:-200}
OPENIDS=${OPENIDS:-1000000}
WAKES=${WAKES:-250}
ONLY=${ONLY:-all}
BATCHES=$(( (OPENIDS + 9999) / 10000 ))
export BENCH_APP_SECRET=sandbox-secret-brand-main-0001
export BENCH_CALLBACK_TOKEN=statebench0callback0token

say() { printf '== %s\n' "$*" >&2; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# 1. Tools.
[ -x /usr/bin/time ] || die "GNU time is needed (apt-get install -y time)"
command -v curl >/dev/null || die "curl is needed"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$PGBIN" ] && [ -x "$PGBIN/initdb" ] || die "PostgreSQL is needed (apt-get install -y postgresql)"

# 2. A release build in its own scratch path (the shared debug .build stays free).
if [ -z "${MASSCAST:-}" ]; then
    say "building masscast (release, .build-bench)"
    nice swift build -c release --scratch-path .build-bench --product masscast >&2
    MASSCAST=$(swift build -c release --scratch-path .build-bench --show-bin-path)/masscast
fi
[ -x "$MASSCAST" ] || die "no masscast binary at $MASSCAST"

mkdir -p "$OUT"
find "$OUT" -mindepth 1 -maxdepth 1 ! -name "openids-$OPENIDS.txt" -exec rm -rf {} +
mkdir -p "$OUT/get" "$OUT/million" "$OUT/wake"

# 3. PostgreSQL: a durable cluster on loopback, stopped on exit. As root the server runs as
# the postgres user (PostgreSQL refuses root).
PG=$(mktemp -d /tmp/masscast-state-bench-pg.XXXXXX)
PGPORT=$(free_port)
as_pg=()
if [ "$(id -u)" = 0 ]; then
    runner=postgres; id postgres >/dev/null 2>&1 || runner=nobody
    as_pg=(runuser -u "$runner" --)
    chown "$runner" "$PG"
fi
pg() { (cd / && "${as_pg[@]}" "$@"); }
SANDBOX_PID=
cleanup() {
    if [ -n "$SANDBOX_PID" ]; then kill -INT "$SANDBOX_PID" 2>/dev/null || true; wait "$SANDBOX_PID" 2>/dev/null || true; fi
    pg "$PGBIN/pg_ctl" -D "$PG/data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
    rm -rf "$PG"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
pg "$PGBIN/initdb" -D "$PG/data" -U masscast --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$OUT/initdb.log" 2>&1 \
    || { cat "$OUT/initdb.log" >&2; die "initdb failed"; }
pg "$PGBIN/pg_ctl" -D "$PG/data" -l "$PG/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $PG -c max_connections=100" start >/dev/null \
    || { cat "$PG/server.log" >&2; die "the PostgreSQL server did not start"; }
ADMIN="postgres://masscast@127.0.0.1:$PGPORT/postgres?sslmode=disable"
newdb() { # name → URL
    timeout 60 "$PGBIN/psql" "$ADMIN" -X -q -c "CREATE DATABASE $1" >&2 || die "cannot create database $1"
    echo "postgres://masscast@127.0.0.1:$PGPORT/$1?sslmode=disable"
}

PORT=$(free_port)
S=http://127.0.0.1:$PORT
{
    echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
    echo "commit: $(git rev-parse --short HEAD) ($(git status --porcelain | wc -l) uncommitted paths)"
    echo "cpu: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "kernel: $(uname -sr)"
    echo "postgresql: $("$PGBIN/postgres" --version) on 127.0.0.1:$PGPORT, fsync on, synchronous_commit on"
    echo "masscast: $MASSCAST"
    echo "settings: GET_ROUNDS=$GET_ROUNDS ROUNDS=$ROUNDS STEPS=$STEPS OPENIDS=$OPENIDS ($BATCHES batches) WAKES=$WAKES"
    echo "uptime before: $(uptime)"
    echo "swift-frontend processes before: $(pgrep -fc swift-frontend || true)"
} >"$OUT/env.txt"

# 4. Inputs: the runner benchmark's pipelines, and this benchmark's config.
python3 "$HERE/gen.py" config "$OUT/masscast.yaml" "$S"
python3 "$RUNNER/gen.py" get "$OUT/get/get.yaml" "$STEPS"
python3 "$HERE/gen.py" wake "$OUT/wake/wake.yaml" "$WAKES"
OPENID_FILE=$OUT/openids-$OPENIDS.txt
if [ "$ONLY" = all ] || [ "$ONLY" = million ]; then
    if [ ! -s "$OPENID_FILE" ]; then
        say "writing $OPENIDS OpenIDs"
        python3 Benchmarks/audience/gen-openids.py "$OPENIDS" "$OPENID_FILE"
    fi
    cp "$OPENID_FILE" "$OUT/million/openids.txt"
    python3 "$RUNNER/gen.py" send "$OUT/million/send.yaml" openids.txt
fi

start_sandbox() { # log
    "$MASSCAST" sandbox --port "$PORT" --fixture Benchmarks/sandbox/bench-fixture.yaml 2>"$1" &
    SANDBOX_PID=$!
    for _ in $(seq 300); do
        grep -q "listening on" "$1" 2>/dev/null && return 0
        kill -0 "$SANDBOX_PID" 2>/dev/null || { cat "$1" >&2; die "the sandbox exited before listening"; }
        sleep 0.1
    done
    die "the sandbox did not listen within 30 s"
}
stop_sandbox() {
    [ -n "$SANDBOX_PID" ] || return 0
    kill -INT "$SANDBOX_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SANDBOX_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SANDBOX_PID" 2>/dev/null || true
    wait "$SANDBOX_PID" 2>/dev/null || true
    SANDBOX_PID=
}
post() { curl -sS --fail --max-time 10 -H 'Content-Type: application/json' --data-binary "$2" "$1"; }
field() { python3 -c 'import json,sys; v=json.loads(sys.argv[1]).get(sys.argv[2]); print("" if v is None else v)' "$1" "$2"; }

store_for() { # side part round → the --state value
    if [ "$1" = sqlite ]; then echo "$OUT/$2/state-$3.sqlite"; else newdb "bench_$2_$3"; fi
}
masscast_run() { # side part round pipeline [args]
    local side=$1 part=$2 round=$3 pipeline=$4 state
    shift 4
    state=$(store_for "$side" "$part" "$round")
    python3 "$RUNNER/timed.py" "$OUT/$part/results.jsonl" "$side" "$round" "$OUT/$part/$side-$round.out" "$OUT/$part/$side-$round.log" -- \
        timeout 600 "$MASSCAST" run "$pipeline" --config "$OUT/masscast.yaml" --state "$state" --log-format json "$@" \
        || die "masscast run ($side) failed in $part round $round (see $OUT/$part/$side-$round.log)"
    echo "$state"
}

# 5. Run overhead: STEPS mass/get steps, a step record each.
if [ "$ONLY" = all ] || [ "$ONLY" = get ]; then
    start_sandbox "$OUT/get/sandbox.log"
    answer=$(post "$S/cgi-bin/stable_token" "{\"grant_type\":\"client_credential\",\"appid\":\"wx8a3f2c71d905be46\",\"secret\":\"$BENCH_APP_SECRET\"}")
    TOKEN=$(field "$answer" access_token)
    answer=$(post "$S/cgi-bin/message/mass/sendall?access_token=$TOKEN" \
        '{"filter":{"is_to_all":false,"tag_id":100},"msgtype":"text","text":{"content":"bench"},"clientmsgid":"state-bench-1"}')
    MSG_ID=$(field "$answer" msg_id)
    [ -n "$MSG_ID" ] || die "the send failed: $answer"
    sleep 2
    say "get: $STEPS mass/get steps a run, $GET_ROUNDS rounds"
    run_get() { # side round
        local state
        state=$(masscast_run "$1" get "$2" "$OUT/get/get.yaml" --input "msg_id=$MSG_ID")
        python3 "$HERE/check.py" get-state "$state" "$STEPS" "$OUT/get/inprocess.jsonl" "$1" "$2" >>"$OUT/get/checks.txt" \
            || die "get round $2 ($1): the state is wrong"
    }
    run_get sqlite 0
    run_get postgres 0
    for round in $(seq "$GET_ROUNDS"); do
        if [ $((round % 2)) = 1 ]; then sides="sqlite postgres"; else sides="postgres sqlite"; fi
        for side in $sides; do run_get "$side" "$round"; done
    done
    stop_sandbox
fi

# 6. Journal throughput: one mass/send in 100 batches; a new sandbox for every run.
if [ "$ONLY" = all ] || [ "$ONLY" = million ]; then
    say "million: $OPENIDS OpenIDs, $ROUNDS rounds"
    run_million() { # side round
        local state
        start_sandbox "$OUT/million/sandbox-$1-$2.log"
        state=$(masscast_run "$1" million "$2" "$OUT/million/send.yaml")
        python3 "$HERE/check.py" send-state "$state" "$BATCHES" "$OUT/million/inprocess.jsonl" "$1" "$2" >>"$OUT/million/checks.txt" \
            || die "million round $2 ($1): the state is wrong"
        curl -sS "$S/sandbox/sends" >"$OUT/million/sends-$1-$2.json"
        python3 "$RUNNER/check.py" sends "$OUT/million/sends-$1-$2.json" "$BATCHES" "$OPENIDS" "$1 round $2" >>"$OUT/million/checks.txt" \
            || die "million round $2 ($1): the sandbox did not get the expected sends"
        stop_sandbox
    }
    run_million sqlite 0
    run_million postgres 0
    for round in $(seq "$ROUNDS"); do
        if [ $((round % 2)) = 1 ]; then sides="sqlite postgres"; else sides="postgres sqlite"; fi
        for side in $sides; do run_million "$side" "$round"; done
    done
fi

# 7. Wake-up latency: a listener process stores each push, the run's wait ends.
if [ "$ONLY" = all ] || [ "$ONLY" = wake ]; then
    start_sandbox "$OUT/wake/sandbox.log"
    say "wake: $WAKES wake-ups through PostgreSQL, then through a SQLite file"
    timeout 900 python3 "$HERE/wake.py" "$MASSCAST" "$OUT/masscast.yaml" "$OUT/wake/wake.yaml" "$(newdb bench_wake)" \
        "$WAKES" "$OUT/wake" postgres >"$OUT/wake/summary.jsonl" || die "the PostgreSQL wake-ups failed"
    timeout 900 python3 "$HERE/wake.py" "$MASSCAST" "$OUT/masscast.yaml" "$OUT/wake/wake.yaml" "$OUT/wake/state.sqlite" \
        "$WAKES" "$OUT/wake" sqlite >>"$OUT/wake/summary.jsonl" || die "the SQLite wake-ups failed"
    stop_sandbox
fi

echo "uptime after: $(uptime)" >>"$OUT/env.txt"
echo "swift-frontend processes after: $(pgrep -fc swift-frontend || true)" >>"$OUT/env.txt"
python3 "$HERE/report.py" "$OUT" | tee "$OUT/results.md"
