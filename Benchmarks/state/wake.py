#!/usr/bin/env python3
"""Wake-up latency of mass/wait (Benchmarks/state/run.sh): from a push stored by a
`masscast listen` process to the end of the wait in a `masscast run` process.

    wake.py MASSCAST CONFIG PIPELINE STATE COUNT OUT_DIR LABEL

Starts `masscast listen --port 0` and `masscast run PIPELINE` (COUNT mass/wait steps, one
after another, `source: callback`, msg_ids 2000000001…) on the same STATE (a postgres://
URL, or a SQLite file). Each time the run logs `step.started` for wait N, waits 30 ms (the
wait is then blocked), and POSTs wait N's MASSSENDJOBFINISH to the listener, in plain mode
(signature over the callback token). Per wake-up it records, from the JSON logs of both
processes (the same machine's clock, millisecond resolution):
  stored_to_end: the listener's `push.stored` (logged after the commit) to the run's
                 `step.finished` of that wait;
  post_to_end:   the moment this script sent the POST (its wall clock) to that `step.finished`
                 (the whole path: HTTP, verification, the insert and its NOTIFY, the wake-up).
Writes OUT_DIR/wake-LABEL.jsonl (one line per wake-up) and prints p50/p90/p99/max as JSON.
Bounded: the run has 10 minutes; both processes are stopped at the end whatever happens.
"""

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import datetime

TOKEN = os.environ.get("BENCH_CALLBACK_TOKEN", "")
ORIGINAL_ID = "gh_5d1c0e8f7a93"
FIRST_MSG_ID = 2000000001


def _utc(text):
    # "2026-12-03T10:37:41.928Z" → Unix seconds (UTC).
    from datetime import timezone
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()


def push(port, msg_id):
    timestamp = str(int(time.time()))
    nonce = "%016x" % random.getrandbits(64)
    signature = hashlib.sha1("".join(sorted([TOKEN, timestamp, nonce])).encode()).hexdigest()
    now = int(time.time())
    body = (f"<xml><ToUserName><![CDATA[{ORIGINAL_ID}]]></ToUserName>"
            f"<FromUserName><![CDATA[oSystem0000000000000000000000]]></FromUserName>"
            f"<CreateTime>{now}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[MASSSENDJOBFINISH]]></Event><MsgID>{msg_id}</MsgID>"
            f"<Status><![CDATA[send success]]></Status><TotalCount>100</TotalCount>"
            f"<FilterCount>100</FilterCount><SentCount>100</SentCount><ErrorCount>0</ErrorCount></xml>")
    url = f"http://127.0.0.1:{port}/wechat/callback/brand-main?signature={signature}&timestamp={timestamp}&nonce={nonce}"
    req = urllib.request.Request(url, data=body.encode(), method="POST", headers={"Content-Type": "text/xml"})
    with urllib.request.urlopen(req, timeout=5) as r:
        answer = r.read()
    if r.status != 200:
        raise RuntimeError(f"the listener answered {r.status}: {answer!r}")


def stop(process):
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main():
    masscast, config, pipeline, state, count, out_dir, label = sys.argv[1:8]
    count = int(count)
    listen_log = os.path.join(out_dir, f"listen-{label}.log")
    run_log = os.path.join(out_dir, f"run-{label}.log")
    listener = subprocess.Popen([masscast, "listen", "--port", "0", "--config", config, "--state", state,
                                 "--log-format", "json"], stdout=subprocess.DEVNULL, stderr=open(listen_log, "w"))
    run = None
    try:
        port = None
        deadline = time.time() + 60
        while port is None and time.time() < deadline:
            for line in open(listen_log):
                if '"listen.started"' in line:
                    port = json.loads(line)["listen.port"]
            if listener.poll() is not None:
                sys.exit(f"wake.py: the listener exited: {open(listen_log).read()}")
            time.sleep(0.1)
        if port is None:
            sys.exit("wake.py: the listener did not start within 60 s")
        run = subprocess.Popen([masscast, "run", pipeline, "--config", config, "--state", state, "--log-format", "json"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        posted, ended = {}, {}
        killer = threading.Timer(600, lambda: run.kill())
        killer.start()
        with open(run_log, "w") as log:
            for text in run.stderr:
                log.write(text)
                if not text.startswith("{"):
                    continue
                line = json.loads(text)
                step = line.get("step.id", "")
                if not step.startswith("wait-"):
                    continue
                n = int(step[5:])
                if line.get("event") == "step.started":
                    time.sleep(0.03)
                    posted[n] = time.time()
                    push(port, FIRST_MSG_ID + n)
                elif line.get("event") == "step.finished":
                    ended[n] = _utc(line["ts"])
        killer.cancel()
        status = run.wait(timeout=30)
        if status != 0:
            sys.exit(f"wake.py: masscast run exited {status} (see {run_log})")
    finally:
        if run is not None and run.poll() is None:
            run.kill()
        stop(listener)
    stored = {}
    for text in open(listen_log):
        if '"push.stored"' in text:
            line = json.loads(text)
            stored[int(line["push.msg_id"]) - FIRST_MSG_ID] = _utc(line["ts"])
    rows = []
    for n in sorted(ended):
        if n in stored and n in posted:
            rows.append({"wait": n, "stored_to_end_ms": (ended[n] - stored[n]) * 1000,
                         "post_to_end_ms": (ended[n] - posted[n]) * 1000})
    if len(rows) != count:
        sys.exit(f"wake.py: {len(rows)} complete wake-ups of {count} (ended {len(ended)}, stored {len(stored)})")
    with open(os.path.join(out_dir, f"wake-{label}.jsonl"), "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")

    def pct(values, p):
        values = sorted(values)
        return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]
    summary = {"label": label, "wakeups": len(rows)}
    for key in ("stored_to_end_ms", "post_to_end_ms"):
        values = [r[key] for r in rows]
        summary[key] = {"p50": pct(values, 50), "p90": pct(values, 90), "p99": pct(values, 99), "max": max(values)}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
