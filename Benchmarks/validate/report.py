#!/usr/bin/env python3
"""Turn the hyperfine JSON of the validate benchmark into markdown tables.

Usage: report.py --corpus corpus.json --files N [--bytes B] [--one one.json --one-name NAME]

The corpus JSON must hold the commands named `floor`, `masscast`, `peer` and
`python-start` (hyperfine -n); the single-file JSON `floor`, `masscast` and optionally
`masscast-start` (`masscast --version`).
Ratios are median / median of the floor measured in the same hyperfine invocation.
"""
import argparse
import json
import os
import statistics
import sys

TARGET = 3.0  # masscast --jobs 1 over the floor, from the issue
TARGET_CORES = 2.0  # masscast on all cores over the floor
TARGET_RENDER = 0.10  # rendering one warning per file, over validating the clean corpus


def load(path):
    with open(path) as f:
        results = json.load(f)["results"]
    return {r["command"]: r for r in results}


def med(r):
    return r.get("median") if r.get("median") is not None else statistics.median(r["times"])


def fmt_s(x):
    return f"{x:.4f}" if x >= 0.01 else f"{x:.5f}"


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--files", type=int, required=True)
    ap.add_argument("--bytes", type=int, default=0)
    ap.add_argument("--one")
    ap.add_argument("--one-name", default="one.yaml")
    ap.add_argument("--one-bytes", type=int, default=0)
    ap.add_argument("--title", default="Corpus")
    ap.add_argument("--only-one", action="store_true", help="print only the single-file table")
    a = ap.parse_args(argv)

    out = []
    c = load(a.corpus)
    if a.only_one:
        return one_file(a, out)
    floor = c["floor"]
    fm = med(floor)
    runs = len(floor["times"])
    size = f", {a.bytes / 1e6:.2f} MB" if a.bytes else ""
    out.append(f"### {a.title}: {a.files} files{size}, one process per run, {runs} timed runs each\n")
    out.append("| command | median (s) | files/s | ratio to floor | mean ± σ (s) | min (s) | max (s) |")
    out.append("|---|---:|---:|---:|---:|---:|---:|")
    labels = {
        "floor": "floor (libyaml events, C)",
        "masscast": "masscast validate (all cores)",
        "masscast-1-thread": "masscast validate --jobs 1 (one thread)",
        "masscast-warnings": "masscast validate, one warning in every file (all cores)",
        "masscast-1-thread-warnings": "masscast validate --jobs 1, one warning in every file",
        "peer": "peer (PyYAML compose, CSafeLoader)",
        "python-start": "python3 -c pass (interpreter start only)",
    }
    for name in ["floor", "masscast", "masscast-1-thread", "masscast-warnings", "masscast-1-thread-warnings",
                 "peer", "python-start"]:
        r = c.get(name)
        if r is None:
            continue
        m = med(r)
        per = "—" if name == "python-start" else f"{a.files / m:,.0f}"
        ratio = "—" if name == "python-start" else f"{m / fm:.2f}×"
        out.append(f"| {labels[name]} | {fmt_s(m)} | {per} | {ratio} | "
                   f"{fmt_s(r['mean'])} ± {fmt_s(r['stddev'] or 0)} | {fmt_s(r['min'])} | {fmt_s(r['max'])} |")
    out.append("")
    mm = med(c["masscast"])
    ratio = mm / fm
    verdict = "met" if ratio <= TARGET_CORES else "NOT met"
    out.append(f"- masscast / floor = **{ratio:.2f}×** (target ≤ {TARGET_CORES:.0f}×: {verdict}), with {os.cpu_count()} cores"
               " against the floor's one thread.")
    if "masscast-1-thread" in c:
        m1 = med(c["masscast-1-thread"])
        v1 = "met" if m1 / fm <= TARGET else "NOT met"
        out.append(f"- masscast --jobs 1 / floor = **{m1 / fm:.2f}×** (one thread each; target ≤ {TARGET:.0f}×: {v1}).")
    for clean, warned, label in [("masscast", "masscast-warnings", "all cores"),
                                 ("masscast-1-thread", "masscast-1-thread-warnings", "--jobs 1")]:
        if clean in c and warned in c:
            extra = med(c[warned]) / med(c[clean]) - 1
            v = "met" if extra < TARGET_RENDER else "NOT met"
            out.append(f"- one warning in every file ({label}): **{extra * 100:+.1f}%** over the clean run "
                       f"(target under {TARGET_RENDER * 100:.0f}%: {v}).")
    if "peer" in c:
        pm = med(c["peer"])
        line = f"- peer / masscast = {pm / mm:.2f}× (the peer is {pm / fm:.2f}× the floor)"
        if "python-start" in c:
            ps = med(c["python-start"])
            net = pm - ps
            line += (f"; minus the interpreter start ({fmt_s(ps)} s) the peer takes {fmt_s(net)} s "
                     f"= {a.files / net:,.0f} files/s, {net / fm:.2f}× the floor")
        out.append(line + ".")
    out.append("")

    return one_file(a, out)


def one_file(a, out):
    if a.one:
        o = load(a.one)
        f1 = med(o["floor"])
        runs1 = len(o["floor"]["times"])
        sz = f", {a.one_bytes} bytes" if a.one_bytes else ""
        out.append(f"### One file, cold process: `{a.one_name}`{sz}, {runs1} timed runs each\n")
        out.append("| command | median (ms) | ratio to floor | mean ± σ (ms) | min (ms) | max (ms) |")
        out.append("|---|---:|---:|---:|---:|---:|")
        for name, label in [("floor", "floor one.yaml"), ("masscast", "masscast validate one.yaml"),
                            ("masscast-start", "masscast --version (process start only)")]:
            r = o.get(name)
            if r is None:
                continue
            m = med(r)
            out.append(f"| {label} | {m * 1e3:.2f} | {m / f1:.1f}× | {r['mean'] * 1e3:.2f} ± "
                       f"{(r['stddev'] or 0) * 1e3:.2f} | {r['min'] * 1e3:.2f} | {r['max'] * 1e3:.2f} |")
        out.append("")
        if "masscast-start" in o:
            ms, st = med(o["masscast"]), med(o["masscast-start"])
            out.append(f"- Of masscast's {ms * 1e3:.2f} ms, {st * 1e3:.2f} ms is starting the process "
                       f"(Swift runtime, Foundation); checking the file takes the other {(ms - st) * 1e3:.2f} ms "
                       f"({(ms - st) / f1:.1f}× the floor's whole run).")
            out.append("")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
