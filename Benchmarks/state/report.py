#!/usr/bin/env python3
"""The state benchmark's results (Benchmarks/state/run.sh) as markdown.

    report.py OUT_DIR

Reads OUT_DIR/env.txt; for get/ and million/: results.jsonl (timed.py: whole processes) and
inprocess.jsonl (check.py: the run's duration in its store); wake/summary.jsonl (wake.py).
Round 0 is the warm-up and is left out of the medians; ratio = PostgreSQL median / SQLite median.
"""
import json
import os
import statistics
import sys


def load(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def med(rows, label, key):
    values = [r[key] for r in rows if r["label"] == label and r["round"] > 0]
    return (statistics.median(values), len(values)) if values else (float("nan"), 0)


def part(out, name, title, unit_count, unit):
    timed = load(os.path.join(out, name, "results.jsonl"))
    inproc = load(os.path.join(out, name, "inprocess.jsonl"))
    if not timed:
        return
    print(f"**{title}**\n")
    print("| | SQLite file | PostgreSQL (loopback) | ratio | PostgreSQL − SQLite per " + unit + " |")
    print("|---|---|---|---|---|")
    rows = [("wall time, whole process (ms)", timed, "wall_s", 1000),
            ("run in its store, created → ended (ms)", inproc, "inprocess_ms", 1),
            ("user + system CPU of masscast (ms)", [dict(r, cpu=r["user_s"] + r["system_s"]) for r in timed], "cpu", 1000)]
    for label, data, key, scale in rows:
        (s, n1), (p, n2) = med(data, "sqlite", key), med(data, "postgres", key)
        print(f"| {label} | {s * scale:.0f} | {p * scale:.0f} | {p / s:.2f} | {(p - s) * scale / unit_count:+.2f} ms |")
    (s, n), _ = med(timed, "sqlite", "max_rss_kib"), None
    p, _ = med(timed, "postgres", "max_rss_kib")
    print(f"| peak RSS (MiB) | {s / 1024:.1f} | {p / 1024:.1f} | {p / s:.2f} | |")
    print(f"\nMedians of {n} rounds per side (alternating which side goes first; round 0 left out).\n")


def main():
    out = sys.argv[1]
    env = open(os.path.join(out, "env.txt")).read()
    settings = dict(w.split("=", 1) for w in env.split("settings: ", 1)[1].split("\n", 1)[0].split() if "=" in w)
    steps, openids = int(settings.get("STEPS", 200)), int(settings.get("OPENIDS", 1000000))
    batches = (openids + 9999) // 10000
    print("```")
    print(open(os.path.join(out, "env.txt")).read().rstrip())
    print("```\n")
    part(out, "get", f"Run overhead: {steps} `mass/get` steps, a step record each", steps, "step")
    part(out, "million", f"Journal throughput: one `mass/send` of {openids:,} OpenIDs in {batches} batches (intent + result per batch)",
         batches, "batch")
    wakes = load(os.path.join(out, "wake", "summary.jsonl"))
    if wakes:
        print("**Wake-up latency of `mass/wait`: push stored by `masscast listen` → the wait ended (ms)**\n")
        print("| state | wake-ups | stored→end p50 | p90 | p99 | max | POST→end p50 | p99 |")
        print("|---|---|---|---|---|---|---|---|")
        for w in wakes:
            a, b = w["stored_to_end_ms"], w["post_to_end_ms"]
            print(f"| {w['label']} | {w['wakeups']} | {a['p50']:.0f} | {a['p90']:.0f} | {a['p99']:.0f} | {a['max']:.0f} | "
                  f"{b['p50']:.0f} | {b['p99']:.0f} |")
        print()


if __name__ == "__main__":
    main()
