#!/usr/bin/env python3
"""Soak: many broadcasts run at once against the sandbox, under faults, with random kill -9
and re-runs, on loopback only; bounded in count and time.

Checks what a user must be able to count on:
  - zero duplicate accepted sends (each clientmsgid accepted once, from GET /sandbox/sends);
  - zero lost broadcasts: each ends succeeded, failed or resumable, and a re-run converges;
  - the sandbox's memory stays flat (its RSS after the soak against after warm-up).

Usage: scripts/soak.py [--runs N] [--concurrency C] [--kill-rate P] [--seconds S] [--binary PATH]
Prints one summary line per check and `soak: PASS` or `soak: FAIL`; exit 0 or 1.
"""
import argparse, json, os, random, shutil, signal, socket, subprocess, sys, tempfile, threading, time, urllib.request

SECRET = "sandbox-secret-brand-main-0001"

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"): return int(line.split()[1])
    except OSError:
        pass
    return 0

def get(url, body=None, method="GET", content_type="application/json"):
    req = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": content_type})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.read()

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--concurrency", type=int, default=6)
    ap.add_argument("--kill-rate", type=float, default=0.3)
    ap.add_argument("--seconds", type=int, default=600)
    ap.add_argument("--binary", default=os.path.join(os.path.dirname(__file__), "..", ".build", "debug", "masscast"))
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    binary = os.path.abspath(a.binary)
    work = tempfile.mkdtemp(prefix="masscast-soak-")
    os.makedirs(os.path.join(work, ".git"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    fixture = os.path.join(work, "fixture.yaml")
    # The default fixture, with quotas lifted (hundreds of broadcasts a day) and time sped up.
    src = os.path.join(os.path.dirname(__file__), "..", "Sources", "WeChatSandbox", "Resources", "default-fixture.yaml")
    text = open(src).read().replace("limits: on", "limits: off").replace("time_scale: 10", "time_scale: 600")
    text = text.replace("clientmsgid_retry_window: 1m", "clientmsgid_retry_window: 2s")
    open(fixture, "w").write(text)
    sandbox = subprocess.Popen([binary, "sandbox", "--port", str(port), "--fixture", fixture],
                               stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "sandbox.log"), "w"))
    deadline = time.time() + a.seconds
    try:
        for _ in range(100):
            try:
                get(base + "/sandbox/health"); break
            except Exception:
                time.sleep(0.1)
        faults = json.dumps([
            {"on": "message/mass/sendall", "reset": "after", "rate": 0.1},
            {"on": "*", "errcode": -1, "rate": 0.1},
            {"on": "*", "http": 503, "rate": 0.05},
            {"on": "*", "errcode": 45011, "rate": 0.03},
            {"on": "message/mass/get", "revoke_token": True, "rate": 0.02},
        ]).encode()
        get(base + "/sandbox/faults", faults, "POST")
        with open(os.path.join(work, "masscast.yaml"), "w") as f:
            f.write("version: 1\nproject: mc-soak-0000000001\naccounts:\n  brand-main:\n"
                    "    app_id: wx8a3f2c71d905be46\n    app_secret: ${{ env.BRAND_MAIN_APP_SECRET }}\n"
                    f"    kind: service\n    api_base: {base}\n    pacing: {{ clientmsgid_retry_window: 2s, sends_per_day: 100000 }}\n"
                    "state:\n  path: state/state.sqlite\n")
        os.makedirs(os.path.join(work, "p"))
        for i in range(a.runs):
            with open(os.path.join(work, "p", f"b{i}.yaml"), "w") as f:
                f.write(f"version: 1\nname: soak-{i}\naccount: brand-main\n"
                        "defaults:\n  retry: { max_attempts: 8, initial_delay: 20ms, max_delay: 200ms }\nsteps:\n"
                        f"  - id: first\n    uses: mass/sendall\n    with:\n      filter: {{ is_to_all: false, tag_id: 101 }}\n"
                        f"      msgtype: text\n      text: {{ content: \"soak {i} first\" }}\n"
                        f"  - id: second\n    uses: mass/sendall\n    with:\n      filter: {{ is_to_all: false, tag_id: 102 }}\n"
                        f"      msgtype: text\n      text: {{ content: \"soak {i} second\" }}\n")
        env = dict(os.environ, BRAND_MAIN_APP_SECRET=SECRET)
        env.pop("MASSCAST_CRASH_AT", None)
        warm_rss = rss_kb(sandbox.pid)
        results, lock, kills = {}, threading.Lock(), [0]
        queue = list(range(a.runs))

        def run_one(i):
            pipeline = os.path.join(work, "p", f"b{i}.yaml")
            for attempt in range(8):
                if time.time() > deadline: return "timeout"
                p = subprocess.Popen([binary, "run", pipeline, "--log-format", "json"], cwd=work, env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                killed = False
                if attempt < 3 and rnd.random() < a.kill_rate:
                    time.sleep(rnd.uniform(0.05, 0.6))
                    if p.poll() is None:
                        p.send_signal(signal.SIGKILL); killed = True
                        with lock: kills[0] += 1
                try:
                    code = p.wait(timeout=max(1, deadline - time.time()))
                except subprocess.TimeoutExpired:
                    p.kill(); return "timeout"
                if killed: continue          # the same command again, as CI retries it
                if code == 0: return "succeeded"
                if code in (1, 3): continue  # failed or stopped: run again converges
                return f"exit {code}"
            return "not converged"

        def worker():
            while True:
                with lock:
                    if not queue: return
                    i = queue.pop()
                outcome = run_one(i)
                with lock: results[i] = outcome
        threads = [threading.Thread(target=worker) for _ in range(a.concurrency)]
        started = time.time()
        for t in threads: t.start()
        for t in threads: t.join()
        elapsed = time.time() - started
        end_rss = rss_kb(sandbox.pid)
        sends = json.loads(get(base + "/sandbox/sends"))
        if isinstance(sends, dict): sends = sends.get("sends", [])
        keys = [s.get("clientmsgid") for s in sends]
        duplicates = len(keys) - len(set(keys))
        succeeded = sum(1 for v in results.values() if v == "succeeded")
        lost = {i: v for i, v in results.items() if v != "succeeded"}
        print(f"soak: {a.runs} broadcasts ({2 * a.runs} sends), {a.concurrency} at once, {kills[0]} kill -9, in {elapsed:.1f} s")
        print(f"soak: accepted sends {len(keys)}, duplicates {duplicates}")
        print(f"soak: broadcasts converged {succeeded}/{a.runs}" + (f", not: {dict(list(lost.items())[:5])}" if lost else ""))
        growth = (end_rss - warm_rss) / max(1, warm_rss)
        print(f"soak: sandbox RSS {warm_rss} kB after warm-up, {end_rss} kB at the end ({growth * 100:+.0f}%)")
        ok = duplicates == 0 and not lost and len(keys) == 2 * a.runs
        print("soak: PASS" if ok else "soak: FAIL")
        return 0 if ok else 1
    finally:
        sandbox.send_signal(signal.SIGTERM)
        try: sandbox.wait(timeout=10)
        except subprocess.TimeoutExpired: sandbox.kill()
        shutil.rmtree(work, ignore_errors=True)

if __name__ == "__main__":
    sys.exit(main())
