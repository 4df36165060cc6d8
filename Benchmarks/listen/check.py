#!/usr/bin/env python3
"""Checks what one listener run stored and counted.

Usage: check.py ROUND_DIR COUNT
- the state file's inbox holds exactly COUNT rows, one per generated MsgID (gen.json gives
  the range), all for gh_5d1c0e8f7a93, each with its status and counts;
- /metrics (metrics.txt, fetched before the listener stopped) says COUNT received and
  stored, no duplicate, no refusal, no store failure.
Prints what it found; exits 1 on any difference.
"""
import json
import re
import sqlite3
import sys


def main():
    directory, count = sys.argv[1], int(sys.argv[2])
    with open(directory + "/gen.json", encoding="utf-8") as handle:
        generated = json.loads(handle.read().strip().splitlines()[-1])
    problems = []

    connection = sqlite3.connect("file:%s/state.sqlite?mode=ro" % directory, uri=True)
    rows, distinct, low, high, wrong_account, no_status = connection.execute(
        "SELECT COUNT(*), COUNT(DISTINCT msg_id), MIN(msg_id), MAX(msg_id), "
        "SUM(original_id != 'gh_5d1c0e8f7a93'), SUM(status IS NULL OR status = '') FROM inbox").fetchone()
    with_articles = connection.execute("SELECT COUNT(*) FROM inbox WHERE articles_json IS NOT NULL").fetchone()[0]
    connection.close()
    if rows != count or distinct != count:
        problems.append("the inbox has %d rows (%d distinct MsgIDs), not %d" % (rows, distinct, count))
    if (low, high) != (generated["first_msg_id"], generated["last_msg_id"]):
        problems.append("the MsgIDs are %s…%s, not %s…%s" % (low, high, generated["first_msg_id"], generated["last_msg_id"]))
    if wrong_account or no_status:
        problems.append("%s rows for another account, %s without a status" % (wrong_account, no_status))

    metrics = {}
    with open(directory + "/metrics.txt", encoding="utf-8") as handle:
        for line in handle:
            match = re.match(r"^(masscast_listener_[a-z_]+)(\{[^}]*\})?\s+([0-9.eE+-]+)$", line.strip())
            if match:
                metrics[match.group(1) + (match.group(2) or "")] = float(match.group(3))
    received = metrics.get("masscast_listener_pushes_received_total", -1)
    stored = metrics.get("masscast_listener_pushes_stored_total", -1)
    duplicates = metrics.get("masscast_listener_pushes_duplicate_total", -1)
    rejected = sum(v for k, v in metrics.items() if k.startswith("masscast_listener_pushes_rejected_total"))
    failures = metrics.get("masscast_listener_store_failures_total", -1)
    if (received, stored, duplicates, rejected, failures) != (count, count, 0, 0, 0):
        problems.append("metrics: received %s, stored %s, duplicates %s, rejected %s, store failures %s" % (
            received, stored, duplicates, rejected, failures))

    print(json.dumps({
        "inbox_rows": rows, "distinct_msg_ids": distinct, "with_articles": with_articles,
        "metrics_received": received, "metrics_stored": stored, "metrics_duplicates": duplicates,
        "metrics_rejected": rejected, "metrics_store_failures": failures, "problems": problems,
    }))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
