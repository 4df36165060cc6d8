#!/usr/bin/env python3
"""Generates distinct safe-mode MASSSENDJOBFINISH pushes for the listener benchmark.

Each push is encrypted and signed by wechatpy itself
(`WeChatCrypto(token, aes_key, app_id).encrypt_message(xml, nonce, timestamp)`), then
written as WeChat POSTs it in safe mode (安全模式):
  query: signature, timestamp, nonce, openid, encrypt_type=aes, msg_signature
  body:  <xml><ToUserName><![CDATA[gh_…]]></ToUserName><Encrypt><![CDATA[…]]></Encrypt></xml>

Output: one request per line, `TARGET<TAB>BODY` (TARGET = path?query; neither contains a
tab or a newline). Every push has its own MsgID (so each is stored) and its own nonce; all
share one timestamp (default: now), so they are inside the listener's 5-minute window when
the round runs right after. A JSON summary goes to stderr.

Usage: gen_pushes.py --count N --seed S --out FILE [--timestamp T] [--path /wechat/callback/brand-main]
"""
import argparse
import hashlib
import json
import random
import re
import sys
import time
from urllib.parse import quote

# The benchmark account (also in run.sh's masscast.yaml): the sandbox fixture's brand-main.
TOKEN = "sandbox-callback-token"
AES_KEY = "lTjyF/U3G2ZnGR7yZn47jiJFJylXlCsD2LjTOzO07Z4"
APP_ID = "wx8a3f2c71d905be46"
ORIGINAL_ID = "gh_5d1c0e8f7a93"
SYSTEM_OPENID = "oSystem0000000000000000000000"


def cdata(text):
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def push_xml(rng, msg_id, create_time):
    """A MASSSENDJOBFINISH as WeChat writes it. About half are mpnews jobs, which carry
    CopyrightCheckResult and ArticleUrlResult (1–3 articles); the others (text, image,
    voice, video) carry neither."""
    total = rng.randint(2, 50_000)
    filtered = total - rng.randint(0, total // 20)
    errors = rng.randint(0, filtered // 50)
    roll = rng.random()
    status = "send success" if roll < 0.9 else ("send fail" if roll < 0.95 else "err(%d)" % rng.choice([10001, 20001, 30003]))
    out = ["<xml>"]
    out.append("<ToUserName>%s</ToUserName>" % cdata(ORIGINAL_ID))
    out.append("<FromUserName>%s</FromUserName>" % cdata(SYSTEM_OPENID))
    out.append("<CreateTime>%d</CreateTime>" % create_time)
    out.append("<MsgType>%s</MsgType>" % cdata("event"))
    out.append("<Event>%s</Event>" % cdata("MASSSENDJOBFINISH"))
    out.append("<MsgID>%d</MsgID>" % msg_id)
    out.append("<Status>%s</Status>" % cdata(status))
    out.append("<TotalCount>%d</TotalCount>" % total)
    out.append("<FilterCount>%d</FilterCount>" % filtered)
    out.append("<SentCount>%d</SentCount>" % (filtered - errors))
    out.append("<ErrorCount>%d</ErrorCount>" % errors)
    if rng.random() < 0.5:
        articles = rng.randint(1, 3)
        out.append("<CopyrightCheckResult><Count>%d</Count><ResultList>" % articles)
        for idx in range(1, articles + 1):
            out.append(
                "<item><ArticleIdx>%d</ArticleIdx><UserDeclareState>0</UserDeclareState><AuditState>2</AuditState>"
                "<OriginalArticleUrl>%s</OriginalArticleUrl><OriginalArticleType>1</OriginalArticleType>"
                "<CanReprint>1</CanReprint><NeedReplaceContent>1</NeedReplaceContent>"
                "<NeedShowReprintSource>1</NeedShowReprintSource></item>"
                % (idx, cdata("https://mp.weixin.qq.com/s/orig%d-%d" % (msg_id, idx))))
        out.append("</ResultList><CheckState>%d</CheckState></CopyrightCheckResult>" % rng.choice([1, 2, 3]))
        out.append("<ArticleUrlResult><Count>%d</Count><ResultList>" % articles)
        for idx in range(1, articles + 1):
            url = "https://mp.weixin.qq.com/s?__biz=MzA4NjQ0MTk1Nw==&mid=%d&idx=%d&sn=%032x" % (
                msg_id, idx, rng.getrandbits(128))
            out.append("<item><ArticleIdx>%d</ArticleIdx><ArticleUrl>%s</ArticleUrl></item>" % (idx, cdata(url)))
        out.append("</ResultList></ArticleUrlResult>")
    out.append("</xml>")
    return "".join(out)


def sha1_sorted(*parts):
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", required=True)
    parser.add_argument("--timestamp", type=int, default=None, help="Unix seconds (default: now)")
    parser.add_argument("--path", default="/wechat/callback/brand-main")
    args = parser.parse_args()

    import wechatpy
    from wechatpy.crypto import WeChatCrypto

    started = time.perf_counter()
    rng = random.Random(args.seed)
    crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)
    timestamp = str(args.timestamp if args.timestamp is not None else int(time.time()))
    reply_pattern = re.compile(
        r"<Encrypt><!\[CDATA\[([^\]]*)\]\]></Encrypt>\s*<MsgSignature><!\[CDATA\[([0-9a-f]{40})\]\]></MsgSignature>")
    first_msg_id = 1_000_000_000 + rng.randrange(0, 1_000_000_000)
    nonces = set()
    body_bytes = 0
    with open(args.out, "w", encoding="utf-8", newline="\n") as out:
        for i in range(args.count):
            msg_id = first_msg_id + i
            nonce = str(rng.randrange(100_000_000, 4_294_967_296))
            while nonce in nonces:
                nonce = str(rng.randrange(100_000_000, 4_294_967_296))
            nonces.add(nonce)
            xml = push_xml(rng, msg_id, int(timestamp) - rng.randint(0, 3600))
            reply = crypto.encrypt_message(xml, nonce, timestamp)
            match = reply_pattern.search(reply)
            if not match:
                sys.exit("gen_pushes.py: unexpected encrypt_message output: %r" % reply[:200])
            encrypt, msg_signature = match.group(1), match.group(2)
            body = "<xml><ToUserName>%s</ToUserName><Encrypt>%s</Encrypt></xml>" % (cdata(ORIGINAL_ID), cdata(encrypt))
            query = "signature=%s&timestamp=%s&nonce=%s&openid=%s&encrypt_type=aes&msg_signature=%s" % (
                sha1_sorted(TOKEN, timestamp, nonce), timestamp, nonce, quote(SYSTEM_OPENID), msg_signature)
            out.write("%s?%s\t%s\n" % (args.path, query, body))
            body_bytes += len(body)
    json.dump({
        "count": args.count, "timestamp": int(timestamp), "first_msg_id": first_msg_id,
        "last_msg_id": first_msg_id + args.count - 1, "mean_body_bytes": round(body_bytes / max(1, args.count), 1),
        "wechatpy": wechatpy.__version__, "seconds": round(time.perf_counter() - started, 3),
    }, sys.stderr)
    sys.stderr.write("\n")


if __name__ == "__main__":
    main()
