#!/usr/bin/env python3
"""Interop helper: runs wechatpy 1.8.18's WeChatCrypto for the Swift tests.

Input: one JSON object, taken from argv[1] (a JSON text, or "@path" to read a file) or,
without an argument, from stdin. Output: one JSON object on stdout.

Commands ("op"):
  check    -> {"ok": true, "version": "1.8.18"}
  encrypt  {token, encoding_aes_key, app_id, xml, nonce, timestamp, random?}
           -> {"ok": true, "reply": <reply xml>, "encrypt": ..., "msg_signature": ...}
           "random" (16 ASCII characters) fixes wechatpy's random prefix, for known answers.
  decrypt  {token, encoding_aes_key, app_id, msg, timestamp, nonce, signature?}
           -> {"ok": true, "xml": ...} or {"ok": false, "error": <exception class>}
           Without "signature", the MsgSignature inside "msg" is used.
  batch    {commands: [...]} -> {"ok": true, "results": [...]}
"""
import json
import sys


def run(command):
    op = command.get("op")
    if op == "check":
        import wechatpy
        import wechatpy.crypto  # noqa: F401  (fails without cryptography/pycryptodome)
        return {"ok": True, "version": wechatpy.__version__}
    if op == "batch":
        return {"ok": True, "results": [run(c) for c in command["commands"]]}

    import xmltodict
    from wechatpy.crypto import WeChatCrypto, PrpCrypto

    crypto = WeChatCrypto(command["token"], command["encoding_aes_key"], command["app_id"])
    if op == "encrypt":
        random = command.get("random")
        original = PrpCrypto.get_random_string
        if random is not None:
            PrpCrypto.get_random_string = lambda self: random
        try:
            reply = crypto.encrypt_message(command["xml"], command["nonce"], command["timestamp"])
        finally:
            PrpCrypto.get_random_string = original
        fields = xmltodict.parse(reply)["xml"]
        return {
            "ok": True,
            "reply": reply,
            "encrypt": fields["Encrypt"],
            "msg_signature": fields["MsgSignature"],
        }
    if op == "decrypt":
        msg = command["msg"]
        signature = command.get("signature")
        if signature is None:
            signature = xmltodict.parse(msg)["xml"]["MsgSignature"]
        try:
            xml = crypto.decrypt_message(msg, signature, command["timestamp"], command["nonce"])
        except Exception as error:  # report, don't crash: the Swift side checks the class
            return {"ok": False, "error": type(error).__name__}
        return {"ok": True, "xml": xml}
    return {"ok": False, "error": "unknown op %r" % (op,)}


def main():
    if len(sys.argv) > 1:
        argument = sys.argv[1]
        if argument.startswith("@"):
            with open(argument[1:], encoding="utf-8") as handle:
                text = handle.read()
        else:
            text = argument
    else:
        text = sys.stdin.read()
    status = 0
    try:
        result = run(json.loads(text))
    except Exception as error:  # the helper itself failed (bad input, missing module)
        result = {"ok": False, "error": "%s: %s" % (type(error).__name__, error)}
        status = 1
    sys.stdout.write(json.dumps(result, ensure_ascii=False))
    sys.stdout.write("\n")
    return status


if __name__ == "__main__":
    sys.exit(main())
