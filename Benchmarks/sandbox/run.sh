#!/usr/bin/env bash
# The sandbox benchmark: requests/s of `message/mass/get` against `masscast sandbox`
# (limits off), next to a minimal Hummingbird 2 route, with the same wrk and the same
# request, in alternating rounds of one run. See docs/benchmarks.md.
#
# Settings (environment): ROUNDS (5), DURATION (10s), THREADS (2), CONNECTIONS (32),
# WARMUP (3s), CHECK (5s), SANDBOX_PORT (18085), MINIMAL_PORT (18086), PROFILE (0; 1: one
# more sandbox run under `perf record -g`), MASSCAST and MINIMAL (paths of prebuilt
# binaries: skip the build).
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT=$(pwd)
HERE=Benchmarks/sandbox
OUT=$HERE/out
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
WARMUP=${WARMUP:-3s}
CHECK=${CHECK:-5s}
SANDBOX_PORT=${SANDBOX_PORT:-18085}
MINIMAL_PORT=${MINIMAL_PORT:-18086}
PROFILE=${PROFILE:-0}
APPID=wx8a3f2c71d905be46
SECRET=sandbox-secret-brand-main-0001

say() { printf '== %s\n' "$*" >&2; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }

# 1. wrk
if ! command -v wrk >/dev/null; then
    say "installing wrk"
    SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get install -y wrk >/dev/null 2>&1 || { $SUDO apt-get update >/dev/null && $SUDO apt-get install -y wrk >/dev/null; }
fi
command -v curl >/dev/null || die "curl is needed"

# 2. Release builds in their own scratch paths: masscast from the root package, the minimal
# route from the nested package Benchmarks/Package.swift. SwiftPM waits by itself when
# another build holds the lock of a scratch path.
if [ -z "${MASSCAST:-}" ] || [ -z "${MINIMAL:-}" ]; then
    say "building masscast (release, .build-bench)"
    nice swift build -c release --scratch-path .build-bench --product masscast >&2
    say "building sandbox-bench-minimal (release, Benchmarks package, .build-bench/Benchmarks)"
    nice swift build -c release --package-path Benchmarks --scratch-path .build-bench/Benchmarks \
        --product sandbox-bench-minimal >&2
    MASSCAST=${MASSCAST:-$(swift build -c release --scratch-path .build-bench --show-bin-path)/masscast}
    MINIMAL=${MINIMAL:-$(swift build -c release --package-path Benchmarks --scratch-path .build-bench/Benchmarks --show-bin-path)/sandbox-bench-minimal}
fi
[ -x "$MASSCAST" ] || die "no masscast binary at $MASSCAST"
[ -x "$MINIMAL" ] || die "no sandbox-bench-minimal binary at $MINIMAL"

rm -rf "$OUT"
mkdir -p "$OUT"

# 3. Both servers, stopped on exit whatever happens.
SANDBOX_PID=
MINIMAL_PID=
PERF_PID=
cleanup() {
    for pid in $PERF_PID $SANDBOX_PID $MINIMAL_PID; do
        kill -INT "$pid" 2>/dev/null || true
    done
    for pid in $PERF_PID $SANDBOX_PID $MINIMAL_PID; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$MASSCAST" sandbox --port "$SANDBOX_PORT" --fixture "$HERE/bench-fixture.yaml" 2>"$OUT/sandbox.log" &
SANDBOX_PID=$!
"$MINIMAL" "$MINIMAL_PORT" 2>"$OUT/minimal.log" &
MINIMAL_PID=$!

wait_listening() { # name pid log
    for _ in $(seq 300); do
        grep -q "listening on" "$3" 2>/dev/null && return 0
        kill -0 "$2" 2>/dev/null || { cat "$3" >&2; die "$1 exited before listening"; }
        sleep 0.1
    done
    cat "$3" >&2
    die "$1 did not listen within 30 s"
}
wait_listening sandbox "$SANDBOX_PID" "$OUT/sandbox.log"
wait_listening minimal "$MINIMAL_PID" "$OUT/minimal.log"

post() { # url body
    curl -sS --fail --max-time 10 -H 'Content-Type: application/json' --data-binary "$2" "$1"
}
field() { # json key
    python3 -c 'import json,sys; v=json.loads(sys.argv[1]).get(sys.argv[2]); print("" if v is None else v)' "$1" "$2"
}

# 4. A token, one send, and its msg_id; wait until the job has finished so that every timed
# call reads the same answer.
S=http://127.0.0.1:$SANDBOX_PORT
M=http://127.0.0.1:$MINIMAL_PORT
answer=$(post "$S/cgi-bin/stable_token" "{\"grant_type\":\"client_credential\",\"appid\":\"$APPID\",\"secret\":\"$SECRET\"}")
TOKEN=$(field "$answer" access_token)
[ -n "$TOKEN" ] || die "no token from the sandbox: $answer"
answer=$(post "$S/cgi-bin/message/mass/sendall?access_token=$TOKEN" \
    '{"filter":{"is_to_all":false,"tag_id":100},"msgtype":"text","text":{"content":"bench"},"clientmsgid":"bench-1"}')
MSG_ID=$(field "$answer" msg_id)
[ -n "$MSG_ID" ] && [ "$(field "$answer" errcode)" = 0 ] || die "the send failed: $answer"
say "token ok, msg_id $MSG_ID"

PATH_Q="/cgi-bin/message/mass/get?access_token=$TOKEN"
BODY="{\"msg_id\":\"$MSG_ID\"}"
for _ in $(seq 100); do
    answer=$(post "$S$PATH_Q" "$BODY")
    [ "$(field "$answer" msg_status)" = SEND_SUCCESS ] && break
    sleep 0.2
done
[ "$(field "$answer" msg_status)" = SEND_SUCCESS ] || die "the job did not finish: $answer"
SANDBOX_EXPECTED=$answer
MINIMAL_EXPECTED=$(post "$M$PATH_Q" "$BODY")
say "sandbox answers $SANDBOX_EXPECTED; minimal answers $MINIMAL_EXPECTED"

# The one request of every run: same method, path, headers and body for both servers.
cat >"$OUT/mass-get.lua" <<LUA
-- POST $PATH_Q, generated by run.sh.
wrk.method = "POST"
wrk.body = '$BODY'
wrk.headers["Content-Type"] = "application/json"
LUA
# The checking script: the same request, plus a comparison of every answer with the
# expected body (its response() costs wrk time, so it is not used for the timed runs).
cat "$OUT/mass-get.lua" - >"$OUT/mass-get-check.lua" <<'LUA'
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) expected = args[1]; good = 0; bad = 0; sample = "" end
function response(status, headers, body)
  if status == 200 and body == expected then good = good + 1
  else
    bad = bad + 1
    if sample == "" then sample = status .. " " .. tostring(body) end
  end
end
function done(summary, latency, requests)
  local g, b, s = 0, 0, ""
  for _, t in ipairs(threads) do
    g = g + t:get("good"); b = b + t:get("bad")
    if s == "" then s = t:get("sample") end
  end
  io.write(string.format("check: %d answers as expected, %d not%s\n", g, b, b > 0 and (" (first: " .. s .. ")") or ""))
end
LUA

cpu_ticks() { # pid: user + system CPU time of the process, in clock ticks
    awk '{ print $14 + $15 }' "/proc/$1/stat"
}
run_wrk() { # target duration outfile [script args...]
    local target=$1 duration=$2 file=$3 base pid before
    shift 3
    if [ "$target" = sandbox ]; then base=$S pid=$SANDBOX_PID; else base=$M pid=$MINIMAL_PID; fi
    before=$(cpu_ticks "$pid")
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$duration" --latency -s "${SCRIPT:-$OUT/mass-get.lua}" "$base$PATH_Q" "$@" >"$file" 2>&1
    # The server's CPU time during the run (read by report.py).
    echo "server cpu: $(( $(cpu_ticks "$pid") - before )) ticks of 1/$(getconf CLK_TCK) s" >>"$file"
}

{
    echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
    echo "commit: $(git rev-parse --short HEAD) ($(git status --porcelain | wc -l) uncommitted paths)"
    echo "cpu: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "kernel: $(uname -sr)"
    echo "swift: $(swift --version 2>/dev/null | head -1)"
    echo "wrk: $(wrk -v 2>&1 | head -1 | awk '{print $2}') -t$THREADS -c$CONNECTIONS -d$DURATION --latency, $ROUNDS rounds"
    echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$OUT/env.txt"

# 5. Warm-up (discarded), then alternating rounds, then the checking runs.
say "warm-up $WARMUP each"
run_wrk sandbox "$WARMUP" "$OUT/warmup-sandbox.txt"
run_wrk minimal "$WARMUP" "$OUT/warmup-minimal.txt"
for round in $(seq "$ROUNDS"); do
    for target in sandbox minimal; do
        say "round $round/$ROUNDS: $target $DURATION"
        run_wrk "$target" "$DURATION" "$OUT/round-$round-$target.txt"
        grep -E "Requests/sec|Non-2xx|Socket errors" "$OUT/round-$round-$target.txt" | sed 's/^/   /' >&2 || true
    done
    # The token and the job are still what the rounds assume.
    [ "$(post "$S$PATH_Q" "$BODY")" = "$SANDBOX_EXPECTED" ] || die "the sandbox's answer changed after round $round"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/env.txt"
say "checking runs $CHECK each (every answer compared)"
SCRIPT=$OUT/mass-get-check.lua run_wrk sandbox "$CHECK" "$OUT/check-sandbox.txt" "$SANDBOX_EXPECTED"
SCRIPT=$OUT/mass-get-check.lua run_wrk minimal "$CHECK" "$OUT/check-minimal.txt" "$MINIMAL_EXPECTED"

if [ "$PROFILE" = 1 ]; then
    for target in sandbox minimal; do
        if [ "$target" = sandbox ]; then pid=$SANDBOX_PID; else pid=$MINIMAL_PID; fi
        say "profiling the $target: perf record -g during one more $DURATION run"
        perf record -F 999 -g -p "$pid" -o "$OUT/perf-$target.data" 2>"$OUT/perf-record-$target.log" &
        PERF_PID=$!
        sleep 1
        run_wrk "$target" "$DURATION" "$OUT/profile-$target.txt"
        kill -INT "$PERF_PID"; wait "$PERF_PID" 2>/dev/null || true; PERF_PID=
        # Self time per symbol, and the inclusive (children) view.
        perf report -i "$OUT/perf-$target.data" --no-children --percent-limit 0.3 --stdio -g none 2>/dev/null \
            | swift demangle --simplified >"$OUT/perf-$target-self.txt" || true
        perf report -i "$OUT/perf-$target.data" --children --percent-limit 0.3 --stdio -g none 2>/dev/null \
            | swift demangle --simplified >"$OUT/perf-$target-children.txt" || true
    done
fi

# 6. Stop the servers (the trap), then the report.
cleanup
SANDBOX_PID= MINIMAL_PID=
python3 "$HERE/report.py" "$OUT" | tee "$OUT/results.md"
