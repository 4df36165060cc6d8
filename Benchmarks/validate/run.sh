#!/usr/bin/env bash
# The validate benchmark, end to end. Run from anywhere; it works from the repo root.
#
#   Benchmarks/validate/run.sh
#
# 1. builds masscast in release into .build-bench/ (separate from .build/, git-ignored),
# 2. builds the LibYAML floor (floor.c) into Benchmarks/validate/out/,
# 3. generates the corpus into Benchmarks/validate/corpus/ (deterministic, git-ignored),
# 4. checks that floor, masscast and the peer all accept every file (no numbers otherwise),
# 5. times, in ONE hyperfine invocation, side by side: the floor over all files,
#    `masscast validate <corpus dir>` (all cores, and --jobs 1), the PyYAML peer over all files, and `python3 -c pass`,
# 6. times the single-file cold case in a second invocation: floor vs masscast on one file
#    (plus `masscast --version` as the process-start reference),
# 7. prints the markdown tables (also written to Benchmarks/validate/out/results.md).
#
# Knobs (environment): COUNT=2000 SEED=1 RUNS=15 WARMUP=3 ONE_RUNS=50 ONE_WARMUP=10
#   MASSCAST=path  use this binary instead of building one (e.g. a CI artefact)
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT=$PWD
B=Benchmarks/validate
OUT=$B/out
CORPUS=$B/corpus
COUNT=${COUNT:-2000}
SEED=${SEED:-1}
RUNS=${RUNS:-15}
WARMUP=${WARMUP:-3}
ONE_RUNS=${ONE_RUNS:-50}
ONE_WARMUP=${ONE_WARMUP:-10}

say() { printf '\n== %s\n' "$*" >&2; }

# --- prerequisites ---------------------------------------------------------------
need=()
[ -f /usr/include/yaml.h ] || need+=(libyaml-dev)
command -v hyperfine >/dev/null || need+=(hyperfine)
command -v cc >/dev/null || need+=(gcc)
if [ ${#need[@]} -gt 0 ]; then
    say "installing ${need[*]}"
    SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
if ! python3 -c 'import yaml, sys; sys.exit(0 if yaml.__with_libyaml__ else 1)' 2>/dev/null; then
    echo "run.sh: python3 needs PyYAML with libyaml (yaml.CSafeLoader): pip install pyyaml" >&2
    exit 1
fi

# The real interpreter, not a version-manager shim (a pyenv shim adds ~80 ms per start).
PY=${PYTHON:-$(python3 -c 'import sys; print(sys.executable)')}

mkdir -p "$OUT"

# --- builds ----------------------------------------------------------------------
if [ -z "${MASSCAST:-}" ]; then
    say "building masscast (release, .build-bench)"
    nice swift build -c release --scratch-path .build-bench --product masscast
    MASSCAST="$(swift build -c release --scratch-path .build-bench --show-bin-path)/masscast"
fi
MASSCAST=$(realpath "$MASSCAST")
say "building the floor"
cc -O2 "$B/floor.c" -lyaml -o "$OUT/floor"

# --- corpus ----------------------------------------------------------------------
say "generating $COUNT pipelines (seed $SEED)"
rm -rf "$CORPUS"
python3 "$B/gen_corpus.py" "$CORPUS" --count "$COUNT" --seed "$SEED" | tee "$OUT/corpus.txt"
find "$CORPUS" -name '*.yaml' | LC_ALL=C sort > "$OUT/files.txt"
NFILES=$(wc -l < "$OUT/files.txt")
BYTES=$(cat "$OUT/files.txt" | xargs cat | wc -c)
# The single file: the one whose size is closest to the mean (ties: first by name).
ONE=$(python3 - "$OUT/files.txt" <<'EOF'
import os, sys
paths = [p.strip() for p in open(sys.argv[1]) if p.strip()]
sizes = {p: os.path.getsize(p) for p in paths}
mean = sum(sizes.values()) / len(sizes)
print(min(paths, key=lambda p: (abs(sizes[p] - mean), p)))
EOF
)
ONE_BYTES=$(wc -c < "$ONE")

# --- everyone must accept the corpus before anything is timed ----------------------
say "checking that floor, peer and masscast accept the corpus"
"$OUT/floor" -l "$OUT/files.txt"
"$PY" "$B/peer.py" -l "$OUT/files.txt"
set +e
"$MASSCAST" validate "$CORPUS" > "$OUT/validate.txt" 2>&1
rc=$?
"$MASSCAST" validate "$ONE" > "$OUT/validate-one.txt" 2>&1
rc1=$?
set -e
if [ $rc -ne 0 ] || [ $rc1 -ne 0 ]; then
    echo "run.sh: masscast validate exited $rc on the corpus, $rc1 on $ONE; no numbers published." >&2
    echo "First lines of its report ($OUT/validate.txt):" >&2
    head -n 40 "$OUT/validate.txt" >&2
    exit 1
fi
echo "masscast validate: exit 0 on $NFILES files ($(wc -l < "$OUT/validate.txt") lines of output)" >&2

# --- timings -----------------------------------------------------------------------
say "timing the corpus (floor, masscast, peer, python start) in one hyperfine run"
hyperfine -N --warmup "$WARMUP" --runs "$RUNS" --export-json "$OUT/corpus.json" \
    -n floor "$OUT/floor -q -l $OUT/files.txt" \
    -n masscast "$MASSCAST validate $CORPUS" \
    -n masscast-1-thread "$MASSCAST validate --jobs 1 $CORPUS" \
    -n peer "$PY $B/peer.py -q -l $OUT/files.txt" \
    -n python-start "$PY -c pass"

say "timing one file, cold process (floor vs masscast, and masscast's own start)"
hyperfine -N --warmup "$ONE_WARMUP" --runs "$ONE_RUNS" --export-json "$OUT/one.json" \
    -n floor "$OUT/floor -q $ONE" \
    -n masscast "$MASSCAST validate $ONE" \
    -n masscast-start "$MASSCAST --version"

# --- report ------------------------------------------------------------------------
{
    echo "Run $(date -u +%Y-%m-%dT%H:%MZ); $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//');"
    echo "$(swift --version 2>/dev/null | head -1); $(hyperfine --version); libyaml $(dpkg-query -W -f='${Version}' libyaml-dev 2>/dev/null || echo '?');"
    echo "Python $("$PY" -c 'import platform; print(platform.python_version())') ($PY), PyYAML $("$PY" -c 'import yaml; print(yaml.__version__)');"
    echo "masscast built from $(git rev-parse --short HEAD 2>/dev/null || echo 'no commit') with $(git status --porcelain -- Sources Package.swift 2>/dev/null | wc -l) uncommitted paths under Sources/ and Package.swift;"
    echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
    echo "Corpus: $(cat "$OUT/corpus.txt")."
    echo
    python3 "$B/report.py" --corpus "$OUT/corpus.json" --files "$NFILES" --bytes "$BYTES" \
        --one "$OUT/one.json" --one-name "${ONE#"$ROOT"/}" --one-bytes "$ONE_BYTES"
} | tee "$OUT/results.md"
