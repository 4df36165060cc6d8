#!/usr/bin/env bash
# The sandbox benchmark's floor, and the floor under it: requests/s and server CPU per
# request of the minimal Hummingbird 2 route (sandbox-bench-minimal) next to the same answer
# from SwiftNIO's HTTP/1.1 pipeline and one channel handler (sandbox-bench-nio), with the
# same wrk and request as run.sh, in alternating rounds of one run. The difference is what
# the framework costs a request (router, request context, a task per request, response
# writer); the rest is NIO (sockets, HTTP parsing, writes). See docs/benchmarks.md.
#
# Settings (environment): ROUNDS (5), DURATION (10s), THREADS (2), CONNECTIONS (32),
# WARMUP (3s), MINIMAL_PORT (18086), NIO_PORT (18087), MINIMAL and NIO (paths of prebuilt
# binaries: skip the build).
set -euo pipefail

cd "$(dirname "$0")/../.."
HERE=Benchmarks/sandbox
OUT=$HERE/out-floors
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
WARMUP=${WARMUP:-3s}
MINIMAL_PORT=${MINIMAL_PORT:-18086}
NIO_PORT=${NIO_PORT:-18087}

say() { printf '== %s\n' "$*" >&2; }
die() { printf 'floors.sh: %s\n' "$*" >&2; exit 1; }

command -v wrk >/dev/null || die "wrk is needed (apt-get install wrk)"
command -v curl >/dev/null || die "curl is needed"
if [ -z "${MINIMAL:-}" ] || [ -z "${NIO:-}" ]; then
    for product in sandbox-bench-minimal sandbox-bench-nio; do
        say "building $product (release, Benchmarks package, .build-bench/Benchmarks)"
        nice swift build -c release --package-path Benchmarks --scratch-path .build-bench/Benchmarks --product "$product" >&2
    done
    BIN=$(swift build -c release --package-path Benchmarks --scratch-path .build-bench/Benchmarks --show-bin-path)
    MINIMAL=${MINIMAL:-$BIN/sandbox-bench-minimal}
    NIO=${NIO:-$BIN/sandbox-bench-nio}
fi
[ -x "$MINIMAL" ] || die "no sandbox-bench-minimal binary at $MINIMAL"
[ -x "$NIO" ] || die "no sandbox-bench-nio binary at $NIO"

rm -rf "$OUT"
mkdir -p "$OUT"
MINIMAL_PID=
NIO_PID=
cleanup() {
    for pid in $MINIMAL_PID $NIO_PID; do kill "$pid" 2>/dev/null || true; done
    for pid in $MINIMAL_PID $NIO_PID; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
"$MINIMAL" "$MINIMAL_PORT" 2>"$OUT/minimal.log" &
MINIMAL_PID=$!
"$NIO" "$NIO_PORT" 2>"$OUT/nio.log" &
NIO_PID=$!
for name in minimal nio; do
    for _ in $(seq 100); do grep -q "listening on" "$OUT/$name.log" && break; sleep 0.1; done
    grep -q "listening on" "$OUT/$name.log" || die "the $name server did not start: $(cat "$OUT/$name.log")"
done

PATH_Q="/cgi-bin/message/mass/get?access_token=floors"
BODY='{"msg_id":"1000000001"}'
post() { curl -sS --fail --max-time 10 -H 'Content-Type: application/json' --data-binary "$BODY" "$1$PATH_Q"; }
A=$(post "http://127.0.0.1:$MINIMAL_PORT")
B=$(post "http://127.0.0.1:$NIO_PORT")
[ "$A" = "$B" ] || die "the two servers answer differently: $A / $B"
say "both answer $A"
cat >"$OUT/mass-get.lua" <<LUA
wrk.method = "POST"
wrk.body = '$BODY'
wrk.headers["Content-Type"] = "application/json"
LUA

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
run_wrk() { # target duration outfile
    local pid port before
    if [ "$1" = minimal ]; then pid=$MINIMAL_PID port=$MINIMAL_PORT; else pid=$NIO_PID port=$NIO_PORT; fi
    before=$(cpu_ticks "$pid")
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$2" --latency -s "$OUT/mass-get.lua" "http://127.0.0.1:$port$PATH_Q" >"$3" 2>&1
    echo "server cpu: $(( $(cpu_ticks "$pid") - before )) ticks of 1/$(getconf CLK_TCK) s" >>"$3"
}

{
    echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
    echo "commit: $(git rev-parse --short HEAD) ($(git status --porcelain | wc -l) uncommitted paths)"
    echo "cpu: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "wrk: -t$THREADS -c$CONNECTIONS -d$DURATION, $ROUNDS rounds"
    echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$OUT/env.txt"
run_wrk minimal "$WARMUP" "$OUT/warmup-minimal.txt"
run_wrk nio "$WARMUP" "$OUT/warmup-nio.txt"
for round in $(seq "$ROUNDS"); do
    if [ $((round % 2)) = 1 ]; then targets="minimal nio"; else targets="nio minimal"; fi
    for target in $targets; do
        say "round $round/$ROUNDS: $target $DURATION"
        run_wrk "$target" "$DURATION" "$OUT/round-$round-$target.txt"
    done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/env.txt"
cleanup
MINIMAL_PID= NIO_PID=

python3 - "$OUT" "$ROUNDS" <<'PY' | tee "$OUT/results.md"
import os, re, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
tck = os.sysconf("SC_CLK_TCK")
def read(path):
    text = open(path).read()
    rate = float(re.search(r"Requests/sec:\s+([0-9.]+)", text).group(1))
    total = int(re.search(r"([0-9]+) requests in", text).group(1))
    ticks = int(re.search(r"server cpu: ([0-9]+) ticks", text).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: ([0-9]+)|Socket errors: (.*)", text)
    return rate, ticks / tck / total * 1e6, errors.group(0) if errors else ""
rows = {t: [read(f"{out}/round-{r}-{t}.txt") for r in range(1, rounds + 1)] for t in ("minimal", "nio")}
print("## Sandbox floors: a minimal Hummingbird route and bare SwiftNIO\n")
print("```\n" + open(f"{out}/env.txt").read().strip() + "\n```\n")
print("| round | Hummingbird req/s | NIO req/s | rate, Hummingbird / NIO | Hummingbird CPU µs/req | NIO CPU µs/req | CPU, NIO / Hummingbird |")
print("|---:|---:|---:|---:|---:|---:|---:|")
for i in range(rounds):
    (ha, hc, he), (na, nc, ne) = rows["minimal"][i], rows["nio"][i]
    print(f"| {i + 1} | {ha:,.0f} | {na:,.0f} | {ha / na:.3f} | {hc:.1f} | {nc:.1f} | {nc / hc:.3f} |")
mh = statistics.median(r[0] for r in rows["minimal"]); mn = statistics.median(r[0] for r in rows["nio"])
ch = statistics.median(r[1] for r in rows["minimal"]); cn = statistics.median(r[1] for r in rows["nio"])
print(f"| **median** | **{mh:,.0f}** | **{mn:,.0f}** | **{mh / mn:.3f}** | **{ch:.1f}** | **{cn:.1f}** | **{cn / ch:.3f}** |\n")
errors = [e for t in rows for (_, _, e) in rows[t] if e]
print(f"- Hummingbird's rate is {mh / mn:.3f} of bare NIO's; its server CPU per request {ch:.1f} µs against {cn:.1f} µs: the framework costs about {ch - cn:.1f} µs a request ({(ch - cn) / ch * 100:.0f}% of the minimal route's CPU).")
print(f"- Errors: {'; '.join(errors) if errors else 'none (no non-2xx answer, no socket error)'}.")
PY
