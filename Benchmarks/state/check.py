#!/usr/bin/env python3
"""Correctness checks of the state benchmark (Benchmarks/state/run.sh), on either store.

    check.py get-state STORE STEPS RESULTS.jsonl LABEL ROUND
        After a run of the STEPS-step mass/get pipeline: one run, succeeded; STEPS steps
        finished with outcome success; STEPS attempts ok at the first try.
    check.py send-state STORE BATCHES RESULTS.jsonl LABEL ROUND
        After the 100-batch send: one run, succeeded; BATCHES journal entries `sent` with a
        msg_id; BATCHES attempts ok with HTTP 200.

STORE is a SQLite file or a postgres:// URL (read with psql, found on PATH or in
/usr/lib/postgresql/*/bin). Each check prints one line (`ok …` or `FAIL …`, exit 1) and
appends the run's duration inside the process (runs.created_at to ended_at, ms) to
RESULTS.jsonl as {"label", "round", "inprocess_ms"}.
"""

import glob
import json
import sqlite3
import subprocess
import sys


def fail(message):
    print(f"FAIL {message}")
    print(f"check.py: {message}", file=sys.stderr)
    sys.exit(1)


def psql():
    for path in sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"), reverse=True):
        return path
    return "psql"


def query(store, sql):
    """Rows of `sql` (a list of tuples of strings or numbers) from either store."""
    if store.startswith("postgres://"):
        out = subprocess.run([psql(), store, "-X", "-q", "-tA", "-F", "\t", "-c", sql],
                             capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            fail(f"psql: {out.stderr.strip()}")
        rows = []
        for line in out.stdout.splitlines():
            rows.append(tuple(None if v == "" else (int(v) if v.lstrip("-").isdigit() else v) for v in line.split("\t")))
        return rows
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def run_row(store):
    runs = query(store, "SELECT id, status, created_at, ended_at FROM runs")
    if len(runs) != 1:
        fail(f"{len(runs)} runs in the state, expected 1")
    run_id, status, created, ended = runs[0]
    if status != "succeeded":
        fail(f"run {run_id} is {status}")
    return run_id, int(created), int(ended)


def record(results, label, round_, ms):
    with open(results, "a") as f:
        f.write(json.dumps({"label": label, "round": int(round_), "inprocess_ms": ms}) + "\n")


def get_state(store, steps, results, label, round_):
    run_id, created, ended = run_row(store)
    rows = query(store, f"SELECT state, outcome, uses FROM steps WHERE run_id = '{run_id}'")
    good = sum(1 for s, o, u in rows if s == "finished" and o == "success" and u == "mass/get")
    if len(rows) != steps or good != steps:
        fail(f"{label} round {round_}: {good} of {len(rows)} steps finished with success, expected {steps}")
    attempts = query(store, f"SELECT number, result, http_status FROM attempts WHERE run_id = '{run_id}'")
    ok = sum(1 for n, r, h in attempts if int(n) == 1 and r == "ok" and int(h) == 200)
    if len(attempts) != steps or ok != steps:
        fail(f"{label} round {round_}: {ok} of {len(attempts)} attempts ok at the first try, expected {steps}")
    record(results, label, round_, ended - created)
    print(f"ok {label} round {round_}: run {run_id} succeeded, {steps} steps and attempts ok, "
          f"{ended - created} ms in-process")


def send_state(store, batches, results, label, round_):
    run_id, created, ended = run_row(store)
    sent = query(store, f"SELECT COUNT(*) FROM journal WHERE run_id = '{run_id}' AND state = 'sent' AND msg_id IS NOT NULL")[0][0]
    total = query(store, f"SELECT COUNT(*) FROM journal WHERE run_id = '{run_id}'")[0][0]
    if int(sent) != batches or int(total) != batches:
        fail(f"{label} round {round_}: {sent} of {total} journal entries sent, expected {batches}")
    attempts = query(store, f"SELECT number, result, http_status FROM attempts WHERE run_id = '{run_id}'")
    ok = sum(1 for n, r, h in attempts if int(n) == 1 and r == "ok" and int(h) == 200)
    if len(attempts) != batches or ok != batches:
        fail(f"{label} round {round_}: {ok} of {len(attempts)} attempts ok at the first try, expected {batches}")
    record(results, label, round_, ended - created)
    print(f"ok {label} round {round_}: run {run_id} succeeded, {batches} batches journaled sent, "
          f"{ended - created} ms in-process")


if __name__ == "__main__":
    kind, store, count, results, label, round_ = sys.argv[1:7]
    {"get-state": get_state, "send-state": send_state}[kind](store, int(count), results, label, round_)
