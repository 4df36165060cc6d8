// libFuzzer target: the push path of WeChatPush, in the order the listener's handler runs
// it: signature → decryption → strict XML → MASSSENDJOBFINISH. The harness signs (and,
// for safe mode, encrypts) what the fuzzer writes, so the input reaches the code behind
// the signature checks.
//
// Input: the first byte picks the mode, the rest is its payload.
//   0  plain mode: the payload is the body, signed with `signature` over the query
//   1  safe mode: the payload is the plaintext XML, encrypted with the account's key
//   2  safe mode: the payload is the `Encrypt` text itself (base64, AES, padding, framing)
//   3  safe mode: the payload is the whole body; `msg_signature` is computed over the
//      `Encrypt` text it holds, when the strict reader finds one
import Foundation
import FuzzDriver
import WeChatPush

// The harness's own credentials, made up at start (no account's real values): a token and
// two 43-character EncodingAESKeys derived from fixed byte patterns, so every run signs and
// encrypts alike and the corpus stays valid.
private let token = "fuzz-harness-" + String(0xF022, radix: 16)
private let appID = "wx" + String(repeating: "0f", count: 8)
private func harnessKey(_ seed: UInt8) -> String {
    let bytes = (0..<32).map { UInt8(truncatingIfNeeded: Int($0) &* 37 &+ Int(seed)) }
    return String(Data(bytes).base64EncodedString().dropLast())  // 44 with one "=": WeChat's key drops it
}
private let crypto: CallbackCrypto = {
    do {
        return try CallbackCrypto(credentials: CallbackCredentials(
            token: token, encodingAESKey: harnessKey(11), previousEncodingAESKey: harnessKey(53), appID: appID))
    } catch {
        fatalError("fuzz-push: \(error)")
    }
}()

/// The listener's limits: 64 KiB, depth 16.
private let reader = StrictXMLReader(limits: StrictXMLReader.Limits(maxBytes: 64 * 1024, maxDepth: 16))
private let timestamp = "1796274325"
private let nonce = "1234567890"

/// What the handler does with a message it trusts: read it strictly and, for a
/// MASSSENDJOBFINISH, its fields.
private func readMessage(_ xml: String) {
    guard let root = try? reader.parse(xml) else { return }
    guard root.childText("Event")?.uppercased() == "MASSSENDJOBFINISH" else { return }
    if let event = try? MassSendJobFinish(element: root) {
        _ = event.status.wechatText
        _ = event.copyrightCheckResult.checkState.rawValue
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPush(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size >= 1 else { return 0 }
    let mode = data[0] % 4
    let payload = String(decoding: UnsafeBufferPointer(start: data + 1, count: size - 1), as: UTF8.self)
    switch mode {
    case 0:
        let signature = CallbackCrypto.sign(token: token, timestamp: timestamp, nonce: nonce)
        guard crypto.verifySignature(signature: signature, timestamp: timestamp, nonce: nonce) else {
            preconditionFailure("a correct signature was refused")
        }
        readMessage(payload)
    case 1, 2:
        let encrypt: String
        if mode == 1 {
            guard let text = try? crypto.encrypt(payload, randomBytes: Array(repeating: 7, count: 16)) else { return 0 }
            encrypt = text
        } else {
            encrypt = payload
        }
        let body = "<xml><ToUserName><![CDATA[gh_5d1c0e8f7a93]]></ToUserName><Encrypt><![CDATA[\(encrypt)]]></Encrypt></xml>"
        let signature = CallbackCrypto.sign(token: token, timestamp: timestamp, nonce: nonce, encrypt: encrypt)
        // Refused when it is not a message (not UTF-8 XML starting with <xml) or too large.
        if let (xml, _) = try? crypto.decryptMessage(body: body, msgSignature: signature, timestamp: timestamp, nonce: nonce) {
            if mode == 1 { precondition(xml == payload, "decrypt(encrypt(x)) is not x") }
            readMessage(xml)
        }
    default:
        let encrypt = (try? reader.parse(payload))?.childText("Encrypt") ?? ""
        let signature = CallbackCrypto.sign(token: token, timestamp: timestamp, nonce: nonce, encrypt: encrypt)
        if let (xml, _) = try? crypto.decryptMessage(body: payload, msgSignature: signature, timestamp: timestamp, nonce: nonce) {
            readMessage(xml)
        }
    }
    return 0
}

@main
enum FuzzPushMain {
    static func main() {
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzPush))
    }
}
