#!/usr/bin/env bash
# The runner benchmark (docs/benchmarks.md, "Runner: executor overhead and one million
# OpenIDs"). Two comparisons, each in alternating rounds of one run, against `masscast
# sandbox` (limits off) started as a separate process:
#   get:     `masscast run` of a pipeline of STEPS mass/get steps, next to the same calls
#            from runner-bench-bare (a bare AsyncHTTPClient loop). Target: ratio <= 1.3.
#   million: `masscast run` of one mass/send with a touser_file of OPENIDS OpenIDs (100
#            batches of 10,000), next to runner-bench-bare posting the same 100 bodies.
#            Targets: ratio <= 1.5, masscast's peak RSS <= 100 MB.
# Both sides are timed as whole processes (wall time, /usr/bin/time -v for peak RSS).
#
#   start:   (ONLY=start only) whole processes timed with hyperfine: a one-step run, a run
#            whose step is skipped, validate, --version, and the bare client's start and one
#            call; where a run's start goes (docs/benchmarks.md, "Issue 15, seventh pass").
# Settings (environment): GET_ROUNDS (10), ROUNDS (5, million rounds), STEPS (200),
# OPENIDS (1000000), ONLY (all | get | million | start), START_RUNS (40), PORT (a free port),
# MASSCAST and BARE (paths of prebuilt release binaries: skip the build).
set -euo pipefail

cd "$(dirname "$0")/../.."
HERE=Benchmarks/runner
OUT=$HERE/out
GET_ROUNDS=${GET_ROUNDS:-10}
ROUNDS=${ROUNDS:-5}
STEPS=${STEPS:-200}
OPENIDS=${OPENIDS:-1000000}
ONLY=${ONLY:-all}
APPID=wx8a3f2c71d905be46
SECRET=sandbox-secret-brand-main-0001
export BENCH_APP_SECRET=$SECRET

say() { printf '== %s\n' "$*" >&2; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }

# 1. Tools.
if [ ! -x /usr/bin/time ]; then
    say "installing time (GNU time, for peak RSS)"
    SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get install -y time >/dev/null 2>&1 || { $SUDO apt-get update >/dev/null && $SUDO apt-get install -y time >/dev/null; }
fi
command -v curl >/dev/null || die "curl is needed"
command -v python3 >/dev/null || die "python3 is needed"

# 2. Release builds in their own scratch paths (the shared debug .build stays free): masscast
# from the root package, the bare client from the nested package Benchmarks/Package.swift.
if [ -z "${MASSCAST:-}" ] || [ -z "${BARE:-}" ]; then
    say "building masscast (release, .build-bench)"
    nice swift build -c release --scratch-path .build-bench --product masscast >&2
    say "building runner-bench-bare (release, Benchmarks package, .build-bench/Benchmarks)"
    nice swift build -c release --package-path Benchmarks --scratch-path .build-bench/Benchmarks \
        --product runner-bench-bare >&2
    MASSCAST=${MASSCAST:-$(swift build -c release --scratch-path .build-bench --show-bin-path)/masscast}
    BARE=${BARE:-$(swift build -c release --package-path Benchmarks --scratch-path .build-bench/Benchmarks --show-bin-path)/runner-bench-bare}
fi
[ -x "$MASSCAST" ] || die "no masscast binary at $MASSCAST"
[ -x "$BARE" ] || die "no runner-bench-bare binary at $BARE"
if pgrep -f swift-frontend >/dev/null; then
    say "warning: a Swift compile is running on this machine; the numbers will be noisy"
fi

# Keep the OpenID file between runs (it takes a few seconds to write); everything else is new.
mkdir -p "$OUT"
find "$OUT" -mindepth 1 -maxdepth 1 ! -name "openids-$OPENIDS.txt" -exec rm -rf {} +
mkdir -p "$OUT/get" "$OUT/million"

PORT=${PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
S=http://127.0.0.1:$PORT
{
    echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
    echo "commit: $(git rev-parse --short HEAD) ($(git status --porcelain | wc -l) uncommitted paths)"
    echo "cpu: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "kernel: $(uname -sr)"
    echo "swift: $(swift --version 2>/dev/null | head -1)"
    echo "masscast: $MASSCAST"
    echo "bare: $BARE"
    echo "settings: GET_ROUNDS=$GET_ROUNDS ROUNDS=$ROUNDS STEPS=$STEPS OPENIDS=$OPENIDS port $PORT"
    echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "swift-frontend processes before: $(pgrep -fc swift-frontend || true)"
} >"$OUT/env.txt"

# 3. Inputs.
python3 "$HERE/gen.py" config "$OUT/masscast.yaml" "$S"
python3 "$HERE/gen.py" get "$OUT/get/get.yaml" "$STEPS"
python3 "$HERE/gen.py" get "$OUT/get/get1.yaml" 1
python3 "$HERE/gen.py" skip "$OUT/get/skip1.yaml"
OPENID_FILE=$OUT/openids-$OPENIDS.txt
if [ "$ONLY" = all ] || [ "$ONLY" = million ]; then
    if [ ! -s "$OPENID_FILE" ]; then
        say "writing $OPENIDS OpenIDs"
        python3 Benchmarks/audience/gen-openids.py "$OPENIDS" "$OPENID_FILE"
    fi
    cp "$OPENID_FILE" "$OUT/million/openids.txt"
    python3 "$HERE/gen.py" send "$OUT/million/send.yaml" openids.txt
    say "writing the bare client's bodies: $(python3 "$HERE/gen.py" bodies "$OUT/million/openids.txt" "$OUT/million/bodies")"
fi

# 4. The sandbox, a separate process, stopped on exit whatever happens.
SANDBOX_PID=
stop_sandbox() {
    [ -n "$SANDBOX_PID" ] || return 0
    kill -INT "$SANDBOX_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SANDBOX_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SANDBOX_PID" 2>/dev/null || true
    wait "$SANDBOX_PID" 2>/dev/null || true
    SANDBOX_PID=
}
trap stop_sandbox EXIT
trap 'exit 130' INT TERM
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
post() { curl -sS --fail --max-time 10 -H 'Content-Type: application/json' --data-binary "$2" "$1"; }
field() { python3 -c 'import json,sys; v=json.loads(sys.argv[1]).get(sys.argv[2]); print("" if v is None else v)' "$1" "$2"; }
timed() { python3 "$HERE/timed.py" "$@"; }

masscast_run() { # pipeline state stdout stderr results label round [args]
    local pipeline=$1 state=$2 out=$3 err=$4 results=$5 label=$6 round=$7
    shift 7
    timed "$results" "$label" "$round" "$out" "$err" -- \
        "$MASSCAST" run "$pipeline" --config "$OUT/masscast.yaml" --state "$state" --log-format json "$@"
}

# 5. Executor overhead: STEPS mass/get calls.
if [ "$ONLY" != million ]; then
    start_sandbox "$OUT/get/sandbox.log"
    answer=$(post "$S/cgi-bin/stable_token" "{\"grant_type\":\"client_credential\",\"appid\":\"$APPID\",\"secret\":\"$SECRET\"}")
    TOKEN=$(field "$answer" access_token)
    [ -n "$TOKEN" ] || die "no token from the sandbox: $answer"
    answer=$(post "$S/cgi-bin/message/mass/sendall?access_token=$TOKEN" \
        '{"filter":{"is_to_all":false,"tag_id":100},"msgtype":"text","text":{"content":"bench"},"clientmsgid":"runner-bench-1"}')
    MSG_ID=$(field "$answer" msg_id)
    [ -n "$MSG_ID" ] && [ "$(field "$answer" errcode)" = 0 ] || die "the send failed: $answer"
    for _ in $(seq 100); do
        answer=$(post "$S/cgi-bin/message/mass/get?access_token=$TOKEN" "{\"msg_id\":\"$MSG_ID\"}")
        [ "$(field "$answer" msg_status)" = SEND_SUCCESS ] && break
        sleep 0.2
    done
    [ "$(field "$answer" msg_status)" = SEND_SUCCESS ] || die "the job did not finish: $answer"
    say "get: msg_id $MSG_ID, $STEPS calls a run, $GET_ROUNDS rounds"

    R=$OUT/get/results.jsonl
    D=$OUT/get
    run_get() { # side round
        if [ "$1" = masscast ]; then
            masscast_run "$D/get.yaml" "$D/state-$2.sqlite" "$D/masscast-$2.out" "$D/masscast-$2.log" "$R" masscast "$2" \
                --input "msg_id=$MSG_ID" || die "masscast run failed in round $2 (see $D/masscast-$2.log)"
            python3 "$HERE/check.py" get-state "$D/state-$2.sqlite" "$STEPS" >>"$D/checks.txt" || die "round $2: masscast's state is wrong"
        else
            timed "$R" bare "$2" "$D/bare-$2.out" "$D/bare-$2.log" -- "$BARE" get "$S" "$APPID" "$SECRET" "$MSG_ID" "$STEPS" \
                || die "the bare client failed in round $2 (see $D/bare-$2.log)"
        fi
    }
    # Warm-up (round 0, discarded), then rounds; the side that goes first alternates.
    if [ "$ONLY" != start ]; then
        run_get masscast 0
        run_get bare 0
        for round in $(seq "$GET_ROUNDS"); do
            if [ $((round % 2)) = 1 ]; then sides="masscast bare"; else sides="bare masscast"; fi
            for side in $sides; do run_get "$side" "$round"; done
        done
    else
        # Where a run's start goes: whole processes side by side, a new state file each time.
        command -v hyperfine >/dev/null || die "hyperfine is needed for ONLY=start (apt-get install hyperfine)"
        START_RUNS=${START_RUNS:-40}
        ST=$D/start-state.sqlite
        fresh="rm -f $ST $ST-wal $ST-shm"
        run_args="--config $OUT/masscast.yaml --state $ST --log-format json"
        # Every timed command must succeed (hyperfine's -i is only for the bare client's
        # start, which exits 1 with its usage).
        for pipeline in get1 skip1; do
            $fresh
            "$MASSCAST" run "$D/$pipeline.yaml" $run_args --input "msg_id=$MSG_ID" >/dev/null 2>"$D/start-$pipeline.log" \
                || die "masscast run $pipeline.yaml failed (see $D/start-$pipeline.log)"
        done
        "$MASSCAST" validate "$D/get1.yaml" --config "$OUT/masscast.yaml" >/dev/null || die "masscast validate failed"
        "$BARE" get "$S" "$APPID" "$SECRET" "$MSG_ID" 1 >/dev/null || die "the bare client failed"
        say "start: $START_RUNS runs of each process"
        hyperfine -N -w 3 -r "$START_RUNS" --prepare "$fresh" --export-markdown "$D/start.md" --export-json "$D/start.json" \
            -n "masscast run, one mass/get step" "$MASSCAST run $D/get1.yaml $run_args --input msg_id=$MSG_ID" \
            -n "masscast run, one step skipped (no call)" "$MASSCAST run $D/skip1.yaml $run_args --input msg_id=$MSG_ID" \
            -n "masscast validate, the same pipeline and config" "$MASSCAST validate $D/get1.yaml --config $OUT/masscast.yaml" \
            -n "masscast --version" "$MASSCAST --version" \
            -n "bare: its token and one call" "$BARE get $S $APPID $SECRET $MSG_ID 1" \
            -n "bare: its start (no arguments)" "$BARE" \
            -i >&2
        stop_sandbox
        tee "$OUT/results.md" <"$D/start.md"
        exit 0
    fi
    curl -sS "$S/sandbox/sends" >"$D/sends.json"
    stop_sandbox
fi

# 6. One million OpenIDs: a fresh sandbox for every run, checked after it.
if [ "$ONLY" != get ]; then
    R=$OUT/million/results.jsonl
    D=$OUT/million
    BATCHES=$(ls "$D/bodies" | wc -l)
    say "million: $OPENIDS OpenIDs in $BATCHES batches, $ROUNDS rounds"
    run_million() { # side round
        start_sandbox "$D/sandbox-$1-$2.log"
        if [ "$1" = masscast ]; then
            masscast_run "$D/send.yaml" "$D/state-$2.sqlite" "$D/masscast-$2.out" "$D/masscast-$2.log" "$R" masscast "$2" \
                || die "masscast run failed in round $2 (see $D/masscast-$2.log)"
            python3 "$HERE/check.py" send-state "$D/state-$2.sqlite" "$BATCHES" >>"$D/checks.txt" || die "round $2: masscast's state is wrong"
        else
            timed "$R" bare "$2" "$D/bare-$2.out" "$D/bare-$2.log" -- "$BARE" send "$S" "$APPID" "$SECRET" "$D/bodies" \
                || die "the bare client failed in round $2 (see $D/bare-$2.log)"
        fi
        curl -sS "$S/sandbox/sends" >"$D/sends-$1-$2.json"
        python3 "$HERE/check.py" sends "$D/sends-$1-$2.json" "$BATCHES" "$OPENIDS" "$1 round $2" >>"$D/checks.txt" \
            || die "round $2 ($1): the sandbox did not get the expected sends"
        stop_sandbox
    }
    run_million masscast 0
    run_million bare 0
    for round in $(seq "$ROUNDS"); do
        if [ $((round % 2)) = 1 ]; then sides="masscast bare"; else sides="bare masscast"; fi
        for side in $sides; do run_million "$side" "$round"; done
    done
fi

echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/env.txt"
echo "swift-frontend processes after: $(pgrep -fc swift-frontend || true)" >>"$OUT/env.txt"
python3 "$HERE/report.py" "$OUT" | tee "$OUT/results.md"
