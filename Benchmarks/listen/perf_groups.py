#!/usr/bin/env python3
"""Groups a `perf record -g` profile of the listener by what the time was spent on.

Usage: perf_groups.py PERF_SCRIPT_DEMANGLED CPU_US_PER_PUSH
  PERF_SCRIPT_DEMANGLED: `perf script -F comm,ip,sym | swift demangle --simplified`
  CPU_US_PER_PUSH: the listener's CPU time per push in that run (user + system)

Each sample goes to the first group (in the order below) that any frame of its stack
matches, so a group includes its callees (malloc, retain/release, the kernel) except
those claimed by an earlier group. Prints a markdown table: share of the samples, and
that share of the CPU time per push.
"""
import collections
import sys

GROUPS = [
    ("AES-CBC decryption (OpenSSL EVP through WeChatPush `AESCBC`; before 2026-12-03 swift-crypto `AES._CBC.decrypt`)",
     ["AESCBC", "EVP_Cipher", "EVP_Decrypt", "AES._CBC.decrypt"]),
    ("base64 of `Encrypt` and the SHA-1 `msg_signature`", ["CallbackEncoding.base64Decode", "CallbackCrypto.verifyMessageSignature",
                                                           "CallbackCrypto.sign"]),
    ("strict XML reader, outer body and decrypted message (WeChatMP)", ["StrictXMLReader.parse"]),
    ("MASSSENDJOBFINISH and event fields from the tree (WeChatMP)", ["MassSendJobFinish.init", "CallbackEvent.init"]),
    ("inbox record (`InboxMapping`: articles JSON through `JSONEncoder`)", ["InboxMapping.event"]),
    ("the log line (JSON) and counters (`CallbackHandler.record`)", ["CallbackHandler.record"]),
    ("replay guard (actor)", ["ReplayGuard"]),
    ("SQLite insert and commit on GRDB's writer (`storeInboxEvent`, group commit)", ["storeInboxEvent", "commitInbox",
                                                                        "InboxCommits", "DatabaseWriter", "SerializedDatabase",
                                                                        "sqlite3", "__x64_sys_pwrite64", "__x64_sys_fdatasync",
                                                                        "__x64_sys_fcntl"]),
    ("`Bounded` (body read and store; from 2026-12-03's third pass one task per wait and a shared `DeadlineSweeper`)",
     ["Bounded", "ResumeOnce", "DeadlineSweeper", "JoinedExpiry", "Task<>._sleep", "Clock.sleep", "_dispatch_timer", "dispatch_after", "_dispatch_mgr"]),
    ("`CallbackHandler`, the rest (routing, window, checks)", ["CallbackHandler."]),
    ("the listener's own HTTP code: routes, body, query, answer (`ListenerHTTPHandler`, `Routes` since 2026-12-04; "
     "before, `ListenerServer.respond`)",
     ["ListenerHTTPHandler", "Routes.", "ListenerServer", "Connections."]),
    ("Hummingbird (router, HTTP channel, response writer; the listener's server until 2026-12-04)", ["Hummingbird", "RouterResponder", "HTTPChannelHandler", "HTTP1Channel",
                                                             "RouterTrie", "ApplicationProtocol", "ResponseWriter"]),
    ("SwiftNIO event loops (sockets, HTTP parsing, writes)", ["SelectableEventLoop", "NIO"]),
    ("Swift concurrency runtime (task switches, continuations)", ["swift_task", "swift_job_run", "completeTaskWithClosure",
                                                                  "withTaskCancellationHandler", "swift_continuation"]),
    ("malloc/free whose caller perf lost (glibc has no frame pointers)", ["malloc", "_int_free", "cfree", "unlink_chunk"]),
]


def samples(path):
    current = None
    with open(path, errors="replace") as handle:
        for line in handle:
            line = line.rstrip("\n")
            if not line.strip():
                if current:
                    yield current
                current = None
            elif not line.startswith((" ", "\t")):
                current = (line.split()[0], [])
            elif current is not None:
                parts = line.split(None, 1)
                current[1].append(parts[1] if len(parts) > 1 else "?")
    if current:
        yield current


def main():
    cpu_us = float(sys.argv[2])
    counts = collections.Counter()
    total = 0
    for _, frames in samples(sys.argv[1]):
        total += 1
        stack = "\n".join(frames)
        for name, patterns in GROUPS:
            if any(pattern in stack for pattern in patterns):
                counts[name] += 1
                break
        else:
            counts["other"] += 1
    print("| where (listener process) | share of samples | CPU per push |")
    print("|---|---:|---:|")
    for name, _ in GROUPS + [("other", [])]:
        share = counts[name] / total if total else 0
        print("| %s | %.1f%% | %.0f µs |" % (name, 100 * share, share * cpu_us))
    print("| **all** (%d samples) | 100%% | %.0f µs |" % (total, cpu_us))


if __name__ == "__main__":
    main()
