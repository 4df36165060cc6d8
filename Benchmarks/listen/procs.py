#!/usr/bin/env python3
"""Who else used the CPU during a timed run (the machine is shared).

procs.py snapshot FILE         writes pid → (name, CPU ticks) of every process to FILE
procs.py diff BEFORE AFTER SECONDS [EXCLUDE_PID...]
                               prints the processes that used the most CPU in between, as
                               cores (ticks / CLK_TCK / SECONDS), excluding the given pids.
                               One line: "name args 0.52, name args 0.10", or "none".
                               Processes that ended before the second snapshot are missed:
                               the machine's busy time in run.sh is the complete measure,
                               this only names the long-lived ones.
"""
import json
import os
import sys


def snapshot():
    table = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open("/proc/%s/stat" % pid) as handle:
                stat = handle.read()
            with open("/proc/%s/cmdline" % pid, "rb") as handle:
                argv = handle.read().split(b"\0")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        ticks = int(fields[11]) + int(fields[12])  # utime + stime
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        if argv and argv[0]:
            name = " ".join(os.path.basename(a.decode("utf-8", "replace")) for a in argv[:2])[:60]
        table[pid] = [name, ticks]
    return table


def main():
    if sys.argv[1] == "snapshot":
        with open(sys.argv[2], "w") as handle:
            json.dump(snapshot(), handle)
        return
    with open(sys.argv[2]) as handle:
        before = json.load(handle)
    with open(sys.argv[3]) as handle:
        after = json.load(handle)
    seconds = float(sys.argv[4])
    exclude = set(sys.argv[5:])
    tck = os.sysconf("SC_CLK_TCK")
    used = {}
    for pid, (name, ticks) in after.items():
        if pid in exclude:
            continue
        delta = ticks - before[pid][1] if pid in before else ticks  # a process started during the run: all of it
        if delta > 0:
            used[name] = used.get(name, 0) + delta
    top = sorted(used.items(), key=lambda item: -item[1])[:4]
    print(", ".join("%s %.2f" % (name, ticks / tck / seconds) for name, ticks in top if ticks / tck / seconds >= 0.02) or "none")


if __name__ == "__main__":
    main()
