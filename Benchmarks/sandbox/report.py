#!/usr/bin/env python3
"""Reads the wrk outputs of Benchmarks/sandbox/run.sh and prints the markdown results.

usage: report.py OUT_DIR

Reads OUT_DIR/round-<n>-<target>.txt (target: sandbox or minimal), OUT_DIR/check-<target>.txt
(the untimed checking runs) and OUT_DIR/env.txt. Medians are over the rounds; the ratio is
median sandbox requests/s over median minimal requests/s, and also the median of the
per-round ratios (each round's sandbox run next to the minimal run that followed it).
"""
import glob
import os
import re
import statistics
import sys

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def ms(text):
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        raise ValueError(f"latency '{text}'")
    return float(match.group(1)) * UNITS[match.group(2)]


def parse(path):
    text = open(path, encoding="utf-8").read()
    out = {"file": os.path.basename(path), "rps": None, "requests": None, "non2xx": 0, "socket": 0,
           "socket_detail": "", "lat": {}}
    if m := re.search(r"Requests/sec:\s+([\d.]+)", text):
        out["rps"] = float(m.group(1))
    if m := re.search(r"(\d+) requests in ([\d.]+\w+)", text):
        out["requests"] = int(m.group(1))
    if m := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text):
        out["non2xx"] = int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text):
        counts = [int(g) for g in m.groups()]
        out["socket"] = sum(counts)
        out["socket_detail"] = m.group(0)
    for pct in ("50", "75", "90", "99"):
        if m := re.search(rf"^\s+{pct}%\s+(\S+)", text, re.M):
            out["lat"][pct] = ms(m.group(1))
    if m := re.search(r"^\s+Latency\s+(\S+)\s+(\S+)\s+(\S+)", text, re.M):
        out["lat"]["avg"] = ms(m.group(1))
        out["lat"]["max"] = ms(m.group(3))
    if m := re.search(r"^server cpu: (\d+) ticks of 1/(\d+) s", text, re.M):
        out["cpu_s"] = int(m.group(1)) / int(m.group(2))
    # Lines the checking script prints from done() (bad=…).
    if m := re.search(r"^check: (.*)$", text, re.M):
        out["check"] = m.group(1)
    return out


def fmt_ms(value):
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def main():
    out_dir = sys.argv[1]
    rounds = {}
    for path in glob.glob(os.path.join(out_dir, "round-*-*.txt")):
        m = re.fullmatch(r"round-(\d+)-(sandbox|minimal)\.txt", os.path.basename(path))
        if m:
            rounds.setdefault(int(m.group(1)), {})[m.group(2)] = parse(path)
    if not rounds:
        sys.exit("report.py: no round outputs in " + out_dir)
    numbers = sorted(rounds)
    lines = []
    env_path = os.path.join(out_dir, "env.txt")
    if os.path.exists(env_path):
        lines.append("```")
        lines.extend(open(env_path, encoding="utf-8").read().rstrip().splitlines())
        lines.append("```")
        lines.append("")

    lines.append("**Per round** (requests/s; each round runs the sandbox, then the minimal route)")
    lines.append("")
    lines.append("| round | sandbox req/s | minimal req/s | ratio | sandbox p50 / p99 (ms) | minimal p50 / p99 (ms) | errors (non-2xx, socket) |")
    lines.append("|---:|---:|---:|---:|---:|---:|---|")
    ratios = []
    problems = []
    for n in numbers:
        s, mn = rounds[n].get("sandbox"), rounds[n].get("minimal")
        if not s or not mn or s["rps"] is None or mn["rps"] is None:
            problems.append(f"round {n}: a run is missing or has no Requests/sec line")
            continue
        ratio = s["rps"] / mn["rps"]
        ratios.append(ratio)
        errors = []
        for name, r in (("sandbox", s), ("minimal", mn)):
            if r["non2xx"] or r["socket"]:
                errors.append(f"{name}: {r['non2xx']} non-2xx, {r['socket_detail'] or 'no socket errors'}")
                problems.append(f"round {n} {name}: {r['non2xx']} non-2xx; {r['socket_detail']}")
        lines.append(
            f"| {n} | {s['rps']:,.0f} | {mn['rps']:,.0f} | {ratio:.3f} | "
            f"{fmt_ms(s['lat']['50'])} / {fmt_ms(s['lat']['99'])} | {fmt_ms(mn['lat']['50'])} / {fmt_ms(mn['lat']['99'])} | "
            f"{'; '.join(errors) or '0, 0'} |")
    lines.append("")

    def med(target, key):
        values = [rounds[n][target]["lat"][key] for n in numbers if target in rounds[n] and key in rounds[n][target]["lat"]]
        return statistics.median(values)

    def med_rps(target):
        return statistics.median(rounds[n][target]["rps"] for n in numbers
                                 if target in rounds[n] and rounds[n][target]["rps"] is not None)

    s_rps, m_rps = med_rps("sandbox"), med_rps("minimal")
    lines.append(f"**Medians over {len(numbers)} rounds**")
    lines.append("")
    lines.append("| server | req/s | ratio to minimal | p50 (ms) | p75 (ms) | p90 (ms) | p99 (ms) |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|")
    lines.append(f"| sandbox `mass/get` | {s_rps:,.0f} | **{s_rps / m_rps:.3f}** | " +
                 " | ".join(fmt_ms(med("sandbox", k)) for k in ("50", "75", "90", "99")) + " |")
    lines.append(f"| minimal Hummingbird route | {m_rps:,.0f} | 1.000 | " +
                 " | ".join(fmt_ms(med("minimal", k)) for k in ("50", "75", "90", "99")) + " |")
    lines.append("")
    def med_cpu(target):
        values = [rounds[n][target]["cpu_s"] * 1e6 / rounds[n][target]["requests"] for n in numbers
                  if target in rounds[n] and rounds[n][target].get("cpu_s") is not None and rounds[n][target]["requests"]]
        return statistics.median(values) if values else None

    cpu_s, cpu_m = med_cpu("sandbox"), med_cpu("minimal")
    if cpu_s and cpu_m:
        lines.append(f"**Server CPU per request** (user + system time of the server process during each timed run, "
                     f"over the requests wrk completed; median over the rounds): sandbox {cpu_s:.1f} µs, minimal "
                     f"{cpu_m:.1f} µs, so by CPU cost the sandbox serves **{cpu_m / cpu_s:.3f}** of the minimal route's rate.")
        lines.append("")
    lines.append(f"- ratio of medians: **{s_rps / m_rps:.3f}**; median of the per-round ratios: "
                 f"{statistics.median(ratios):.3f} (range {min(ratios):.3f}–{max(ratios):.3f}); target ≥ 0.8: "
                 f"{'met' if s_rps / m_rps >= 0.8 else 'NOT met'}.")
    lines.append(f"- latency percentiles are medians over the rounds of wrk's per-round percentiles.")
    if problems:
        lines.append("- **errors:** " + "; ".join(problems))
    else:
        lines.append("- errors: none (0 non-2xx responses and 0 socket errors in every timed run).")
    for target in ("sandbox", "minimal"):
        path = os.path.join(out_dir, f"check-{target}.txt")
        if os.path.exists(path):
            c = parse(path)
            lines.append(f"- check run, {target} (untimed, every body compared): {c.get('check', 'no check line')}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
