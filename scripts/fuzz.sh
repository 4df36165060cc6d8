#!/usr/bin/env bash
# Fuzz one of masscast's input readers with libFuzzer (Linux, Swift with its sanitizer runtimes).
#
#   scripts/fuzz.sh TARGET SECONDS [--smoke]   TARGET: yaml | expression | push | audience
#   scripts/fuzz.sh all SECONDS [--smoke]      each target in turn, SECONDS each
#
# --smoke (CI): the corpus and Fuzz/runs.tsv are left as they are; only a crash counts.
#
# Builds Fuzz/ (a package of its own) in release mode with -sanitize=fuzzer,address into
# .build-fuzz, runs the target for SECONDS on a copy of its corpus Fuzz/corpus/TARGET, then
# merges the inputs that reached new code back into Fuzz/corpus/TARGET. A crash, a
# timeout (10 s) or running out of memory (2 GB) stops the run: the input is kept in
# Fuzz/crashes/TARGET/ and the script exits 1 (copy it into the corpus once fixed).
# Each finished run appends one line to Fuzz/runs.tsv and prints it:
#   date  target  seconds  execs  execs/s  corpus_files  corpus_bytes  new_inputs  result
# Exit 77 (and a message) when the toolchain has no libFuzzer runtime.
set -uo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: scripts/fuzz.sh yaml|expression|push|audience|all SECONDS [--smoke]" >&2; exit 2; }
[ $# -eq 2 ] || [ $# -eq 3 ] || usage
target=$1 seconds=$2 smoke=${3:-}
[ -z "$smoke" ] || [ "$smoke" = --smoke ] || usage
case "$seconds" in ''|*[!0-9]*) usage ;; esac
if [ "$target" = all ]; then
    status=0
    for t in yaml expression push audience; do
        "$0" "$t" "$seconds" $smoke; rc=$?
        [ $rc -eq 77 ] && exit 77
        [ $rc -eq 0 ] || status=1
    done
    exit $status
fi
case "$target" in yaml|expression|push|audience) ;; *) usage ;; esac

swift_bin=$(command -v swift) || { echo "fuzz: swift is not on PATH" >&2; exit 77; }
toolchain=$(dirname "$(dirname "$(readlink -f "$swift_bin")")")
runtime=$(ls "$toolchain"/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a 2>/dev/null | head -1)
if [ -z "$runtime" ]; then
    echo "fuzz: skipped: this toolchain ($toolchain) has no libclang_rt.fuzzer-x86_64.a (libFuzzer runtime)" >&2
    exit 77
fi

scratch=.build-fuzz
product=fuzz-$target
echo "fuzz: building $product (release, -sanitize=fuzzer,address)" >&2
build_start=$(date +%s)
mkdir -p "$scratch"
if ! swift build -c release --package-path Fuzz --scratch-path "$scratch" \
        -Xswiftc -sanitize=fuzzer,address --product "$product" >"$scratch/build-$target.log" 2>&1; then
    tail -30 "$scratch/build-$target.log" >&2
    echo "fuzz: the build failed (full log: $scratch/build-$target.log)" >&2
    exit 2
fi
echo "fuzz: built in $(( $(date +%s) - build_start )) s" >&2
binary=$scratch/release/$product

corpus=Fuzz/corpus/$target
crashes=Fuzz/crashes/$target
work=$scratch/work/$target
mkdir -p "$corpus" "$crashes"
rm -rf "$work"; mkdir -p "$work"
cp "$corpus"/* "$work"/ 2>/dev/null || true
before=$(ls "$corpus" | wc -l)

log=$scratch/$target.log
echo "fuzz: running $product for $seconds s on $before corpus inputs (log: $log)" >&2
# Leak checking is off: Swift's lazily built globals (specs, tables) live to the end of the
# process and LeakSanitizer reports them at exit; growth is caught by -rss_limit_mb instead.
ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=0 \
"$binary" "$work" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="$crashes/" >"$log" 2>&1
rc=$?
result=ok
if [ $rc -ne 0 ]; then
    result="FAILED(exit $rc)"
    grep -E "ERROR|==[0-9]+==|Fatal error|Test unit written|SUMMARY" "$log" | head -20 >&2
fi
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)

# Keep only the inputs that reach code the committed corpus does not.
[ -n "$smoke" ] || "$binary" -merge=1 "$corpus" "$work" >"$scratch/$target.merge.log" 2>&1 || true
after=$(ls "$corpus" | wc -l)
bytes=$(cat "$corpus"/* 2>/dev/null | wc -c)
line=$(printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s' "$(date -u +%Y-%m-%dT%H:%MZ)" "$target" "$seconds" \
    "${execs:-0}" "${rate:-0}" "$after" "$bytes" "$((after - before))" "$result")
[ -n "$smoke" ] || echo "$line" >> Fuzz/runs.tsv
echo "$line"
[ "$result" = ok ] || exit 1
