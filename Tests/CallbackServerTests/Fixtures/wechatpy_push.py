#!/usr/bin/env python3
"""Encrypts MASSSENDJOBFINISH pushes with wechatpy 1.8.18, for the listener's tests.

Input (argv[1], a JSON text, or "@path" to read a file):
  {"token": ..., "encoding_aes_key": ..., "app_id": ...,
   "messages": [{"xml": ..., "nonce": ..., "timestamp": ...}, ...]}
Output (stdout): {"ok": true, "version": "1.8.18", "results": [{"reply": ..., "encrypt": ..., "msg_signature": ...}]}
"reply" is what WeChatCrypto.encrypt_message returns (<xml><Encrypt/><MsgSignature/><TimeStamp/><Nonce/></xml>);
"encrypt" and "msg_signature" are read from it with wechatpy's own XML parsing (xmltodict).
"""
import json
import sys


def main():
    argument = sys.argv[1]
    if argument.startswith("@"):
        with open(argument[1:], encoding="utf-8") as handle:
            command = json.load(handle)
    else:
        command = json.loads(argument)
    import wechatpy
    import xmltodict
    from wechatpy.crypto import WeChatCrypto

    crypto = WeChatCrypto(command["token"], command["encoding_aes_key"], command["app_id"])
    results = []
    for message in command["messages"]:
        reply = crypto.encrypt_message(message["xml"], message["nonce"], message["timestamp"])
        fields = xmltodict.parse(reply)["xml"]
        results.append({"reply": reply, "encrypt": fields["Encrypt"], "msg_signature": fields["MsgSignature"]})
    sys.stdout.write(json.dumps({"ok": True, "version": wechatpy.__version__, "results": results}))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
