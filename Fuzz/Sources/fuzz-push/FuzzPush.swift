// libFuzzer target: the listener's push path without HTTP (CallbackServer's
// `CallbackHandler.handle`): signature → decryption → strict XML → MASSSENDJOBFINISH → the
// inbox of a real SQLite state store. The harness signs (and, for safe mode, encrypts) what
// the fuzzer writes, so the input reaches the code behind the signature checks.
//
// Input: the first byte picks the mode, the rest is its payload.
//   0  plain POST to the bare path: the payload is the body (routed by its ToUserName)
//   1  safe POST: the payload is the plaintext XML, encrypted with brand-main's key
//   2  safe POST: the payload is the `Encrypt` text itself (base64, AES, padding, framing)
//   3  plain POST to brand-news's path: the payload is the body
//   4  GET URL verification: the payload is the echostr
import CallbackServer
import Foundation
import StateSQLite
import WeChatPush
import FuzzDriver

private let main = ListenerAccount(
    name: "brand-main", appID: "wx8a3f2c71d905be46", originalID: "gh_5d1c0e8f7a93",
    token: "sandbox-callback-token", aesKey: "lTjyF/U3G2ZnGR7yZn47jiJFJylXlCsD2LjTOzO07Z4")
private let news = ListenerAccount(
    name: "brand-news", appID: "wx3e6b9d2f4a8c1705", originalID: "gh_2b7e4f9a0c61",
    token: "sandbox-callback-token-news")

private let directory: String = {
    let path = NSTemporaryDirectory() + "masscast-fuzz-push-\(getpid())"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}()

private let handler: CallbackHandler = {
    do {
        let store = try SQLiteStateStore(path: directory + "/state.sqlite")
        return try CallbackHandler(configuration: ListenerConfiguration(accounts: [main, news]), store: store)
    } catch {
        fatalError("fuzz-push: cannot set up the handler: \(error)")
    }
}()

private let crypto: CallbackCrypto = {
    do {
        return try CallbackCrypto(credentials: CallbackCredentials(
            token: main.token, encodingAESKey: main.aesKey, appID: main.appID))
    } catch {
        fatalError("fuzz-push: \(error)")
    }
}()

private let now = Date(timeIntervalSince1970: 1_796_274_325)
private let timestamp = "1796274325"
nonisolated(unsafe) private var counter = 0

private final class Box: @unchecked Sendable {
    var response: CallbackResponse?
}

/// Runs one request through the handler and waits for its answer.
private func handle(method: String, path: String, query: [String: String], body: [UInt8]) -> CallbackResponse {
    let box = Box()
    let done = DispatchSemaphore(value: 0)
    Task {
        box.response = await handler.handle(method: method, path: path, query: query, body: body, now: now)
        done.signal()
    }
    done.wait()
    return box.response!
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPush(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    guard size >= 1 else { return 0 }
    let mode = data[0] % 5
    let payload = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    counter += 1
    // A fresh nonce each time: the replay memory is not what is being fuzzed.
    let nonce = String(1_000_000_000 + counter)
    let response: CallbackResponse
    switch mode {
    case 0, 3:
        let account = mode == 0 ? main : news
        let query = ["signature": CallbackCrypto.sign(token: account.token, timestamp: timestamp, nonce: nonce),
                     "timestamp": timestamp, "nonce": nonce, "openid": "oSystem"]
        response = handle(method: "POST", path: mode == 0 ? "/wechat/callback" : "/wechat/callback/brand-news",
                          query: query, body: payload)
    case 1, 2:
        let encrypt: String
        if mode == 1 {
            guard let text = try? crypto.encrypt(String(decoding: payload, as: UTF8.self), randomBytes: Array(repeating: 7, count: 16))
            else { return 0 }
            encrypt = text
        } else {
            encrypt = String(decoding: payload, as: UTF8.self)
        }
        let body = "<xml><ToUserName><![CDATA[gh_5d1c0e8f7a93]]></ToUserName><Encrypt><![CDATA[\(encrypt)]]></Encrypt></xml>"
        let query = [
            "signature": CallbackCrypto.sign(token: main.token, timestamp: timestamp, nonce: nonce),
            "msg_signature": CallbackCrypto.sign(token: main.token, timestamp: timestamp, nonce: nonce, encrypt: encrypt),
            "timestamp": timestamp, "nonce": nonce, "openid": "oSystem", "encrypt_type": "aes",
        ]
        response = handle(method: "POST", path: "/wechat/callback/brand-main", query: query, body: Array(body.utf8))
    default:
        let echo = String(decoding: payload, as: UTF8.self)
        let query = ["signature": CallbackCrypto.sign(token: news.token, timestamp: timestamp, nonce: nonce),
                     "timestamp": timestamp, "nonce": nonce, "echostr": echo]
        response = handle(method: "GET", path: "/wechat/callback/brand-news", query: query, body: [])
    }
    // Every answer is one of the documented statuses, and never shows a secret the input did not hold.
    precondition([200, 400, 403, 404, 405, 413, 503].contains(response.status), "status \(response.status)")
    let input = String(decoding: payload, as: UTF8.self)
    for secret in [main.token, news.token, main.aesKey ?? ""] where !input.contains(secret) {
        precondition(!response.body.contains(secret) && !response.detail.contains(secret), "a secret in the answer")
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
