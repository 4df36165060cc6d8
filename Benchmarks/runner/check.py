#!/usr/bin/env python3
"""Correctness checks of the runner benchmark; each prints one line and exits 1 on a failure.

    check.py get-state STATE.sqlite STEPS
        masscast's state after a mass/get run: the run succeeded; STEPS steps finished with
        outcome success; STEPS attempts, each the first, ok with HTTP 200 and no errcode.
        Also prints the run's duration inside the process (created_at to ended_at).
    check.py send-state STATE.sqlite BATCHES
        masscast's state after the million run: the run succeeded; BATCHES journal entries
        `sent` with a msg_id; BATCHES attempts, ok with HTTP 200.
    check.py sends SENDS.json BATCHES OPENIDS LABEL
        The sandbox's GET /sandbox/sends: exactly BATCHES sends to a list (message/mass/send),
        each of OPENIDS / BATCHES OpenIDs, with distinct clientmsgids and msg_ids.
"""

import json
import sqlite3
import sys


def fail(message):
    print(f"FAIL {message}")
    print(f"check.py: {message}", file=sys.stderr)
    sys.exit(1)


def run_row(db):
    runs = db.execute("SELECT id, status, created_at, ended_at FROM runs").fetchall()
    if len(runs) != 1:
        fail(f"{len(runs)} runs in the state, expected 1")
    run_id, status, created, ended = runs[0]
    if status != "succeeded":
        fail(f"run {run_id} is {status}")
    return run_id, created, ended


def get_state(path, steps):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    run_id, created, ended = run_row(db)
    rows = db.execute("SELECT state, outcome, uses FROM steps WHERE run_id = ?", (run_id,)).fetchall()
    good = sum(1 for s, o, u in rows if s == "finished" and o == "success" and u == "mass/get")
    if len(rows) != steps or good != steps:
        fail(f"{path}: {good} of {len(rows)} steps finished with success, expected {steps}")
    attempts = db.execute(
        "SELECT number, result, http_status, errcode FROM attempts WHERE run_id = ?", (run_id,)).fetchall()
    ok = sum(1 for n, r, h, e in attempts if n == 1 and r == "ok" and h == 200 and e is None)
    if len(attempts) != steps or ok != steps:
        fail(f"{path}: {ok} of {len(attempts)} attempts ok at the first try, expected {steps}")
    print(f"ok {path}: run {run_id} succeeded, {steps} steps and attempts ok (HTTP 200, no errcode), "
          f"run {ended - created} ms in-process")


def send_state(path, batches):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    run_id, created, ended = run_row(db)
    sent = db.execute(
        "SELECT COUNT(*), SUM(recipients) FROM journal WHERE run_id = ? AND state = 'sent' AND msg_id IS NOT NULL",
        (run_id,)).fetchone()
    total = db.execute("SELECT COUNT(*) FROM journal WHERE run_id = ?", (run_id,)).fetchone()[0]
    if sent[0] != batches or total != batches:
        fail(f"{path}: {sent[0]} of {total} journal entries sent, expected {batches}")
    attempts = db.execute(
        "SELECT number, result, http_status FROM attempts WHERE run_id = ?", (run_id,)).fetchall()
    ok = sum(1 for n, r, h in attempts if n == 1 and r == "ok" and h == 200)
    if len(attempts) != batches or ok != batches:
        fail(f"{path}: {ok} of {len(attempts)} attempts ok at the first try, expected {batches}")
    print(f"ok {path}: run {run_id} succeeded, {batches} batches journaled sent ({sent[1]} recipients), "
          f"run {ended - created} ms in-process")


def sends(path, batches, openids, label):
    with open(path) as f:
        data = json.load(f)
    if isinstance(data, dict):
        data = data.get("sends", data)
    per = openids // batches
    lists = [s for s in data if s.get("endpoint") in ("send", "message/mass/send")]
    if len(data) != batches or len(lists) != batches:
        fail(f"{label}: the sandbox has {len(data)} sends ({len(lists)} to a list), expected {batches}")
    sizes = sorted({s["audience"] for s in lists})
    if sizes != [per]:
        fail(f"{label}: audience sizes {sizes}, expected all {per}")
    if len({s["clientmsgid"] for s in lists}) != batches or len({s["msg_id"] for s in lists}) != batches:
        fail(f"{label}: clientmsgids or msg_ids repeat")
    print(f"ok {label}: the sandbox accepted exactly {batches} sends of {per} OpenIDs ({batches * per} in all)")


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "get-state":
        get_state(args[0], int(args[1]))
    elif cmd == "send-state":
        send_state(args[0], int(args[1]))
    elif cmd == "sends":
        sends(args[0], int(args[1]), int(args[2]), args[3])
    else:
        sys.exit(f"check.py: unknown command {cmd}")


if __name__ == "__main__":
    main()
