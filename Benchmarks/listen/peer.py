#!/usr/bin/env python3
"""The peer: wechatpy 1.8.18's decrypt-and-parse loop over the benchmark's pushes.

For each line of the request file (TARGET<TAB>BODY, from gen_pushes.py), in one process:
  xml = crypto.decrypt_message(body, msg_signature, timestamp, nonce)   # msg_signature + AES + AppID
  msg = wechatpy.parse_message(xml)                                        # MassSendJobFinishEvent
and the fields a handler would keep (MsgID, Status, the four counts) are read into a list.
No HTTP, no storage, no timestamp window or replay check (wechatpy has none).

Reading the file and splitting each query into its parameters happen before the clock
starts; only the loop is timed. Prints one JSON line: count, seconds (wall), cpu_seconds,
per_second, and checks that every message parsed as MASSSENDJOBFINISH with distinct MsgIDs.

Usage: peer.py FILE
       peer.py --breakdown FILE   times the parts of the loop separately (xmltodict over the
                                  body, the AES decryption alone, decrypt_message, xmltodict
                                  over the message, parse_message), µs per message
"""
import json
import sys
import time
from urllib.parse import parse_qsl, urlsplit


def breakdown(path):
    import wechatpy
    import xmltodict
    from wechatpy.crypto import PrpCrypto, WeChatCrypto

    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    from gen_pushes import AES_KEY, APP_ID, TOKEN

    requests = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            target, body = line.rstrip("\n").split("\t", 1)
            query = dict(parse_qsl(urlsplit(target).query))
            requests.append((body, query["msg_signature"], query["timestamp"], query["nonce"]))
    crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)
    prp = PrpCrypto(crypto.key)
    encrypts = [xmltodict.parse(r[0])["xml"]["Encrypt"] for r in requests]
    messages = [prp.decrypt(e, APP_ID) for e in encrypts]
    parts = [
        ("xmltodict over the body", lambda: [xmltodict.parse(r[0]) for r in requests]),
        ("AES-CBC + padding + AppID alone (PrpCrypto.decrypt)", lambda: [prp.decrypt(e, APP_ID) for e in encrypts]),
        ("decrypt_message (all of the above + signature)", lambda: [crypto.decrypt_message(*r) for r in requests]),
        ("xmltodict over the decrypted message", lambda: [xmltodict.parse(m) for m in messages]),
        ("parse_message", lambda: [wechatpy.parse_message(m) for m in messages]),
    ]
    for name, run in parts:
        started = time.perf_counter()
        run()
        print("%-55s %7.1f µs" % (name, 1e6 * (time.perf_counter() - started) / len(requests)))


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--breakdown":
        breakdown(sys.argv[2])
        return
    import wechatpy
    from wechatpy.crypto import WeChatCrypto
    from wechatpy.events import MassSendJobFinishEvent

    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    from gen_pushes import AES_KEY, APP_ID, TOKEN

    requests = []
    with open(sys.argv[1], encoding="utf-8") as handle:
        for line in handle:
            target, body = line.rstrip("\n").split("\t", 1)
            query = dict(parse_qsl(urlsplit(target).query))
            requests.append((body, query["msg_signature"], query["timestamp"], query["nonce"]))

    crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)
    parse_message = wechatpy.parse_message
    kept = []
    keep = kept.append
    cpu_started = time.process_time()
    started = time.perf_counter()
    for body, msg_signature, timestamp, nonce in requests:
        xml = crypto.decrypt_message(body, msg_signature, timestamp, nonce)
        msg = parse_message(xml)
        keep((msg, msg.id, msg.status, msg.total_count, msg.filter_count, msg.sent_count, msg.error_count))
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started

    bad = sum(1 for k in kept if not isinstance(k[0], MassSendJobFinishEvent) or not k[1])
    distinct = len({k[1] for k in kept})
    json.dump({
        "count": len(kept), "seconds": seconds, "cpu_seconds": cpu_seconds,
        "per_second": len(kept) / seconds if seconds > 0 else 0.0,
        "not_masssendjobfinish": bad, "distinct_msg_ids": distinct, "wechatpy": wechatpy.__version__,
    }, sys.stdout)
    sys.stdout.write("\n")
    if bad or distinct != len(requests):
        sys.exit("peer.py: %d messages did not parse as MASSSENDJOBFINISH; %d distinct MsgIDs of %d" % (
            bad, distinct, len(requests)))


if __name__ == "__main__":
    main()
