#!/usr/bin/env python3
"""Runs one command under `/usr/bin/time -v` and appends one JSON line to a results file.

    timed.py RESULTS.jsonl LABEL ROUND STDOUT STDERR -- COMMAND...

The line has the wall time of the whole process (measured here with a monotonic clock, in
seconds), and from GNU time: maximum resident set size (KiB), user and system CPU seconds,
voluntary and involuntary context switches, and the exit status. The command's standard
output and error go to the files given. Exits with the command's status.
"""

import json
import os
import subprocess
import sys
import tempfile
import time


def parse_time_v(text):
    fields = {}
    for line in text.splitlines():
        line = line.strip()
        if ": " not in line:
            continue
        key, _, value = line.rpartition(": ")
        fields[key] = value
    return {
        "max_rss_kib": int(fields.get("Maximum resident set size (kbytes)", 0)),
        "user_s": float(fields.get("User time (seconds)", 0)),
        "system_s": float(fields.get("System time (seconds)", 0)),
        "voluntary_switches": int(fields.get("Voluntary context switches", 0)),
        "involuntary_switches": int(fields.get("Involuntary context switches", 0)),
        "time_exit": int(fields.get("Exit status", -1)),
    }


def main():
    results, label, round_, out_path, err_path = sys.argv[1:6]
    assert sys.argv[6] == "--"
    command = sys.argv[7:]
    with tempfile.NamedTemporaryFile("r", suffix=".time", delete=False) as t:
        time_file = t.name
    try:
        with open(out_path, "w") as out, open(err_path, "w") as err:
            start = time.perf_counter()
            status = subprocess.call(["/usr/bin/time", "-v", "-o", time_file, *command], stdout=out, stderr=err)
            wall = time.perf_counter() - start
        with open(time_file) as f:
            measured = parse_time_v(f.read())
    finally:
        os.unlink(time_file)
    record = {"label": label, "round": int(round_), "wall_s": wall, "exit": status, **measured,
              "load1": float(open("/proc/loadavg").read().split()[0])}
    with open(results, "a") as f:
        f.write(json.dumps(record) + "\n")
    print(f"   {label} round {round_}: {wall * 1000:.1f} ms, max RSS {measured['max_rss_kib'] / 1024:.1f} MiB, "
          f"exit {status}", file=sys.stderr)
    sys.exit(status)


if __name__ == "__main__":
    main()
