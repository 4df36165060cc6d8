#!/usr/bin/env bash
# The validate benchmark, end to end. Run from anywhere; it works from the repo root.
#
#   Benchmarks/validate/run.sh
#
# 1. builds masscast in release into .build-bench/ (separate from .build/, git-ignored),
# 2. builds the LibYAML floor (floor.c) into Benchmarks/validate/out/,
# 3. generates the corpora into Benchmarks/validate/corpus/ (deterministic, git-ignored):
#    corpus/tag, corpus/inline (two shapes) and corpus/tag-warnings (one warning a file),
# 4. checks that floor, masscast and the peer all accept every file (no numbers otherwise),
# 5. times, in ONE hyperfine invocation, side by side: the floor over all files,
#    `masscast validate <corpus dir>` (all cores, and --jobs 1), the PyYAML peer over all files, and `python3 -c pass`,
# 6. times the single-file cold case in a second invocation: floor vs masscast on one file
#    (plus `masscast --version` as the process-start reference),
# 7. prints the markdown tables (also written to Benchmarks/validate/out/results.md).
#
# Knobs (environment): COUNT=2000 SEED=1 SHAPES="tag inline" RUNS=15 WARMUP=3 ONE_RUNS=50 ONE_WARMUP=10
#   MASSCAST=path  use this binary instead of building one (e.g. a CI artefact)
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT=$PWD
B=Benchmarks/validate
OUT=$B/out
CORPUS=$B/corpus
COUNT=${COUNT:-2000}
SHAPES=${SHAPES:-tag inline}
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

# --- corpora -----------------------------------------------------------------------
# Two shapes (gen_corpus.py --shape): `tag` (named account, about one expression a step) and
# `inline` (inline accounts, previews in every file, about three expressions a step), and
# the tag corpus again with one warning in every file (--warnings), for the rendering cost.
rm -rf "$CORPUS"
for shape in $SHAPES tag-warnings; do
    case $shape in
        tag-warnings) args=(--shape tag --warnings) ;;
        *) args=(--shape "$shape") ;;
    esac
    say "generating $COUNT pipelines ($shape, seed $SEED)"
    python3 "$B/gen_corpus.py" "$CORPUS/$shape" --count "$COUNT" --seed "$SEED" "${args[@]}" | tee "$OUT/corpus-$shape.txt"
    find "$CORPUS/$shape" -name '*.yaml' | LC_ALL=C sort > "$OUT/files-$shape.txt"
done
cp "$OUT/files-tag.txt" "$OUT/files.txt"
NFILES=$(wc -l < "$OUT/files.txt")
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

# --- everyone must accept the corpora before anything is timed ---------------------
for shape in $SHAPES; do
    say "checking that floor, peer and masscast accept the $shape corpus"
    "$OUT/floor" -l "$OUT/files-$shape.txt"
    "$PY" "$B/peer.py" -l "$OUT/files-$shape.txt"
    set +e
    "$MASSCAST" validate "$CORPUS/$shape" > "$OUT/validate-$shape.txt" 2>&1
    rc=$?
    set -e
    if [ $rc -ne 0 ] || ! tail -n 1 "$OUT/validate-$shape.txt" | grep -q 'valid'; then
        echo "run.sh: masscast validate exited $rc on the $shape corpus; no numbers published." >&2
        head -n 40 "$OUT/validate-$shape.txt" >&2
        exit 1
    fi
    echo "masscast validate: $(tail -n 1 "$OUT/validate-$shape.txt")" >&2
done
set +e
"$MASSCAST" validate "$ONE" > "$OUT/validate-one.txt" 2>&1; rc1=$?
"$MASSCAST" validate "$CORPUS/tag-warnings" > "$OUT/validate-tag-warnings.txt" 2>&1; rcw=$?
set -e
WARNED=$(grep -c 'warning: .*\[MC4006\]' "$OUT/validate-tag-warnings.txt" || true)
if [ $rc1 -ne 0 ] || [ $rcw -ne 0 ] || [ "$WARNED" -ne "$NFILES" ]; then
    echo "run.sh: validate exited $rc1 on $ONE and $rcw on the warnings corpus ($WARNED MC4006 warnings for $NFILES files); no numbers published." >&2
    exit 1
fi

# --- timings -----------------------------------------------------------------------
for shape in $SHAPES; do
    say "timing the $shape corpus (floor, masscast, peer, python start) in one hyperfine run"
    warned=()
    if [ "$shape" = tag ]; then
        warned=(-n masscast-warnings "$MASSCAST validate $CORPUS/tag-warnings"
                -n masscast-1-thread-warnings "$MASSCAST validate --jobs 1 $CORPUS/tag-warnings")
    fi
    hyperfine -N --warmup "$WARMUP" --runs "$RUNS" --export-json "$OUT/corpus-$shape.json" \
        -n floor "$OUT/floor -q -l $OUT/files-$shape.txt" \
        -n masscast "$MASSCAST validate $CORPUS/$shape" \
        -n masscast-1-thread "$MASSCAST validate --jobs 1 $CORPUS/$shape" \
        "${warned[@]}" \
        -n peer "$PY $B/peer.py -q -l $OUT/files-$shape.txt" \
        -n python-start "$PY -c pass"
done

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
    # The checkout is what the script and corpus came from; the binary may be older or newer
    # (MASSCAST=…), so its own modification time is printed beside it.
    echo "checkout $(git rev-parse --short HEAD 2>/dev/null || echo 'no commit') with $(git status --porcelain -- Sources Package.swift 2>/dev/null | wc -l) uncommitted paths under Sources/ and Package.swift;"
    echo "masscast binary $MASSCAST, modified $(date -u -r "$MASSCAST" +%Y-%m-%dT%H:%MZ);"
    echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
    echo
    for shape in $SHAPES; do
        echo "Corpus \`$shape\`: $(cat "$OUT/corpus-$shape.txt")."
        echo
        BYTES=$(xargs cat < "$OUT/files-$shape.txt" | wc -c)
        python3 "$B/report.py" --title "Corpus \`$shape\`" --corpus "$OUT/corpus-$shape.json" \
            --files "$(wc -l < "$OUT/files-$shape.txt")" --bytes "$BYTES"
    done
    python3 "$B/report.py" --corpus "$OUT/corpus-tag.json" --files "$NFILES" --only-one \
        --one "$OUT/one.json" --one-name "${ONE#"$ROOT"/}" --one-bytes "$ONE_BYTES"
} | tee "$OUT/results.md"
