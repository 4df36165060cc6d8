import CallbackServer
import Foundation
import MasscastTesting
import Testing
import WeChatPush

/// Runs `Fixtures/wechatpy_push.py` (wechatpy 1.8.18) through python3 to encrypt pushes.
///
/// Skipped when python3 cannot import wechatpy 1.8.18 (with cryptography), unless
/// `MASSCAST_REQUIRE_TOOLS=1`: then ``WechatpyPushTests/wechatpyIsAvailableWhenRequired()``
/// fails and says what to install. `MASSCAST_PYTHON` overrides the interpreter.
enum WechatpyPush {
    static let expectedVersion = "1.8.18"
    static let installHint = "python3 -m pip install \"wechatpy==1.8.18\" cryptography"
    static let environment = ProcessInfo.processInfo.environment
    static let required = environment["MASSCAST_REQUIRE_TOOLS"] == "1"
    static let python = environment["MASSCAST_PYTHON"] ?? "python3"
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/wechatpy_push.py")

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// `nil` when python3 imports wechatpy 1.8.18 and its crypto; else why not (asked once).
    static let availability = Task<String?, Never> {
        let probe = await run([python, "-c", "import wechatpy, wechatpy.crypto, cryptography, xmltodict; print(wechatpy.__version__)"])
        guard probe.status == 0 else {
            if probe.status == 127 { return "\(python) is not on PATH" }
            let last = probe.output.split(separator: "\n").last.map(String.init) ?? "exit \(probe.status)"
            return "\(python) cannot import wechatpy and cryptography (\(last))"
        }
        let version = probe.output.trimmingCharacters(in: .whitespacesAndNewlines)
        return version == expectedVersion ? nil : "wechatpy \(version) is installed; the test needs \(expectedVersion)"
    }

    static var unavailableReason: String? { get async { await availability.value } }
    static var isAvailable: Bool { get async { await unavailableReason == nil } }

    /// Encrypts each message as wechatpy's `WeChatCrypto.encrypt_message(xml, nonce, timestamp)` does.
    static func encrypt(
        token: String, key: String, appID: String, messages: [(xml: String, nonce: String, timestamp: String)]
    ) async throws -> [(reply: String, encrypt: String, msgSignature: String)] {
        let command: [String: Any] = [
            "token": token, "encoding_aes_key": key, "app_id": appID,
            "messages": messages.map { ["xml": $0.xml, "nonce": $0.nonce, "timestamp": $0.timestamp] },
        ]
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("masscast-push-\(UUID().uuidString).json")
        try JSONSerialization.data(withJSONObject: command).write(to: input)
        defer { try? FileManager.default.removeItem(at: input) }
        let result = await run([python, script.path, "@" + input.path])
        guard result.status == 0,
            let answer = try? JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any],
            answer["ok"] as? Bool == true, let results = answer["results"] as? [[String: String]]
        else {
            throw Failure(description: "wechatpy_push.py exited \(result.status): \(result.output.suffix(800))")
        }
        return results.map { ($0["reply"] ?? "", $0["encrypt"] ?? "", $0["msg_signature"] ?? "") }
    }

    /// Runs a command through `/usr/bin/env` (standard output, then standard error), killed
    /// after 60 s.
    static func run(_ arguments: [String]) async -> (status: Int32, output: String) {
        do {
            let r = try await MasscastBinary.runTool("/usr/bin/env", arguments, timeout: .seconds(60))
            return (r.signalled || r.timedOut ? -1 : r.status, r.out + r.err)
        } catch {
            return (127, "could not start \(arguments.first ?? "?"): \(error)")
        }
    }
}

private let wechatpyAvailable = Testing.ConditionTrait.enabled(
    Comment(rawValue: "wechatpy 1.8.18 is not available (\(WechatpyPush.installHint))")
) { await WechatpyPush.isAvailable }

@Suite("wechatpy-encrypted pushes to a live listener", .serialized)
struct WechatpyPushTests {
    @Test func wechatpyIsAvailableWhenRequired() async {
        if WechatpyPush.required, let reason = await WechatpyPush.unavailableReason {
            Issue.record(Comment(rawValue:
                "MASSCAST_REQUIRE_TOOLS=1 but wechatpy cannot run: \(reason). Install with: \(WechatpyPush.installHint)"))
        }
    }

    @Test("pushes encrypted by wechatpy 1.8.18 are verified, decrypted and stored (its reply XML as the body, and a push body)",
          wechatpyAvailable, .timeLimit(.minutes(1)))
    func wechatpyEncryptedPushesStored() async throws {
        let account = Accounts.main
        let now = Int64(Date().timeIntervalSince1970)
        let pushes = (0..<4).map { Push.finish(account, msgID: 1000002001 + Int64($0), status: $0 == 3 ? "err(30003)" : "send success") }
        let messages = pushes.enumerated().map { (index, push) in
            (xml: push.xml, nonce: "\(1_400_000_000 + index)", timestamp: String(now))
        }
        let encrypted = try await WechatpyPush.encrypt(
            token: account.token, key: Accounts.mainKey, appID: account.appID, messages: messages)
        #expect(encrypted.count == 4)

        try await LiveListener.with { live in
            for (index, item) in encrypted.enumerated() {
                let query = [
                    "timestamp": messages[index].timestamp, "nonce": messages[index].nonce, "encrypt_type": "aes",
                    "msg_signature": item.msgSignature,
                    "signature": CallbackCrypto.sign(token: account.token, timestamp: messages[index].timestamp,
                                                     nonce: messages[index].nonce),
                ]
                if index % 2 == 0 {
                    // wechatpy's reply XML as it is (Encrypt, MsgSignature, TimeStamp, Nonce; no ToUserName),
                    // on the account's own path.
                    #expect(try await live.post((query, Array(item.reply.utf8)), account: "brand-main") == Answer(200, "success"))
                } else {
                    // A push body as WeChat sends it in safe mode, routed by ToUserName.
                    let body = "<xml><ToUserName><![CDATA[\(account.originalID)]]></ToUserName>"
                        + "<Encrypt><![CDATA[\(item.encrypt)]]></Encrypt></xml>"
                    #expect(try await live.post((query, Array(body.utf8))) == Answer(200, "success"))
                }
            }
            let stored = try await live.temp.events(account, (0..<4).map { 1000002001 + Int64($0) })
            #expect(stored.count == 4)
            #expect(stored.last?.status == "err(30003)")
            // A wechatpy push whose signature is tampered with is refused.
            var query = ["timestamp": String(now), "nonce": "1499999999", "encrypt_type": "aes",
                         "msg_signature": String(repeating: "0", count: 40)]
            let body = "<xml><ToUserName>\(account.originalID)</ToUserName><Encrypt>\(encrypted[0].encrypt)</Encrypt></xml>"
            #expect(try await live.post((query, Array(body.utf8))).status == 403)
            query["msg_signature"] = encrypted[0].msgSignature
            #expect(try await live.post((query, Array(body.utf8))).status == 403)  // the nonce is not the one signed
            #expect(live.logs.leaks().isEmpty)
        }
    }
}
