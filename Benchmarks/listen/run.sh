#!/usr/bin/env bash
# The listener benchmark: encrypted MASSSENDJOBFINISH pushes verified, decrypted and stored
# per second by `masscast listen` under a bounded loopback load, next to wechatpy's
# decrypt-and-parse loop over the same messages, in alternating rounds of one run.
# See docs/benchmarks.md ("masscast listen against wechatpy").
#
# Settings (environment): COUNT (20000 pushes a round), ROUNDS (5), CONNECTIONS (16),
# SEED (1; round r uses SEED+r-1), WINDOW (5m, the listener's --timestamp-window),
# QUIET_WAIT (1800: seconds to wait for other benchmarks and builds to finish before each
# round), SWEEP (empty; e.g. "1 4 16 64": the listener alone at those connection counts,
# after the rounds), PROFILE (0; 1: one more listener run under `perf record -g`),
# PROFILE_COUNT (COUNT), KEEP (0; 1 keeps every round's request file and log), MASSCAST (a
# prebuilt binary: skip the build).
set -euo pipefail

cd "$(dirname "$0")/../.."
HERE=Benchmarks/listen
OUT=$HERE/out
COUNT=${COUNT:-20000}
ROUNDS=${ROUNDS:-5}
CONNECTIONS=${CONNECTIONS:-16}
SEED=${SEED:-1}
WINDOW=${WINDOW:-5m}
QUIET_WAIT=${QUIET_WAIT:-1800}
PROFILE=${PROFILE:-0}
SWEEP=${SWEEP:-}
PROFILE_COUNT=${PROFILE_COUNT:-$COUNT}
KEEP=${KEEP:-0}

# The benchmark account's secrets (the sandbox fixture's test values, as in gen_pushes.py),
# read by bench-config.yaml. app_secret is required by the format, unused by listen.
export BENCH_CALLBACK_TOKEN=sandbox-callback-token
export BENCH_AES_KEY=lTjyF/U3G2ZnGR7yZn47jiJFJylXlCsD2LjTOzO07Z4
export BENCH_APP_SECRET=unused-by-listen

say() { printf '== %s\n' "$*" >&2; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }

# 1. Tools: a C compiler, curl, python3 with wechatpy 1.8.18 (the real interpreter, not a
# pyenv shim), perf for PROFILE=1.
command -v cc >/dev/null || die "a C compiler (cc) is needed"
command -v curl >/dev/null || die "curl is needed"
PY=$(python3 -c 'import sys; print(sys.executable)')
if ! "$PY" -c 'import wechatpy, wechatpy.crypto, cryptography, xmltodict; assert wechatpy.__version__ == "1.8.18"' 2>/dev/null; then
    say "installing wechatpy 1.8.18 and cryptography with pip"
    "$PY" -m pip install -q "wechatpy==1.8.18" cryptography >&2
fi
[ "$PROFILE" = 1 ] && { command -v perf >/dev/null || die "PROFILE=1 needs perf"; }

# 2. masscast in release, in the shared release scratch path (SwiftPM waits by itself when
# another build holds its lock); and the load client.
if [ -z "${MASSCAST:-}" ]; then
    say "building masscast (release, .build-bench)"
    nice swift build -c release --scratch-path .build-bench --product masscast >&2
    MASSCAST=$(swift build -c release --scratch-path .build-bench --show-bin-path)/masscast
fi
[ -x "$MASSCAST" ] || die "no masscast binary at $MASSCAST"

rm -rf "$OUT"
mkdir -p "$OUT"
cc -O2 -Wall -o "$OUT/load" "$HERE/load.c"

# 3. The listener of a round, stopped on exit whatever happens.
LISTENER_PID=
PERF_PID=
stop_pid() { # pid
    kill -INT "$1" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}
cleanup() {
    [ -n "$PERF_PID" ] && stop_pid "$PERF_PID"
    [ -n "$LISTENER_PID" ] && stop_pid "$LISTENER_PID"
    PERF_PID= LISTENER_PID=
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Other benchmarks and builds on this shared machine would take the cores the rounds
# measure: wait (at most QUIET_WAIT seconds) until none runs.
BUSY_PATTERN='Benchmarks/(runner|sandbox|validate)/run.sh|swift-build|swift-frontend|swift-test|PackageTests.xctest|\.ci/run'
wait_quiet() {
    local waited=0
    while pgrep -f "$BUSY_PATTERN" >/dev/null; do
        if [ "$waited" -ge "$QUIET_WAIT" ]; then
            say "still busy after ${QUIET_WAIT}s; going on (noted in the results)"
            echo "busy: $(pgrep -fa "$BUSY_PATTERN" | cut -c1-120 | tr '\n' ';')" >>"$1"
            return
        fi
        [ "$waited" = 0 ] && say "waiting for: $(pgrep -fa "$BUSY_PATTERN" | awk '{print $2, $3}' | sort -u | tr '\n' ' ')"
        sleep 10; waited=$((waited + 10))
    done
    [ "$waited" -gt 0 ] && echo "waited ${waited}s for other builds/benchmarks" >>"$1"
    return 0
}

machine_ticks() { # busy and total jiffies of all CPUs (from /proc/stat)
    awk '/^cpu /{ busy = $2 + $3 + $4 + $7 + $8 + $9; total = busy + $5 + $6; print busy, total; exit }' /proc/stat
}
process_ticks() { # pid: user + system CPU time, in clock ticks
    awk '{ print $14 + $15 }' "/proc/$1/stat"
}
TCK=$(getconf CLK_TCK)

run_masscast() { # dir count
    local dir=$1 count=$2 port before after mb_busy mb_total ma_busy ma_total listener
    rm -f "$dir"/state.sqlite*
    "$MASSCAST" listen --config "$HERE/bench-config.yaml" --state "$dir/state.sqlite" --port 0 \
        --timestamp-window "$WINDOW" --log-format json 2>"$dir/listen.log" &
    LISTENER_PID=$!
    port=
    for _ in $(seq 300); do
        port=$(grep -o '"listen.port":[0-9]*' "$dir/listen.log" 2>/dev/null | head -1 | cut -d: -f2 || true)
        [ -n "$port" ] && break
        kill -0 "$LISTENER_PID" 2>/dev/null || { cat "$dir/listen.log" >&2; die "the listener exited before listening"; }
        sleep 0.1
    done
    [ -n "$port" ] || die "the listener did not listen within 30 s"
    curl -sS --fail --max-time 5 "http://127.0.0.1:$port/healthz" >/dev/null || die "the listener's /healthz failed"
    if [ -n "${PERF_OUT:-}" ]; then
        perf record -F 999 -g -p "$LISTENER_PID" -o "$PERF_OUT" 2>"$dir/perf-record.log" &
        PERF_PID=$!
        sleep 1
    fi
    "$PY" "$HERE/procs.py" snapshot "$dir/procs-before.json"
    read -r mb_busy mb_total < <(machine_ticks)
    before=$(process_ticks "$LISTENER_PID")
    "$OUT/load" "$port" "$dir/requests.txt" "$CONNECTIONS" >"$dir/load.json" \
        || { cat "$dir/load.json" >&2; die "not every answer was 200 success (see $dir/load.json)"; }
    after=$(process_ticks "$LISTENER_PID")
    read -r ma_busy ma_total < <(machine_ticks)
    "$PY" "$HERE/procs.py" snapshot "$dir/procs-after.json"
    [ -n "$PERF_PID" ] && { stop_pid "$PERF_PID"; PERF_PID=; }
    curl -sS --fail --max-time 5 "http://127.0.0.1:$port/metrics" >"$dir/metrics.txt" || die "no /metrics"
    local listener=$LISTENER_PID
    stop_pid "$LISTENER_PID"
    LISTENER_PID=
    {
        echo "server_cpu_ticks $((after - before))"
        echo "clk_tck $TCK"
        echo "machine_busy_ticks $((ma_busy - mb_busy))"
        echo "machine_total_ticks $((ma_total - mb_total))"
    } >"$dir/masscast-cpu.txt"
    echo "others during masscast: $("$PY" "$HERE/procs.py" diff "$dir/procs-before.json" "$dir/procs-after.json" \
        "$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["seconds"])' "$dir/load.json")" $$ "$listener")" >>"$dir/notes.txt"
    # What was stored: exactly the generated MsgIDs, once each.
    "$PY" "$HERE/check.py" "$dir" "$count" >"$dir/check.txt" || { cat "$dir/check.txt" >&2; die "the inbox check failed in $dir"; }
}

run_wechatpy() { # dir
    local dir=$1 mb_busy mb_total ma_busy ma_total
    "$PY" "$HERE/procs.py" snapshot "$dir/procs-before.json"
    read -r mb_busy mb_total < <(machine_ticks)
    "$PY" "$HERE/peer.py" "$dir/requests.txt" >"$dir/peer.json" || die "the wechatpy peer failed"
    read -r ma_busy ma_total < <(machine_ticks)
    "$PY" "$HERE/procs.py" snapshot "$dir/procs-after.json"
    echo "others during wechatpy: $("$PY" "$HERE/procs.py" diff "$dir/procs-before.json" "$dir/procs-after.json" \
        "$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["seconds"])' "$dir/peer.json")" $$)" >>"$dir/notes.txt"
    {
        echo "clk_tck $TCK"
        echo "machine_busy_ticks $((ma_busy - mb_busy))"
        echo "machine_total_ticks $((ma_total - mb_total))"
    } >"$dir/peer-cpu.txt"
}

{
    echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
    echo "commit: $(git rev-parse --short HEAD) ($(git status --porcelain -- Sources Package.swift | wc -l) uncommitted paths under Sources/ and Package.swift)"
    echo "cpu: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "kernel: $(uname -sr)"
    echo "swift: $(swift --version 2>/dev/null | head -1)"
    echo "python: $("$PY" --version 2>&1), wechatpy $("$PY" -c 'import wechatpy; print(wechatpy.__version__)'), cryptography $("$PY" -c 'import cryptography; from cryptography.hazmat.backends.openssl.backend import backend; print(cryptography.__version__, "(" + backend.openssl_version_text() + ")")'), xmltodict $("$PY" -c 'from importlib.metadata import version; print(version("xmltodict"))')"
    echo "masscast links: $(ldd "$MASSCAST" | grep -o 'libsqlite3[^ ]*' | head -1) ($(dpkg-query -W -f='libsqlite3-0 ${Version}' libsqlite3-0 2>/dev/null || echo 'version unknown'))"
    echo "packages: $("$PY" -c 'import json; pins = {p["identity"]: p["state"].get("version", "?") for p in json.load(open("Package.resolved"))["pins"]}; print(", ".join("%s %s" % (n, pins.get(n, "?")) for n in ["swift-nio", "hummingbird", "swift-crypto", "grdb.swift"]))')"
    echo "settings: COUNT=$COUNT ROUNDS=$ROUNDS CONNECTIONS=$CONNECTIONS SEED=$SEED WINDOW=$WINDOW${SWEEP:+ SWEEP=\"$SWEEP\"}"
    echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$OUT/env.txt"

# 4. The rounds: fresh pushes (timestamp now), then masscast and wechatpy over the same
# file, the order alternating from round to round.
for round in $(seq "$ROUNDS"); do
    dir=$OUT/round-$round
    mkdir -p "$dir"
    wait_quiet "$dir/notes.txt"
    echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$dir/notes.txt"
    say "round $round/$ROUNDS: generating $COUNT pushes (wechatpy encrypt_message)"
    "$PY" "$HERE/gen_pushes.py" --count "$COUNT" --seed $((SEED + round - 1)) --out "$dir/requests.txt" 2>"$dir/gen.json"
    if [ $((round % 2)) = 1 ]; then order="masscast wechatpy"; else order="wechatpy masscast"; fi
    for side in $order; do
        say "round $round/$ROUNDS: $side"
        if [ "$side" = masscast ]; then run_masscast "$dir" "$COUNT"; else run_wechatpy "$dir"; fi
    done
    echo "order: $order" >>"$dir/notes.txt"
    echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$dir/notes.txt"
    "$PY" "$HERE/report.py" --round "$dir" >&2
    if [ "$KEEP" != 1 ]; then rm -f "$dir/requests.txt"; [ "$round" -lt "$ROUNDS" ] && rm -f "$dir/listen.log"; fi
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/env.txt"

# 5. Optionally, the listener alone at other connection counts (SWEEP="1 4 16 64"): one
# fresh listener and COUNT fresh pushes per count, checked like the rounds; no wechatpy.
for connections in $SWEEP; do
    dir=$OUT/sweep-$connections
    mkdir -p "$dir"
    wait_quiet "$dir/notes.txt"
    say "sweep: $connections connections"
    "$PY" "$HERE/gen_pushes.py" --count "$COUNT" --seed $((SEED + 100 + connections)) --out "$dir/requests.txt" 2>"$dir/gen.json"
    CONNECTIONS=$connections run_masscast "$dir" "$COUNT"
    [ "$KEEP" = 1 ] || rm -f "$dir/requests.txt" "$dir/listen.log"
done

# 6. Optionally one more listener run under perf (not counted in the rounds).
if [ "$PROFILE" = 1 ]; then
    dir=$OUT/profile
    mkdir -p "$dir"
    wait_quiet "$dir/notes.txt"
    say "profile: $PROFILE_COUNT pushes under perf record -g"
    "$PY" "$HERE/gen_pushes.py" --count "$PROFILE_COUNT" --seed 999 --out "$dir/requests.txt" 2>"$dir/gen.json"
    PERF_OUT=$dir/perf.data run_masscast "$dir" "$PROFILE_COUNT"
    perf report -i "$dir/perf.data" --no-children --percent-limit 0.3 --stdio -g none 2>/dev/null \
        | swift demangle --simplified >"$dir/perf-self.txt" || true
    perf report -i "$dir/perf.data" --children --percent-limit 0.3 --stdio -g none 2>/dev/null \
        | swift demangle --simplified >"$dir/perf-children.txt" || true
    perf report -i "$dir/perf.data" --no-children --sort comm --stdio -g none 2>/dev/null >"$dir/perf-threads.txt" || true
    perf script -i "$dir/perf.data" -F comm,ip,sym 2>/dev/null | swift demangle --simplified >"$dir/perf-script.txt" || true
    cpu_us=$("$PY" -c 'import sys; v = dict(l.split() for l in open(sys.argv[1])); print(1e6 * float(v["server_cpu_ticks"]) / float(v["clk_tck"]) / int(sys.argv[2]))' \
        "$dir/masscast-cpu.txt" "$PROFILE_COUNT")
    "$PY" "$HERE/perf_groups.py" "$dir/perf-script.txt" "$cpu_us" >"$dir/profile.md"
    say "profile: $("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["per_second"])' "$dir/load.json") pushes/s under perf, $cpu_us µs CPU per push"
    cat "$dir/profile.md" >&2
    [ "$KEEP" = 1 ] || rm -f "$dir/requests.txt" "$dir/perf-script.txt"
fi

# 7. The report.
"$PY" "$HERE/report.py" "$OUT" | tee "$OUT/results.md"
