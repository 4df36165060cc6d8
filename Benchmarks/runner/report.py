#!/usr/bin/env python3
"""The runner benchmark's results (Benchmarks/runner/run.sh) as markdown.

    report.py OUT_DIR

Reads OUT_DIR/env.txt, and for each part that ran (get/, million/): results.jsonl (one line
per timed process, from timed.py), checks.txt (check.py), and the bare client's outputs.
Round 0 is the warm-up and is left out of the medians.
"""

import json
import os
import re
import statistics
import sys


def load(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def by_round(rows, label):
    return {r["round"]: r for r in rows if r["label"] == label and r["round"] > 0}


def median(values):
    return statistics.median(values) if values else float("nan")


def in_process_masscast(out, part):
    """Round → the run's duration inside masscast (ms), from check.py's lines."""
    result = {}
    path = os.path.join(out, part, "checks.txt")
    if not os.path.exists(path):
        return result
    for line in open(path):
        m = re.search(r"state-(\d+)\.sqlite: .* run (\d+) ms in-process", line)
        if m:
            result[int(m.group(1))] = int(m.group(2))
    return result


def in_process_bare(out, part):
    """Round → (token ms, calls ms) printed by the bare client."""
    result = {}
    directory = os.path.join(out, part)
    for name in os.listdir(directory) if os.path.isdir(directory) else []:
        m = re.fullmatch(r"bare-(\d+)\.out", name)
        if not m:
            continue
        text = open(os.path.join(directory, name)).read()
        t = re.search(r"token ([\d.]+) ms, calls ([\d.]+) ms", text)
        if t:
            result[int(m.group(1))] = (float(t.group(1)), float(t.group(2)))
    return result


def checks(out, part):
    path = os.path.join(out, part, "checks.txt")
    if not os.path.exists(path):
        return 0, 0
    lines = open(path).read().splitlines()
    return sum(1 for l in lines if l.startswith("ok ")), sum(1 for l in lines if l.startswith("FAIL"))


def part_get(out, lines):
    rows = load(os.path.join(out, "get", "results.jsonl"))
    if not rows:
        return
    m, b = by_round(rows, "masscast"), by_round(rows, "bare")
    rounds = sorted(set(m) & set(b))
    mi, bi = in_process_masscast(out, "get"), in_process_bare(out, "get")
    steps = None
    env = open(os.path.join(out, "env.txt")).read()
    s = re.search(r"STEPS=(\d+)", env)
    steps = int(s.group(1)) if s else 200
    lines.append(f"### Executor overhead: {steps} × mass/get, whole processes")
    lines.append("")
    lines.append("| round | masscast (ms) | bare (ms) | ratio | masscast run, in-process (ms) | bare calls, in-process (ms) | load |")
    lines.append("|---:|---:|---:|---:|---:|---:|---:|")
    ratios = []
    for r in rounds:
        ratio = m[r]["wall_s"] / b[r]["wall_s"]
        ratios.append(ratio)
        lines.append(
            f"| {r} | {m[r]['wall_s'] * 1000:.1f} | {b[r]['wall_s'] * 1000:.1f} | {ratio:.2f} | "
            f"{mi.get(r, float('nan')):.0f} | {bi.get(r, (0, float('nan')))[1]:.1f} | {m[r]['load1']:.2f} |")
    mm = median([m[r]["wall_s"] for r in rounds]) * 1000
    bm = median([b[r]["wall_s"] for r in rounds]) * 1000
    mim = median([mi[r] for r in rounds if r in mi])
    bim = median([bi[r][1] for r in rounds if r in bi])
    lines.append(
        f"| **median** | **{mm:.1f}** | **{bm:.1f}** | **{mm / bm:.2f}** | {mim:.0f} | {bim:.1f} | |")
    lines.append("")
    ok, bad = checks(out, "get")
    lines.append(f"- masscast / bare (medians): **{mm / bm:.2f}** (target ≤ 1.3: "
                 f"{'met' if mm / bm <= 1.3 else 'not met'}); per-round ratios {min(ratios):.2f}–{max(ratios):.2f} "
                 f"(median {median(ratios):.2f}).")
    lines.append(f"- Per call, whole process: masscast {mm * 1000 / steps:.0f} µs, bare {bm * 1000 / steps:.0f} µs.")
    lines.append(f"- Inside the processes: masscast's run (created to finished, from its state) "
                 f"{mim:.0f} ms against the bare loop's {bim:.1f} ms of calls: "
                 f"**{(mim - bim) * 1000 / steps:.0f} µs of executor overhead per step**.")
    lines.append(f"- Fixed costs outside the calls: masscast {mm - mim:.0f} ms (process start, pipeline and config, "
                 f"state file, token), bare {bm - bim:.0f} ms (process start, token).")
    lines.append(f"- Peak RSS (median): masscast {median([m[r]['max_rss_kib'] for r in rounds]) / 1024:.1f} MiB, "
                 f"bare {median([b[r]['max_rss_kib'] for r in rounds]) / 1024:.1f} MiB. CPU (user + system, median): "
                 f"masscast {median([m[r]['user_s'] + m[r]['system_s'] for r in rounds]) * 1000:.0f} ms, "
                 f"bare {median([b[r]['user_s'] + b[r]['system_s'] for r in rounds]) * 1000:.0f} ms.")
    lines.append(f"- Checks: {ok} passed, {bad} failed (every masscast round: run succeeded, {steps} steps success, "
                 f"{steps} attempts HTTP 200 at the first try; the bare client checks every answer itself).")
    lines.append("")


def part_million(out, lines):
    rows = load(os.path.join(out, "million", "results.jsonl"))
    if not rows:
        return
    m, b = by_round(rows, "masscast"), by_round(rows, "bare")
    rounds = sorted(set(m) & set(b))
    mi, bi = in_process_masscast(out, "million"), in_process_bare(out, "million")
    lines.append("### One million OpenIDs: mass/send in 100 batches of 10,000, whole processes")
    lines.append("")
    lines.append("| round | masscast (s) | bare (s) | ratio | masscast peak RSS (MiB) | bare peak RSS (MiB) | masscast CPU (s) | load |")
    lines.append("|---:|---:|---:|---:|---:|---:|---:|---:|")
    ratios = []
    for r in rounds:
        ratio = m[r]["wall_s"] / b[r]["wall_s"]
        ratios.append(ratio)
        lines.append(
            f"| {r} | {m[r]['wall_s']:.3f} | {b[r]['wall_s']:.3f} | {ratio:.2f} | {m[r]['max_rss_kib'] / 1024:.1f} | "
            f"{b[r]['max_rss_kib'] / 1024:.1f} | {m[r]['user_s'] + m[r]['system_s']:.2f} | {m[r]['load1']:.2f} |")
    mm = median([m[r]["wall_s"] for r in rounds])
    bm = median([b[r]["wall_s"] for r in rounds])
    rss = median([m[r]["max_rss_kib"] for r in rounds]) / 1024
    rss_max = max(m[r]["max_rss_kib"] for r in rounds) / 1024
    lines.append(
        f"| **median** | **{mm:.3f}** | **{bm:.3f}** | **{mm / bm:.2f}** | **{rss:.1f}** | "
        f"{median([b[r]['max_rss_kib'] for r in rounds]) / 1024:.1f} | "
        f"{median([m[r]['user_s'] + m[r]['system_s'] for r in rounds]):.2f} | |")
    lines.append("")
    ok, bad = checks(out, "million")
    lines.append(f"- masscast / bare (medians): **{mm / bm:.2f}** (target ≤ 1.5: "
                 f"{'met' if mm / bm <= 1.5 else 'not met'}); per-round ratios {min(ratios):.2f}–{max(ratios):.2f}.")
    lines.append(f"- masscast peak RSS: median {rss:.1f} MiB, largest {rss_max:.1f} MiB "
                 f"= {rss_max * 1.048576:.1f} MB (target ≤ 100 MB: {'met' if rss_max * 1.048576 <= 100 else 'not met'}).")
    if mi and bi:
        lines.append(f"- Inside the processes: masscast's run {median([mi[r] for r in rounds if r in mi]):.0f} ms, "
                     f"the bare client's calls {median([bi[r][1] for r in rounds if r in bi]):.0f} ms.")
    lines.append(f"- Checks: {ok} passed, {bad} failed (after every run, of either side, the sandbox's "
                 f"`/sandbox/sends` holds exactly 100 sends of 10,000 OpenIDs; masscast's journal has 100 batches sent).")
    lines.append("")


def main():
    out = sys.argv[1]
    lines = ["## Runner benchmark results", ""]
    env = open(os.path.join(out, "env.txt")).read().strip()
    lines += ["```", env, "```", ""]
    part_get(out, lines)
    part_million(out, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
