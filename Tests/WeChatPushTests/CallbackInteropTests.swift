import Foundation
import MasscastTesting
import Testing

@testable import WeChatPush

/// Runs `Fixtures/interop/wechatpy_crypto.py` (wechatpy 1.8.18) through python3.
///
/// When wechatpy cannot be imported the interop tests are skipped, unless
/// `MASSCAST_REQUIRE_TOOLS=1`, in which case ``CallbackInteropTests/wechatpyIsAvailableWhenRequired()``
/// fails and says what to install. `MASSCAST_PYTHON` overrides the interpreter (default `python3`).
enum WechatpyInterop {
    static let expectedVersion = "1.8.18"

    static let script = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()
        .appendingPathComponent("Fixtures/interop/wechatpy_crypto.py")

    static let required = ProcessInfo.processInfo.environment["MASSCAST_REQUIRE_TOOLS"] == "1"

    /// `nil` when usable, else why not (asked once, on first use).
    static let availability = Task<String?, Never> {
        do {
            let result = try await run(["op": "check"])
            guard result["ok"] as? Bool == true else {
                return "the helper could not import wechatpy: \(result["error"] ?? "unknown error")"
            }
            let version = result["version"] as? String ?? "?"
            guard version == expectedVersion else {
                return "wechatpy \(version) is installed, the tests need \(expectedVersion)"
            }
            return nil
        } catch {
            return "\(error)"
        }
    }

    static var unavailableReason: String? { get async { await availability.value } }
    static var isAvailable: Bool { get async { await unavailableReason == nil } }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Sends one JSON command to the helper and returns its JSON answer. Bounded: the
    /// helper is killed after 120 seconds.
    static func run(_ command: [String: Any]) async throws -> [String: Any] {
        let input = try JSONSerialization.data(withJSONObject: command)
        let inputFile = FileManager.default.temporaryDirectory
            .appendingPathComponent("masscast-wechatpy-\(UUID().uuidString).json")
        try input.write(to: inputFile)
        defer { try? FileManager.default.removeItem(at: inputFile) }

        let python = ProcessInfo.processInfo.environment["MASSCAST_PYTHON"] ?? "python3"
        let result: BinaryResult
        do {
            result = try await MasscastBinary.runTool(
                "/usr/bin/env", [python, script.path, "@" + inputFile.path], timeout: .seconds(120))
        } catch {
            throw Failure(description: "could not start \(python): \(error)")
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(result.out.utf8)),
            let answer = object as? [String: Any]
        else {
            throw Failure(
                description: "\(python) \(script.lastPathComponent) exited \(result.status)"
                    + (result.timedOut ? " (killed after 120 s)" : "") + " without a JSON answer; stderr: "
                    + result.err.suffix(500).trimmingCharacters(in: .whitespacesAndNewlines)
            )
        }
        return answer
    }

    /// Runs several commands in one python process.
    static func batch(_ commands: [[String: Any]]) async throws -> [[String: Any]] {
        let answer = try await run(["op": "batch", "commands": commands])
        guard answer["ok"] as? Bool == true, let results = answer["results"] as? [[String: Any]],
            results.count == commands.count
        else {
            throw Failure(description: "the batch failed: \(answer["error"] ?? "no results")")
        }
        return results
    }
}

private let interopEnabled = Testing.ConditionTrait.enabled(
    "wechatpy 1.8.18 is not importable by python3 (pip install wechatpy==1.8.18 cryptography)"
) { await WechatpyInterop.isAvailable }

@Suite("Callback interop with wechatpy 1.8.18")
struct CallbackInteropTests {
    static let longMessage: String = {
        let content = String(repeating: "0123456789abcdef群发", count: 3_072 / 22 + 1)
        return "<xml><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[\(content)]]></Content></xml>"
    }()

    static let messages: [String] = [
        "<xml><ToUserName><![CDATA[gh_6b9aa8a6f1e2]]></ToUserName><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hello, world]]></Content></xml>",
        "<xml><ToUserName><![CDATA[gh_6b9aa8a6f1e2]]></ToUserName><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[群发消息：你好，世界！🎉]]></Content></xml>",
        longMessage,
        MassSendJobFinishFixtures.referenceSample,
        MassSendJobFinishFixtures.seedArticle,
    ]

    static func base(_ key: String = CallbackTestKeys.key, appID: String = CallbackTestKeys.appID) -> [String: Any] {
        ["token": CallbackTestKeys.token, "encoding_aes_key": key, "app_id": appID]
    }

    @Test func wechatpyIsAvailableWhenRequired() async {
        if WechatpyInterop.required, let reason = await WechatpyInterop.unavailableReason {
            let message =
                "MASSCAST_REQUIRE_TOOLS=1 but the wechatpy interop helper is not usable: \(reason). "
                + "Install it with: pip install wechatpy==1.8.18 cryptography"
            Issue.record(Comment(rawValue: message))
        }
    }

    @Test(interopEnabled) func wechatpyEncryptsSwiftVerifiesAndDecrypts() async throws {
        #expect(Self.messages[2].utf8.count > 3_000)
        let commands: [[String: Any]] = Self.messages.enumerated().map { index, xml in
            Self.base().merging(
                ["op": "encrypt", "xml": xml, "nonce": "nonce\(index)", "timestamp": "\(1_714_036_504 + index)"]
            ) { $1 }
        }
        let results = try await WechatpyInterop.batch(commands)
        let crypto = try CallbackTestKeys.crypto()
        for (index, result) in results.enumerated() {
            let reply = try #require(result["reply"] as? String, "\(result)")
            let encrypt = try #require(result["encrypt"] as? String)
            let signature = try #require(result["msg_signature"] as? String)
            let timestamp = "\(1_714_036_504 + index)"
            let nonce = "nonce\(index)"
            #expect(crypto.verifyMessageSignature(signature, timestamp: timestamp, nonce: nonce, encrypt: encrypt))
            #expect(!crypto.verifySignature(signature: signature, timestamp: timestamp, nonce: nonce))
            let opened = try crypto.decryptMessage(body: reply, msgSignature: signature, timestamp: timestamp, nonce: nonce)
            #expect(opened.xml == Self.messages[index])
            #expect(!opened.usedPreviousKey)
            #expect(try crypto.decrypt(encrypt).xml == Self.messages[index])
        }
        let sample = try crypto.decryptMessage(
            body: try #require(results[3]["reply"] as? String),
            msgSignature: try #require(results[3]["msg_signature"] as? String),
            timestamp: "1714036507",
            nonce: "nonce3"
        )
        #expect(try MassSendJobFinish(xml: sample.xml) == MassSendJobFinishFixtures.expectedSample)
    }

    @Test(interopEnabled) func swiftEncryptsWechatpyDecryptsAndVerifies() async throws {
        let crypto = try CallbackTestKeys.crypto()
        var commands: [[String: Any]] = []
        for (index, xml) in Self.messages.enumerated() {
            let reply = try crypto.encryptedReply(xml, timestamp: "\(1_700_000_000 + index)", nonce: "n\(index)")
            commands.append(
                Self.base().merging(
                    ["op": "decrypt", "msg": reply, "timestamp": "\(1_700_000_000 + index)", "nonce": "n\(index)"]
                ) { $1 }
            )
        }
        // A forged signature and a reply for another AppID must be refused by wechatpy.
        let reply = try crypto.encryptedReply(Self.messages[0], timestamp: "1", nonce: "2")
        commands.append(
            Self.base().merging(
                ["op": "decrypt", "msg": reply, "timestamp": "1", "nonce": "2", "signature": String(repeating: "0", count: 40)]
            ) { $1 }
        )
        let foreign = try CallbackTestKeys.crypto(appID: "wxANOTHERAPP000000")
        let foreignReply = try foreign.encryptedReply(Self.messages[0], timestamp: "1", nonce: "2")
        commands.append(
            Self.base().merging(["op": "decrypt", "msg": foreignReply, "timestamp": "1", "nonce": "2"]) { $1 }
        )

        let results = try await WechatpyInterop.batch(commands)
        for (index, xml) in Self.messages.enumerated() {
            #expect(results[index]["ok"] as? Bool == true, "\(results[index])")
            #expect(results[index]["xml"] as? String == xml)
        }
        #expect(results[Self.messages.count]["error"] as? String == "InvalidSignatureException")
        #expect(results[Self.messages.count + 1]["error"] as? String == "InvalidAppIdException")
    }

    @Test(interopEnabled) func sameRandomPrefixGivesTheSameCiphertext() async throws {
        let commands: [[String: Any]] = Self.messages.map { xml in
            Self.base().merging(["op": "encrypt", "xml": xml, "nonce": "1514711492", "timestamp": "1714036504", "random": "0123456789abcdef"]) { $1 }
        }
        let results = try await WechatpyInterop.batch(commands)
        let crypto = try CallbackTestKeys.crypto()
        for (index, xml) in Self.messages.enumerated() {
            let theirs = try #require(results[index]["encrypt"] as? String)
            let ours = try crypto.encrypt(xml, randomBytes: CallbackTestKeys.fixedRandom)
            #expect(ours == theirs)
            let reply = try crypto.encryptedReply(xml, timestamp: "1714036504", nonce: "1514711492", randomBytes: CallbackTestKeys.fixedRandom)
            let root = try StrictXMLReader().parse(reply)
            #expect(root.childText("MsgSignature") == results[index]["msg_signature"] as? String)
        }
        // The known answer stored in CallbackCryptoTests is still what wechatpy produces.
        let known = try await WechatpyInterop.run(
            Self.base().merging(["op": "encrypt", "xml": CallbackTestKeys.chineseMessage, "nonce": "1514711492", "timestamp": "1714036504", "random": "0123456789abcdef"]) { $1 }
        )
        #expect(known["encrypt"] as? String == CallbackTestKeys.chineseMessageEncrypt)
        #expect(known["msg_signature"] as? String == CallbackTestKeys.chineseMessageSignature)
    }

    @Test(interopEnabled) func wechatpyWithTheOldKeyFallsBack() async throws {
        let results = try await WechatpyInterop.batch(
            [
                Self.base(CallbackTestKeys.oldKey).merging(
                    ["op": "encrypt", "xml": MassSendJobFinishFixtures.referenceSample, "nonce": "9", "timestamp": "8"]
                ) { $1 },
                Self.base(CallbackTestKeys.otherKey).merging(
                    ["op": "encrypt", "xml": MassSendJobFinishFixtures.referenceSample, "nonce": "9", "timestamp": "8"]
                ) { $1 },
            ]
        )
        let rotated = try CallbackTestKeys.crypto(previous: CallbackTestKeys.oldKey)
        let old = try rotated.decryptMessage(
            body: try #require(results[0]["reply"] as? String),
            msgSignature: try #require(results[0]["msg_signature"] as? String),
            timestamp: "8",
            nonce: "9"
        )
        #expect(old.usedPreviousKey)
        #expect(old.xml == MassSendJobFinishFixtures.referenceSample)
        let foreign = try #require(results[1]["encrypt"] as? String)
        let fromOld = try #require(results[0]["encrypt"] as? String)
        #expect(throws: CallbackError.self) { try rotated.decrypt(foreign) }
        let current = try CallbackTestKeys.crypto()
        #expect(throws: CallbackError.self) { try current.decrypt(fromOld) }
    }
}
