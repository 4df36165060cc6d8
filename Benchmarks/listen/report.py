#!/usr/bin/env python3
"""The listener benchmark's outputs → markdown.

report.py OUT           the whole run (every out/round-N), as docs/benchmarks.md shows it
report.py --round DIR   one line for one round (run.sh prints it as it goes)
"""
import glob
import json
import os
import re
import statistics
import sys

# A round is "quiet" when other processes used less than this many cores (machine busy time
# minus the benchmark's own) during both its masscast run and its wechatpy run.
CLEAN = 0.10


def read_json(path):
    with open(path, encoding="utf-8") as handle:
        return json.loads(handle.read().strip().splitlines()[-1])


def read_pairs(path):
    values = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                parts = line.split()
                if len(parts) == 2:
                    values[parts[0]] = float(parts[1])
    return values


def read_text(path):
    if not os.path.exists(path):
        return ""
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def store_latency_ms(metrics_text):
    total = count = None
    for line in metrics_text.splitlines():
        match = re.match(r"^masscast_listener_store_latency_seconds_(sum|count)\s+([0-9.eE+-]+)$", line.strip())
        if match:
            if match.group(1) == "sum":
                total = float(match.group(2))
            else:
                count = float(match.group(2))
    return 1000 * total / count if total is not None and count else None


def round_data(directory):
    cores = os.cpu_count() or 1
    gen = read_json(os.path.join(directory, "gen.json"))
    load = read_json(os.path.join(directory, "load.json"))
    peer = read_json(os.path.join(directory, "peer.json"))
    check = read_json(os.path.join(directory, "check.txt"))
    mcpu = read_pairs(os.path.join(directory, "masscast-cpu.txt"))
    pcpu = read_pairs(os.path.join(directory, "peer-cpu.txt"))
    notes = read_text(os.path.join(directory, "notes.txt"))
    tck = mcpu["clk_tck"]
    count = load["requests"]
    server_cpu_s = mcpu["server_cpu_ticks"] / tck
    machine_busy_m = cores * mcpu["machine_busy_ticks"] / mcpu["machine_total_ticks"]
    machine_busy_p = cores * pcpu["machine_busy_ticks"] / pcpu["machine_total_ticks"]
    order = re.search(r"order: (\w+) (\w+)", notes)
    load_before = re.search(r"load average before: ([0-9.]+)", notes)
    return {
        "round": int(directory.rstrip("/").rsplit("-", 1)[1]),
        "first": order.group(1) if order else "?",
        "count": count,
        "masscast_rate": load["per_second"],
        "masscast_seconds": load["seconds"],
        "wechatpy_rate": peer["per_second"],
        "wechatpy_seconds": peer["seconds"],
        "ratio": load["per_second"] / peer["per_second"],
        "masscast_cpu_us": 1e6 * server_cpu_s / count,
        "masscast_cores": server_cpu_s / load["seconds"],
        "client_cores": load["client_cpu_seconds"] / load["seconds"],
        "wechatpy_cpu_us": 1e6 * peer["cpu_seconds"] / peer["count"],
        "busy_masscast": machine_busy_m,
        "busy_wechatpy": machine_busy_p,
        "others_masscast": max(0.0, machine_busy_m - server_cpu_s / load["seconds"] - load["client_cpu_seconds"] / load["seconds"]),
        "others_wechatpy": max(0.0, machine_busy_p - peer["cpu_seconds"] / peer["seconds"]),
        "p50": load["latency_ms"]["p50"], "p90": load["latency_ms"]["p90"], "p99": load["latency_ms"]["p99"],
        "max": load["latency_ms"]["max"],
        "store_ms": store_latency_ms(read_text(os.path.join(directory, "metrics.txt"))),
        "inbox_rows": check["inbox_rows"], "with_articles": check["with_articles"],
        "load_before": float(load_before.group(1)) if load_before else None,
        "mean_body": gen.get("mean_body_bytes"),
        "waited": "waited" in notes or "busy:" in notes,
        "notes": notes,
    }


def fmt(value, digits=0):
    if value is None:
        return "—"
    return "{:,.{d}f}".format(value, d=digits)


def one_round(directory):
    r = round_data(directory)
    print("   round %d (%s first): masscast %s pushes/s (%s µs CPU each, %.2f cores), wechatpy %s messages/s (%s µs CPU), "
          "ratio %.3f; machine busy %.2f / %.2f cores; inbox %d rows" % (
              r["round"], r["first"], fmt(r["masscast_rate"]), fmt(r["masscast_cpu_us"]), r["masscast_cores"],
              fmt(r["wechatpy_rate"]), fmt(r["wechatpy_cpu_us"]), r["ratio"], r["busy_masscast"], r["busy_wechatpy"],
              r["inbox_rows"]))


def whole(out):
    rounds = sorted((round_data(d) for d in glob.glob(os.path.join(out, "round-*")) if os.path.exists(os.path.join(d, "check.txt"))),
                    key=lambda r: r["round"])
    env = read_text(os.path.join(out, "env.txt"))
    print("## masscast listen against wechatpy: results\n")
    print("```\n%s```\n" % env)
    count = int(re.search(r"COUNT=(\d+)", env).group(1))
    if rounds:
        rounds_table(rounds, env)
    extras(out, count)


def rounds_table(rounds, env):
    med = lambda key: statistics.median(r[key] for r in rounds)
    count = rounds[0]["count"]
    print("%d rounds of %s pushes each (mean body %s bytes); masscast with %s connections.\n" % (
        len(rounds), fmt(count), fmt(rounds[0]["mean_body"]), re.search(r"CONNECTIONS=(\d+)", env).group(1)))
    print("| round | first | masscast pushes/s | wechatpy msgs/s | ratio | masscast CPU µs/push | wechatpy CPU µs/msg "
          "| masscast p50 / p99 (ms) | store mean (ms) | machine busy, masscast run (cores) | others during it | machine busy, wechatpy run | others during it | inbox rows |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rounds:
        print("| %d | %s | %s | %s | %.3f | %s | %s | %.1f / %.1f | %s | %.2f | %.2f | %.2f | %.2f | %s |" % (
            r["round"], r["first"], fmt(r["masscast_rate"]), fmt(r["wechatpy_rate"]), r["ratio"],
            fmt(r["masscast_cpu_us"]), fmt(r["wechatpy_cpu_us"]), r["p50"], r["p99"], fmt(r["store_ms"], 2),
            r["busy_masscast"], r["others_masscast"], r["busy_wechatpy"], r["others_wechatpy"], fmt(r["inbox_rows"])))
    m_rate, w_rate = med("masscast_rate"), med("wechatpy_rate")
    m_cpu, w_cpu = med("masscast_cpu_us"), med("wechatpy_cpu_us")
    ratios = sorted(r["ratio"] for r in rounds)
    print()
    print("| side | per second (median) | ratio to wechatpy | CPU per message (median) | cores used (median) |")
    print("|---|---:|---:|---:|---:|")
    print("| masscast listen (HTTP, verify, decrypt, parse, store, answer) | %s | **%.2f** | %s µs | %.2f |" % (
        fmt(m_rate), m_rate / w_rate, fmt(m_cpu), med("masscast_cores")))
    print("| wechatpy decrypt_message + parse_message (one process) | %s | 1.00 | %s µs | 1.00 |" % (fmt(w_rate), fmt(w_cpu)))
    print()
    print("- Ratio of medians (masscast / wechatpy): **%.3f**; median of the per-round ratios %.3f (range %.3f–%.3f)." % (
        m_rate / w_rate, statistics.median(ratios), ratios[0], ratios[-1]))
    clean = [r for r in rounds if r["others_masscast"] < CLEAN and r["others_wechatpy"] < CLEAN]
    if clean:
        cm = statistics.median(r["masscast_rate"] for r in clean)
        cw = statistics.median(r["wechatpy_rate"] for r in clean)
        print("- Quiet rounds only (other processes under %.2f cores during both sides; rounds %s): masscast %s, wechatpy %s, "
              "ratio of medians **%.3f**." % (CLEAN, ", ".join(str(r["round"]) for r in clean), fmt(cm), fmt(cw), cm / cw))
    else:
        print("- No round was quiet (other processes under %.2f cores during both sides)." % CLEAN)
    print("- By CPU time per message: wechatpy %s µs / masscast %s µs = **%.3f** (above 1: masscast spends less CPU per message)." % (
        fmt(w_cpu), fmt(m_cpu), w_cpu / m_cpu))
    print("- masscast latency (median over rounds): p50 %.1f ms, p90 %.1f ms, p99 %.1f ms; worst max %.1f ms. Mean store (`storeInboxEvent`) %s ms." % (
        med("p50"), med("p90"), med("p99"), max(r["max"] for r in rounds), fmt(med("store_ms"), 2) if all(r["store_ms"] for r in rounds) else "—"))
    print("- Every round: %s answers `200 success`, an inbox of exactly %s rows with the generated MsgIDs, and /metrics "
          "saying %s received and stored, 0 duplicates, 0 refused, 0 store failures." % (fmt(count), fmt(count), fmt(count)))
    print("- Load: other processes used %.2f–%.2f cores during the masscast runs and %.2f–%.2f during the wechatpy runs (machine busy time minus the benchmark's own)." % (
        min(r["others_masscast"] for r in rounds), max(r["others_masscast"] for r in rounds),
        min(r["others_wechatpy"] for r in rounds), max(r["others_wechatpy"] for r in rounds)))
    waited = [r["round"] for r in rounds if r["waited"]]
    if waited:
        print("- Rounds that waited for other builds or benchmarks first: %s." % ", ".join(map(str, waited)))
    others = [(r["round"], line.split(": ", 1)) for r in rounds for line in r["notes"].splitlines() if line.startswith("others during")]
    named = ["round %d %s: %s" % (n, what.replace("others during ", ""), who) for n, (what, who) in others if who.strip() != "none"]
    if named:
        print("- Other processes seen using ≥ 0.02 cores: %s." % "; ".join(named))


def extras(out, count):
    sweeps = []
    for directory in glob.glob(os.path.join(out, "sweep-*")):
        if not os.path.exists(os.path.join(directory, "check.txt")):
            continue
        load = read_json(os.path.join(directory, "load.json"))
        mcpu = read_pairs(os.path.join(directory, "masscast-cpu.txt"))
        server = mcpu["server_cpu_ticks"] / mcpu["clk_tck"]
        busy = (os.cpu_count() or 1) * mcpu["machine_busy_ticks"] / mcpu["machine_total_ticks"]
        sweeps.append((load["connections"], load, 1e6 * server / load["requests"], server / load["seconds"],
                       max(0.0, busy - server / load["seconds"] - load["client_cpu_seconds"] / load["seconds"])))
    if sweeps:
        print("\n**The listener alone by connection count** (`SWEEP`; %s pushes, one fresh listener each, no wechatpy):\n" % fmt(count))
        print("| connections | pushes/s | p50 / p99 (ms) | CPU per push | cores used | others (cores) |")
        print("|---:|---:|---:|---:|---:|---:|")
        for connections, load, cpu_us, cores, others in sorted(sweeps, key=lambda item: item[0]):
            print("| %d | %s | %.2f / %.2f | %s µs | %.2f | %.2f |" % (
                connections, fmt(load["per_second"]), load["latency_ms"]["p50"], load["latency_ms"]["p99"], fmt(cpu_us),
                cores, others))
    profile = os.path.join(out, "profile", "profile.md")
    if os.path.exists(profile):
        load = read_json(os.path.join(out, "profile", "load.json"))
        print("\n**Profile** (`PROFILE=1`: one more listener run of %s pushes under `perf record -g -F 999`, %s pushes/s):\n" % (
            fmt(load["requests"]), fmt(load["per_second"])))
        print(read_text(profile))


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--round":
        one_round(sys.argv[2])
    elif len(sys.argv) == 2:
        whole(sys.argv[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
