# -*- coding: utf-8 -*-
"""Harness of the wechatpy interop suite: the sandbox process, a wechatpy-based push
receiver, and wechatpy clients pointed at the sandbox.

The suite starts `masscast sandbox` itself (binary from $MASSCAST_BIN, default
`.build/debug/masscast` under the repository root) on port 0 with a test fixture derived
from the default one, and stops it at the end. Everything is bounded: each HTTP call has a
timeout, every wait has a deadline, and the whole run dumps its stacks and exits after
$MASSCAST_PYTEST_TIMEOUT seconds (default 90).
"""
from __future__ import annotations

import faulthandler
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

sys.dont_write_bytecode = True

from wechatpy import WeChatClient, parse_message  # noqa: E402
from wechatpy.crypto import WeChatCrypto  # noqa: E402
from wechatpy.utils import check_signature  # noqa: E402

REPO = Path(__file__).resolve().parents[4]
DEFAULT_FIXTURE = REPO / "Sources" / "WeChatSandbox" / "Resources" / "default-fixture.yaml"

# The whole run, at most (a hung call must not hang CI).
faulthandler.dump_traceback_later(float(os.environ.get("MASSCAST_PYTEST_TIMEOUT", "90")), exit=True)

HTTP_TIMEOUT = 10  # seconds, every HTTP call of the suite

# The accounts of the default fixture.
MAIN = {
    "name": "brand-main",
    "appid": "wx8a3f2c71d905be46",
    "secret": "sandbox-secret-brand-main-0001",
    "token": "sandbox-callback-token",
    "aes_key": "lTjyF/U3G2ZnGR7yZn47jiJFJylXlCsD2LjTOzO07Z4",
}
NEWS = {
    "name": "brand-news",
    "appid": "wx3e6b9d2f4a8c1705",
    "secret": "sandbox-secret-brand-news-0001",
    "token": "sandbox-callback-token-news",
}
TRIAL = {
    "name": "brand-trial",
    "appid": "wx5c8e1a7d3b9f2604",
    "secret": "sandbox-secret-brand-trial-0001",
}

# Job progress: sandbox time runs TIME_SCALE times faster than the wall clock; a job stays
# in review (SENDING) for REVIEW sandbox seconds, i.e. about one wall second, then sends
# its (small) audience at once and is pushed PUSH_DELAY sandbox seconds later.
TIME_SCALE = 100
REVIEW_SANDBOX_SECONDS = 100
CLIENTMSGID_RETRY_WINDOW = 1  # wall seconds: a repeat sooner is 45066, later 45065

# (pattern, replacement) applied to the default fixture; each must match exactly once.
FIXTURE_EDITS = [
    (r"^time_scale: .*$", "time_scale: %d" % TIME_SCALE),
    (r"^(\s+)review: .*$", r"\g<1>review: %ds" % REVIEW_SANDBOX_SECONDS),
    (r"^(\s+)clientmsgid_retry_window: .*$", r"\g<1>clientmsgid_retry_window: %ds" % CLIENTMSGID_RETRY_WINDOW),
    # The suite polls mass/get and sends to the same tag many times: quotas off where they
    # would get in the way (the quota rules have their own Swift tests).
    (r"^(\s+)mass_calls_per_minute: .*$", r"\g<1>mass_calls_per_minute: off"),
    (r"^(\s+)sends_per_day: .*$", r"\g<1>sends_per_day: off"),
    (r"^(\s+)follower_messages_per_month: .*$", r"\g<1>follower_messages_per_month: off"),
    (r"^(\s+)uploadnews_per_day: .*$", r"\g<1>uploadnews_per_day: off"),
    (r"^(\s+)deletes_per_day: .*$", r"\g<1>deletes_per_day: off"),
]


def write_test_fixture(directory: Path) -> Path:
    text = DEFAULT_FIXTURE.read_text(encoding="utf-8")
    for pattern, replacement in FIXTURE_EDITS:
        text, count = re.subn(pattern, replacement, text, flags=re.MULTILINE)
        if count != 1:
            raise RuntimeError(
                "the default fixture %s changed shape: %r matched %d times (expected once)"
                % (DEFAULT_FIXTURE, pattern, count)
            )
    path = directory / "wechatpy-suite-fixture.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def masscast_binary() -> Path:
    value = os.environ.get("MASSCAST_BIN", ".build/debug/masscast")
    path = Path(value)
    if not path.is_absolute():
        path = REPO / path
    return path


def _die_with_parent():
    """preexec_fn: the sandbox gets SIGTERM when this Python process dies (Linux)."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


# MARK: The sandbox process


class Sandbox:
    """A running `masscast sandbox` and small helpers for its /sandbox/ endpoints."""

    def __init__(self, binary: Path, fixture: Path):
        self.binary = binary
        self.fixture = fixture
        self.log: list[str] = []
        self.base = None
        self.process = subprocess.Popen(
            [str(binary), "sandbox", "--port", "0", "--fixture", str(fixture)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        found = threading.Event()

        def drain():
            for raw in self.process.stderr:
                line = raw.decode("utf-8", "replace")
                self.log.append(line)
                match = re.search(r"listening on (http://[\w.\[\]:-]+:\d+)", line)
                if match and not found.is_set():
                    self.base = match.group(1)
                    found.set()

        threading.Thread(target=drain, name="sandbox-stderr", daemon=True).start()
        deadline = time.monotonic() + 30
        while not found.wait(0.05):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    "masscast sandbox did not start (exit %s); its stderr:\n%s"
                    % (self.process.returncode, "".join(self.log)[-4000:])
                )

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # graceful, as Ctrl-C
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    # The inspection and admin endpoints.

    def request(self, method: str, path: str, body=None):
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
                return response.status, json.loads(response.read().decode("utf-8") or "null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read().decode("utf-8") or "null")

    def get(self, path: str):
        status, value = self.request("GET", path)
        assert status == 200, "GET %s: HTTP %s %s" % (path, status, value)
        return value

    def post(self, path: str, body):
        status, value = self.request("POST", path, body)
        assert status == 200, "POST %s %s: HTTP %s %s" % (path, body, status, value)
        return value

    def sends(self, account: str = MAIN["name"]):
        return self.get("/sandbox/sends?account=" + urllib.parse.quote(account))["sends"]

    def send(self, msg_id):
        matches = [s for s in self.get("/sandbox/sends")["sends"] if s["msg_id"] == int(msg_id)]
        assert len(matches) == 1, "expected one send with msg_id %s, got %s" % (msg_id, matches)
        return matches[0]

    def calls(self, account: str = MAIN["name"], after: int = 0):
        return self.get("/sandbox/calls?account=%s&after=%d" % (urllib.parse.quote(account), after))["calls"]

    def jobs(self):
        return self.get("/sandbox/jobs")["jobs"]

    def pushes(self):
        return self.get("/sandbox/pushes")["pushes"]

    def previews(self):
        return self.get("/sandbox/previews")["previews"]

    def accounts(self):
        return {a["name"]: a for a in self.get("/sandbox/accounts")["accounts"]}

    def add_faults(self, rules):
        return self.post("/sandbox/faults", {"rules": rules})

    def clear_faults(self):
        status, value = self.request("DELETE", "/sandbox/faults")
        assert status == 200, value

    def wait_idle(self, timeout: float = 15):
        """Until every job is done and no push is scheduled or in flight."""
        deadline = time.monotonic() + timeout
        while True:
            running = [j for j in self.jobs() if j["phase"] != "done"]
            pending = [p for p in self.pushes() if p["status"] in ("scheduled", "delivering")]
            if not running and not pending:
                return
            if time.monotonic() > deadline:
                raise AssertionError("the sandbox is still busy: jobs %s, pushes %s" % (running, pending))
            time.sleep(0.05)


# MARK: The wechatpy-based push receiver


class PushReceiver:
    """An application's callback server, built on wechatpy: it verifies and decrypts each
    MASSSENDJOBFINISH push (safe mode: `WeChatCrypto.decrypt_message` with msg_signature;
    plain mode: `check_signature`), parses it with `parse_message`, answers `success` and
    records it. `/wechat/<account>` is the URL of each account."""

    def __init__(self):
        self.lock = threading.Lock()
        self.deliveries: list[dict] = []  # every request, in arrival order
        self.errors: list[str] = []  # verification or parsing failures
        self.fail_first: dict[int, int] = {}  # MsgID → tries still to answer with HTTP 500
        self.accounts = {
            MAIN["name"]: {"token": MAIN["token"], "crypto": WeChatCrypto(MAIN["token"], MAIN["aes_key"], MAIN["appid"])},
            NEWS["name"]: {"token": NEWS["token"], "crypto": None},
        }
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status, answer = receiver.handle(self.path, body)
                payload = answer.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       name="push-receiver", daemon=True)
        self.thread.start()

    def url(self, account: str) -> str:
        return "http://127.0.0.1:%d/wechat/%s" % (self.server.server_address[1], account)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def handle(self, path: str, body: bytes):
        parsed = urllib.parse.urlparse(path)
        query = {k: v[0] for k, v in urllib.parse.parse_qs(parsed.query).items()}
        account = parsed.path.rsplit("/", 1)[-1]
        record = {"account": account, "query": query, "body": body.decode("utf-8", "replace"),
                  "at": time.time(), "ok": False}
        try:
            settings = self.accounts[account]
            # Every push is signed with the token (`signature`), encrypted or not.
            check_signature(settings["token"], query["signature"], query["timestamp"], query["nonce"])
            if query.get("encrypt_type") == "aes":
                xml = settings["crypto"].decrypt_message(
                    record["body"], query["msg_signature"], query["timestamp"], query["nonce"])
                record["mode"] = "safe"
            else:
                if settings["crypto"] is not None:
                    raise ValueError("an unencrypted push to a safe-mode account")
                xml = record["body"]
                record["mode"] = "plain"
            message = parse_message(xml)
            record.update(xml=xml, message=message, msg_id=int(message.id), ok=True)
        except Exception as error:  # InvalidSignatureException, InvalidAppIdException, KeyError, …
            record["error"] = "%s: %s" % (type(error).__name__, error)
            with self.lock:
                self.deliveries.append(record)
                self.errors.append("%s %s: %s" % (account, path, record["error"]))
            return 400, "bad request"
        with self.lock:
            self.deliveries.append(record)
            left = self.fail_first.get(record["msg_id"], 0)
            if left > 0:
                self.fail_first[record["msg_id"]] = left - 1
                record["answered"] = 500
                return 500, "try again"
        record["answered"] = 200
        return 200, "success"

    def for_msg(self, msg_id) -> list[dict]:
        with self.lock:
            return [d for d in self.deliveries if d.get("msg_id") == int(msg_id)]

    def wait_for(self, msg_id, count: int = 1, timeout: float = 15) -> list[dict]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.for_msg(msg_id)
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(
                    "expected %d push(es) for msg_id %s within %ss, got %d; receiver errors: %s"
                    % (count, msg_id, timeout, len(found), self.errors))
            time.sleep(0.05)


# MARK: wechatpy clients


class SandboxWeChatClient(WeChatClient):
    """`wechatpy.WeChatClient` as an application would point it at the sandbox:
    `API_BASE_URL` on the sandbox's /cgi-bin/ and `fetch_access_token` on its token endpoint
    (`/cgi-bin/token`, or `/cgi-bin/stable_token` when `stable=True`)."""

    def __init__(self, base: str, appid: str, secret: str, stable: bool = False):
        super().__init__(appid, secret, timeout=HTTP_TIMEOUT)
        self.API_BASE_URL = base + "/cgi-bin/"
        self.sandbox_base = base
        self.stable = stable
        self.token_fetches = 0

    def fetch_access_token(self):
        self.token_fetches += 1
        if not self.stable:
            return self._fetch_access_token(
                url=self.sandbox_base + "/cgi-bin/token",
                params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
            )
        # stable_token is a JSON POST; store the answer as _fetch_access_token does.
        res = self._http.post(
            self.sandbox_base + "/cgi-bin/stable_token",
            data=json.dumps({"grant_type": "client_credential", "appid": self.appid,
                             "secret": self.secret, "force_refresh": False}),
            timeout=HTTP_TIMEOUT,
        )
        res.raise_for_status()
        result = res.json()
        if result.get("errcode", 0) != 0:
            raise AssertionError("stable_token failed: %s" % result)
        expires_in = result.get("expires_in", 7200)
        self.session.set(self.access_token_key, result["access_token"], expires_in)
        self.expires_at = int(time.time()) + expires_in
        return result


# MARK: pytest fixtures


@pytest.fixture(scope="session")
def workdir():
    path = Path(tempfile.mkdtemp(prefix="masscast-wechatpy-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def receiver():
    server = PushReceiver()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sandbox(workdir, receiver):
    binary = masscast_binary()
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        pytest.exit("no masscast binary at %s (build it with `swift build`, or set MASSCAST_BIN)" % binary,
                    returncode=1)
    try:
        running = Sandbox(binary, write_test_fixture(workdir))
    except RuntimeError as error:  # one clear message instead of one error per test
        pytest.exit(str(error), returncode=1)
    try:
        # Point both accounts' pushes at the wechatpy receiver.
        for account in (MAIN["name"], NEWS["name"]):
            running.post("/sandbox/callback", {"account": account, "url": receiver.url(account)})
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def client(sandbox):
    """brand-main (verified service account, safe-mode pushes), token from /cgi-bin/token."""
    return SandboxWeChatClient(sandbox.base, MAIN["appid"], MAIN["secret"])


@pytest.fixture(scope="session")
def stable_client(sandbox):
    """brand-main again, token from /cgi-bin/stable_token (so it does not fight `client`)."""
    return SandboxWeChatClient(sandbox.base, MAIN["appid"], MAIN["secret"], stable=True)


@pytest.fixture(scope="session")
def news_client(sandbox):
    """brand-news (verified subscription account, plain-mode pushes)."""
    return SandboxWeChatClient(sandbox.base, NEWS["appid"], NEWS["secret"], stable=True)


@pytest.fixture(scope="session")
def trial_client(sandbox):
    """brand-trial (unverified subscription account, no callback)."""
    return SandboxWeChatClient(sandbox.base, TRIAL["appid"], TRIAL["secret"], stable=True)


@pytest.fixture(scope="session")
def ledger():
    """Every msg_id the suite's mass sends were answered with, per account."""
    return {MAIN["name"]: [], NEWS["name"]: []}
