import CallbackServer
import Foundation
import RunState
import Testing
import WeChatPush

@Suite("CallbackHandler: verification, modes, storage")
struct HandlerTests {
    // MARK: URL verification

    @Test("GET URL verification echoes echostr for a valid signature, on the account's path and on the bare path")
    func urlVerification() async throws {
        let rig = try Rig()
        let timestamp = String(Int64(Date().timeIntervalSince1970))
        for (account, path, nonce) in [(Accounts.main, "/wechat/callback/brand-main", "1514711492"),
                                       (Accounts.news, "/wechat/callback", "1514711493"),
                                       (Accounts.main, "/wechat/callback", "1514711494")] {
            let signature = CallbackCrypto.sign(token: account.token, timestamp: timestamp, nonce: nonce)
            let response = await rig.handler.handle(
                method: "GET", path: path,
                query: ["signature": signature, "timestamp": timestamp, "nonce": nonce, "echostr": "7281629474711943557"],
                body: [])
            #expect(response.status == 200 && response.body == "7281629474711943557")
            #expect(response.contentType.hasPrefix("text/plain"))
            #expect(response.outcome == .verified && response.account == account.name)
        }
        // brand-news's token does not verify brand-main's path.
        let wrong = CallbackCrypto.sign(token: Accounts.news.token, timestamp: timestamp, nonce: "1")
        let refused = await rig.handler.handle(
            method: "GET", path: "/wechat/callback/brand-main",
            query: ["signature": wrong, "timestamp": timestamp, "nonce": "1", "echostr": "abc"], body: [])
        #expect(refused.status == 403 && refused.outcome == .rejected(.badSignature) && refused.body != "abc")
        let noEcho = await rig.handler.handle(
            method: "GET", path: "/wechat/callback",
            query: ["signature": wrong, "timestamp": timestamp, "nonce": "1"], body: [])
        #expect(noEcho.status == 400 && noEcho.outcome == .rejected(.badRequest))
        #expect(rig.logs.leaks().isEmpty)
    }

    @Test("the reference vector: token AAAAA, timestamp 1714036504, nonce 1514711492")
    func referenceVector() async throws {
        let account = ListenerAccount(name: "vector", appID: "", originalID: "gh_000000000001", token: "AAAAA")
        let rig = try Rig(Accounts.configuration([account]))
        let response = await rig.handler.handle(
            method: "GET", path: "/wechat/callback/vector",
            query: ["signature": "f464b24fc39322e44b38aa78f5edd27bd1441696", "timestamp": "1714036504",
                    "nonce": "1514711492", "echostr": "hello"],
            body: [], now: Date(timeIntervalSince1970: 1_714_036_504))
        #expect(response.status == 200 && response.body == "hello")
    }

    @Test("URL verification has the pushes' timestamp window and replay memory: its signature cannot carry a forged plain push")
    func verificationWindowAndReplay() async throws {
        let rig = try Rig()
        let account = Accounts.news
        let now = Date()
        let timestamp = String(Int64(now.timeIntervalSince1970))
        let signature = CallbackCrypto.sign(token: account.token, timestamp: timestamp, nonce: "424242")
        let query = ["signature": signature, "timestamp": timestamp, "nonce": "424242", "echostr": "e1"]
        let first = await rig.handler.handle(method: "GET", path: "/wechat/callback/brand-news", query: query, body: [])
        #expect(first.status == 200 && first.body == "e1")
        // The same (signature, timestamp, nonce) again: a replay.
        let again = await rig.handler.handle(method: "GET", path: "/wechat/callback/brand-news", query: query, body: [])
        #expect(again.status == 403 && again.outcome == .rejected(.replay) && again.body != "e1")
        // Reused to POST a forged MASSSENDJOBFINISH to the plain-mode account: refused, nothing stored.
        let forged = Push.finish(account, msgID: 1000000991)
        let post = await rig.handler.handle(
            method: "POST", path: "/wechat/callback/brand-news",
            query: ["signature": signature, "timestamp": timestamp, "nonce": "424242", "openid": "oSystem"],
            body: Array(forged.xml.utf8))
        #expect(post.status == 403 && post.outcome == .rejected(.replay))
        #expect(try await rig.temp.isEmpty([1000000991]))
        // A verification outside the window is refused like a push.
        let old = String(Int64(now.timeIntervalSince1970) - 3600)
        let stale = await rig.handler.handle(
            method: "GET", path: "/wechat/callback/brand-news",
            query: ["signature": CallbackCrypto.sign(token: account.token, timestamp: old, nonce: "77"), "timestamp": old,
                    "nonce": "77", "echostr": "e2"],
            body: [])
        #expect(stale.status == 403 && stale.outcome == .rejected(.staleTimestamp) && stale.body != "e2")
        #expect(rig.logs.leaks().isEmpty)
    }

    // MARK: Storage

    @Test("a plain push is stored with every field, once, and answered success")
    func plainPushStored() async throws {
        let rig = try Rig()
        let push = Push.finish(Accounts.news, msgID: 1000000101)
        let response = await rig.post(push.plain())
        #expect(response.status == 200 && response.body == "success")
        guard case .stored(let event) = response.outcome else {
            Issue.record("expected stored, got \(response.outcome)")
            return
        }
        #expect(event.originalID == "gh_2b7e4f9a0c61" && event.msgID == 1000000101)
        let stored = try #require(try await rig.temp.events(Accounts.news, [1000000101]).first)
        #expect(stored.status == "send success")
        #expect(stored.totalCount == 100 && stored.filterCount == 100 && stored.sentCount == 98 && stored.errorCount == 2)
        #expect(stored.copyrightCheckState == 1)
        #expect(stored.articlesJSON == #"[{"article_idx":1,"article_url":"https://mp.weixin.qq.com/s?__biz=x&mid=1000000101&idx=1"}]"#)
        #expect(stored.createdAt == Date(timeIntervalSince1970: 1714036504))
        // The account's own path works as well.
        let other = Push.finish(Accounts.news, msgID: 1000000102, status: "err(30003)", articles: false)
        #expect(await rig.post(other.plain(), account: "brand-news").status == 200)
        let second = try #require(try await rig.temp.events(Accounts.news, [1000000102]).first)
        #expect(second.status == "err(30003)" && second.copyrightCheckState == nil && second.articlesJSON == nil)
        #expect(rig.logs.leaks().isEmpty)
    }

    @Test("a safe-mode (AES) push is verified by msg_signature, decrypted and stored once")
    func aesPushStored() async throws {
        let rig = try Rig()
        let push = Push.finish(Accounts.main, msgID: 1000000201, status: "send fail")
        for account in [nil, "brand-main"] as [String?] {
            let request = try (account == nil ? push : push.retried()).encrypted()
            let response = await rig.post(request, account: account)
            #expect(response.status == 200 && response.body == "success")
        }
        let events = try await rig.temp.events(Accounts.main, [1000000201])
        #expect(events.count == 1 && events.first?.status == "send fail")
        #expect(rig.logs.leaks().isEmpty)
    }

    @Test("compatible mode: only the encrypted part is used; plain fields that disagree are ignored")
    func compatibleModeUsesEncryptedPart() async throws {
        let rig = try Rig()
        let genuine = Push.finish(Accounts.main, msgID: 1000000301, status: "send success", total: 500, sent: 490, error: 10)
        // The plain part says something else (and names another account and msg id).
        let forgedPlain = Push.finish(Accounts.main, msgID: 1000000399, status: "send fail", total: 1, sent: 0, error: 1,
                                      to: "gh_attacker00001").xml
        let request = try genuine.encrypted(plainBeside: forgedPlain)
        let response = await rig.post(request, account: "brand-main")
        #expect(response.status == 200 && response.body == "success")
        let stored = try #require(try await rig.temp.events(Accounts.main, [1000000301]).first)
        #expect(stored.status == "send success" && stored.totalCount == 500 && stored.sentCount == 490)
        #expect(try await rig.temp.isEmpty([1000000399]))
        // On the bare path the plain ToUserName only picks the token; the decrypted message decides.
        let bare = try genuine.retried().encrypted(plainBeside: Push.finish(Accounts.main, msgID: 1000000398, status: "send fail").xml)
        #expect(await rig.post(bare).outcome.name == "duplicate")
        #expect(try await rig.temp.isEmpty([1000000398]))
    }

    @Test("key rotation: a push encrypted with the previous EncodingAESKey is accepted; with neither key it is refused")
    func previousKeyFallback() async throws {
        var rotated = Accounts.main
        rotated.aesKey = Accounts.otherKey
        rotated.previousAESKey = Accounts.mainKey
        let rig = try Rig(Accounts.configuration([rotated]))
        let push = Push.finish(rotated, msgID: 1000000401)
        let old = await rig.post(try push.encrypted(key: Accounts.mainKey))
        #expect(old.status == 200 && old.detail.contains("previous EncodingAESKey"))
        let new = await rig.post(try Push.finish(rotated, msgID: 1000000402).encrypted(key: Accounts.otherKey))
        #expect(new.status == 200)
        #expect(try await rig.temp.events(rotated, [1000000401, 1000000402]).count == 2)

        var onlyNew = Accounts.main
        onlyNew.aesKey = Accounts.otherKey
        let strict = try Rig(Accounts.configuration([onlyNew]))
        let refused = await strict.post(try Push.finish(onlyNew, msgID: 1000000403).encrypted(key: Accounts.mainKey))
        #expect(refused.status == 403 && refused.outcome == .rejected(.decryptFailed))
        #expect(try await strict.temp.isEmpty([1000000403]))
        #expect(rig.logs.leaks().isEmpty && strict.logs.leaks().isEmpty)
    }

    @Test("the same push three times (WeChat's retries) is stored once and answered success each time")
    func retriesStoredOnce() async throws {
        for account in [Accounts.main, Accounts.news] {
            let rig = try Rig()
            var push = Push.finish(account, msgID: 1000000501)
            var outcomes: [String] = []
            for _ in 0..<3 {
                let response = await rig.post(account.isEncrypted ? try push.encrypted() : push.plain())
                #expect(response.status == 200 && response.body == "success")
                outcomes.append(response.outcome.name)
                push = push.retried()
            }
            #expect(outcomes == ["stored", "duplicate", "duplicate"])
            #expect(try await rig.temp.events(account, [1000000501]).count == 1)
            let metrics = rig.handler.metrics.render()
            #expect(metricValue(metrics, "masscast_listener_pushes_stored_total") == 1)
            #expect(metricValue(metrics, "masscast_listener_pushes_duplicate_total") == 2)
            #expect(metricValue(metrics, "masscast_listener_pushes_received_total") == 3)
        }
    }

    @Test("other event types are acknowledged and logged, not stored")
    func otherEventsAcknowledged() async throws {
        let rig = try Rig()
        let plain = await rig.post(Push.subscribe(Accounts.news).plain())
        #expect(plain.status == 200 && plain.body == "success" && plain.outcome == .acknowledged(eventType: "subscribe"))
        let encrypted = await rig.post(try Push.subscribe(Accounts.main).encrypted())
        #expect(encrypted.outcome == .acknowledged(eventType: "subscribe"))
        #expect(metricValue(rig.handler.metrics.render(), "masscast_listener_events_other_total") == 2)
        #expect(metricValue(rig.handler.metrics.render(), "masscast_listener_pushes_stored_total") == 0)
        #expect(rig.logs.lines.contains { $0.contains("push.acknowledged") && $0.contains("subscribe") })
    }

    // MARK: Refusals

    /// One refused request: how it is made, the status and reason expected, and the msg id
    /// that must not be stored.
    struct Refused: CustomTestStringConvertible, Sendable {
        var name: String
        var status: Int
        var reason: RejectionReason
        var account: String?
        var make: @Sendable () throws -> (query: [String: String], body: [UInt8])
        var testDescription: String { name }
    }

    static let refusedID: Int64 = 1000000666

    static let refusals: [Refused] = {
        // Built when each case runs, so that the timestamps are current then.
        var news: Push { Push.finish(Accounts.news, msgID: refusedID) }
        var main: Push { Push.finish(Accounts.main, msgID: refusedID) }
        var now: Int64 { Int64(Date().timeIntervalSince1970) }
        @Sendable func at(_ push: Push, _ timestamp: Int64) -> Push {
            var copy = push
            copy.timestamp = timestamp
            return copy
        }
        @Sendable func signedPlain(_ body: String, account: ListenerAccount = Accounts.news) -> (query: [String: String], body: [UInt8]) {
            Push(account: account, xml: body).plain()
        }
        let billionLaughs = """
            <?xml version="1.0"?>
            <!DOCTYPE lolz [
              <!ENTITY lol "lol">
              <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
              <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
            ]>
            <xml><ToUserName>gh_2b7e4f9a0c61</ToUserName><MsgType>event</MsgType><Event>MASSSENDJOBFINISH</Event>
            <MsgID>\(refusedID)</MsgID><Status>&lol3;</Status></xml>
            """
        let externalEntity = """
            <!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
            <xml><ToUserName>gh_2b7e4f9a0c61</ToUserName><Status>&xxe;</Status></xml>
            """
        return [
            Refused(name: "forged plain signature (another token)", status: 403, reason: .badSignature) {
                news.plain(token: "not-the-token")
            },
            Refused(name: "plain push without signature", status: 403, reason: .badSignature) {
                var request = news.plain()
                request.query["signature"] = nil
                return request
            },
            Refused(name: "plain body under a signature made for another timestamp", status: 403, reason: .badSignature) {
                var request = news.plain()
                request.query["timestamp"] = String(now - 1)
                return request
            },
            Refused(name: "forged msg_signature (another token)", status: 403, reason: .badSignature) {
                var request = try main.encrypted()
                request.query["msg_signature"] = CallbackCrypto.sign(
                    token: "not-the-token", timestamp: main.timestampText, nonce: main.nonce, encrypt: "x")
                return request
            },
            Refused(name: "encrypted push with only the plain signature", status: 403, reason: .badSignature) {
                var request = try main.encrypted()
                request.query["msg_signature"] = nil
                return request
            },
            Refused(name: "Encrypt text swapped under a valid msg_signature", status: 403, reason: .badSignature) {
                let genuine = try main.encrypted()
                let other = try Push.finish(Accounts.main, msgID: refusedID + 1).encrypted()
                return (genuine.query, other.body)
            },
            Refused(name: "plain push to an account that expects encrypted pushes", status: 403, reason: .badSignature) {
                main.plain()
            },
            Refused(name: "wrong AppID inside the encrypted message", status: 403, reason: .appIDMismatch) {
                try main.encrypted(appID: "wx0000000000000000")
            },
            Refused(name: "encrypted with an unknown key", status: 403, reason: .decryptFailed) {
                try main.encrypted(key: Accounts.otherKey)
            },
            Refused(name: "encrypted push to a plain account", status: 403, reason: .decryptFailed) {
                var push = news
                push.account.aesKey = Accounts.mainKey
                return try push.encrypted()
            },
            Refused(name: "stale timestamp (old)", status: 403, reason: .staleTimestamp) { at(news, now - 330).plain() },
            Refused(name: "stale timestamp (future)", status: 403, reason: .staleTimestamp) { at(news, now + 330).plain() },
            Refused(name: "stale timestamp, encrypted", status: 403, reason: .staleTimestamp) {
                try at(main, now - 3600).encrypted()
            },
            Refused(name: "unknown account in the path", status: 403, reason: .unknownAccount, account: "brand-nope") {
                news.plain()
            },
            Refused(name: "unknown ToUserName on the bare path", status: 403, reason: .unknownAccount) {
                Push.finish(Accounts.news, msgID: refusedID, to: "gh_unknown0000001").plain()
            },
            Refused(name: "a push for brand-main sent to brand-news's path", status: 403, reason: .unknownAccount,
                    account: "brand-news") {
                Push(account: Accounts.news, xml: main.xml).plain()
            },
            Refused(name: "oversized body", status: 413, reason: .tooLarge) {
                let padding = String(repeating: "a", count: 64 * 1024)
                return signedPlain("<xml><ToUserName>gh_2b7e4f9a0c61</ToUserName><Pad>\(padding)</Pad></xml>")
            },
            Refused(name: "malformed XML: mismatched tags", status: 400, reason: .malformedXML) {
                signedPlain("<xml><ToUserName>gh_2b7e4f9a0c61</FromUserName></xml>")
            },
            Refused(name: "malformed XML: truncated", status: 400, reason: .malformedXML) {
                signedPlain(String(news.xml.prefix(120)))
            },
            Refused(name: "malformed XML: not XML", status: 400, reason: .malformedXML) { signedPlain("{\"msg_id\": 1}") },
            Refused(name: "malformed XML: empty body", status: 400, reason: .malformedXML) { signedPlain("") },
            Refused(name: "malformed XML: invalid UTF-8", status: 400, reason: .malformedXML) {
                var request = news.plain()
                request.body.insert(contentsOf: [0xFF, 0xFE], at: 10)
                return request
            },
            Refused(name: "malformed XML: nested too deep", status: 400, reason: .malformedXML) {
                signedPlain("<xml>" + String(repeating: "<a>", count: 40) + String(repeating: "</a>", count: 40) + "</xml>")
            },
            Refused(name: "billion laughs (DTD and entities)", status: 400, reason: .malformedXML) { signedPlain(billionLaughs) },
            Refused(name: "external entity (XXE)", status: 400, reason: .malformedXML) { signedPlain(externalEntity) },
            Refused(name: "an undeclared entity inside an encrypted push", status: 400, reason: .malformedXML) {
                try main.encrypted(encryptedXML: main.xml.replacingOccurrences(of: "<![CDATA[send success]]>", with: "&lol3;"))
            },
            Refused(name: "missing timestamp", status: 400, reason: .badRequest) {
                var request = news.plain()
                request.query["timestamp"] = nil
                return request
            },
            Refused(name: "timestamp not a number", status: 400, reason: .badRequest) {
                var request = news.plain()
                request.query["timestamp"] = "1714036504.5"
                return request
            },
            Refused(name: "missing nonce", status: 400, reason: .badRequest) {
                var request = news.plain()
                request.query["nonce"] = nil
                return request
            },
            Refused(name: "unknown encrypt_type", status: 400, reason: .badRequest) {
                var request = try main.encrypted()
                request.query["encrypt_type"] = "des"
                return request
            },
            Refused(name: "encrypt_type=aes without an Encrypt element", status: 400, reason: .badRequest) {
                var request = try main.encrypted()
                request.body = Array("<xml><ToUserName>gh_5d1c0e8f7a93</ToUserName></xml>".utf8)
                return request
            },
            Refused(name: "no ToUserName on the bare path", status: 400, reason: .badRequest) {
                signedPlain("<xml><MsgType>event</MsgType></xml>")
            },
            Refused(name: "MASSSENDJOBFINISH without its counts", status: 400, reason: .badRequest) {
                signedPlain("<xml><ToUserName>gh_2b7e4f9a0c61</ToUserName><FromUserName>x</FromUserName>"
                    + "<CreateTime>1</CreateTime><MsgType>event</MsgType><Event>MASSSENDJOBFINISH</Event>"
                    + "<MsgID>\(refusedID)</MsgID><Status>send success</Status></xml>")
            },
        ]
    }()

    @Test("each forged, stale, oversized or malformed request is refused with its status, and nothing is stored",
          arguments: refusals)
    func refused(_ c: Refused) async throws {
        let rig = try Rig()
        let request = try c.make()
        let response = await rig.post(request, account: c.account)
        #expect(response.status == c.status, "\(response.detail)")
        #expect(response.outcome == .rejected(c.reason), "\(response.detail)")
        #expect(response.body == c.reason.rawValue)
        #expect(try await rig.temp.isEmpty([Self.refusedID, Self.refusedID + 1]))
        let metrics = rig.handler.metrics.render()
        #expect(metricValue(metrics, "masscast_listener_pushes_stored_total") == 0)
        #expect(metricValue(metrics, #"masscast_listener_pushes_rejected_total{reason="\#(c.reason.rawValue)"}"#) == 1)
        #expect(await rig.handler.replayGuard.count == 0)
        #expect(rig.logs.lines.contains { $0.contains("push.rejected") && $0.contains(c.reason.rawValue) })
        #expect(rig.logs.leaks().isEmpty, "\(rig.logs.leaks())")
        for secret in Accounts.secrets { #expect(!response.body.contains(secret) && !response.detail.contains(secret)) }
    }

    @Test("a replayed (timestamp, nonce) is refused, also with another body; a retry with a fresh nonce is not")
    func replayRefused() async throws {
        let rig = try Rig()
        let push = Push.finish(Accounts.news, msgID: 1000000701)
        let first = push.plain()
        #expect(await rig.post(first).status == 200)
        let again = await rig.post(first)
        #expect(again.status == 403 && again.outcome == .rejected(.replay))
        // The signature does not cover the body: the same query with other XML is the attack.
        var swapped = Push.finish(Accounts.news, msgID: 1000000702, status: "send fail")
        swapped.timestamp = push.timestamp
        swapped.nonce = push.nonce
        let attack = await rig.post(swapped.plain())
        #expect(attack.status == 403 && attack.outcome == .rejected(.replay))
        #expect(try await rig.temp.isEmpty([1000000702]))
        // Encrypted pushes are guarded too.
        let encrypted = try Push.finish(Accounts.main, msgID: 1000000703).encrypted()
        #expect(await rig.post(encrypted).status == 200)
        #expect(await rig.post(encrypted).outcome == .rejected(.replay))
        // A repeat after the window is stale, not a replay.
        let later = Date().addingTimeInterval(400)
        #expect(await rig.post(first, now: later).outcome == .rejected(.staleTimestamp))
        #expect(await rig.post(push.retried().plain()).outcome.name == "duplicate")
    }

    @Test("other methods get 405; a body over the limit reported by the server gets 413")
    func methodsAndOversize() async throws {
        let rig = try Rig()
        for method in ["PUT", "DELETE", "PATCH"] {
            let response = await rig.handler.handle(method: method, path: "/wechat/callback", query: [:], body: [])
            #expect(response.status == 405 && response.outcome == .rejected(.methodNotAllowed))
        }
        let oversized = rig.handler.refuseOversizedBody(method: "POST", path: "/wechat/callback/brand-main")
        #expect(oversized.status == 413 && oversized.outcome == .rejected(.tooLarge) && oversized.account == "brand-main")
    }

    @Test("a store that fails: 503 (WeChat retries), the (timestamp, nonce) is forgotten so the retry is not a replay")
    func storeFailure() async throws {
        let rig = try Rig()
        try rig.store.close()
        let request = Push.finish(Accounts.news, msgID: 1000000801).plain()
        let first = await rig.post(request)
        #expect(first.status == 503 && first.outcome == .storeFailed)
        #expect(await rig.handler.replayGuard.count == 0)
        #expect(await rig.post(request).outcome == .storeFailed)
        #expect(metricValue(rig.handler.metrics.render(), "masscast_listener_store_failures_total") == 2)
        #expect(rig.logs.leaks().isEmpty)
    }
}

@Suite("Listener configuration and replay guard")
struct ConfigurationTests {
    @Test("descriptions, mirrors and errors never show a token or a key")
    func redaction() throws {
        var account = Accounts.main
        account.previousAESKey = Accounts.otherKey
        var dumped = ""
        dump(account, to: &dumped)
        let configuration = Accounts.configuration([account, Accounts.news])
        for text in [account.description, "\(account)", String(reflecting: account), dumped, configuration.description] {
            for secret in Accounts.secrets { #expect(!text.contains(secret), "\(text)") }
        }
        #expect(account.description.contains("aes+previous") && Accounts.news.mode == "plain")
        var badKey = Accounts.main
        badKey.aesKey = "lTjyF/U3G2ZnGR7yZn47jiJFJylXlCsD2LjTOzO07Z"  // 42 characters
        do {
            _ = try CallbackHandler(configuration: Accounts.configuration([badKey]), store: TempStore().store)
            Issue.record("a 42-character key was accepted")
        } catch let error as ListenerConfigurationError {
            #expect(error.message.contains("brand-main") && !error.message.contains(badKey.aesKey!))
            #expect(error.code == .invalidAccount && error.account == "brand-main")
            #expect(error.cause is CallbackError, "the key's own error is kept as the cause")
        }
    }

    @Test("invalid configurations are refused with the account named",
          arguments: [
            ("no accounts", [ListenerAccount](), "noAccount"),
            ("same original id", [Accounts.main, ListenerAccount(name: "copy", appID: "wx3e6b9d2f4a8c1705",
                                                                 originalID: "gh_5d1c0e8f7a93", token: "t")], "duplicateAccount"),
            ("same name", [Accounts.main, ListenerAccount(name: "brand-main", appID: "wx3e6b9d2f4a8c1705",
                                                          originalID: "gh_2b7e4f9a0c61", token: "t")], "duplicateAccount"),
            ("bad original id", [ListenerAccount(name: "a", appID: "", originalID: "5d1c0e8f7a93", token: "t")], "invalidAccount"),
            ("name not a path segment", [ListenerAccount(name: "a/b", appID: "", originalID: "gh_5d1c0e8f7a93", token: "t")], "invalidAccount"),
            ("empty token", [ListenerAccount(name: "a", appID: "", originalID: "gh_5d1c0e8f7a93", token: "")], "invalidAccount"),
            ("key without AppID", [ListenerAccount(name: "a", appID: "", originalID: "gh_5d1c0e8f7a93", token: "t",
                                                   aesKey: Accounts.mainKey)], "invalidAccount"),
          ])
    func invalid(_ name: String, _ accounts: [ListenerAccount], _ code: String) {
        do {
            try Accounts.configuration(accounts).validate()
            Issue.record("\(name): accepted")
        } catch {
            #expect(error.code.description == code, "\(name): \(error.code) \(error.message)")
            if code != "noAccount", let last = accounts.last {
                #expect(error.account == last.name || error.message.contains(last.name), "\(name): \(error.message)")
            }
        }
    }

    @Test("the replay guard refuses repeats, forgets expired pairs, and is bounded")
    func replayGuard() async {
        let guardian = ReplayGuard(window: .seconds(300), capacity: 3)
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let t = Int64(1_800_000_000)
        #expect(await guardian.admit(account: "a", timestamp: t, nonce: "1", now: now) == .fresh)
        #expect(await guardian.admit(account: "a", timestamp: t, nonce: "1", now: now) == .replay)
        #expect(await guardian.admit(account: "b", timestamp: t, nonce: "1", now: now) == .fresh)
        #expect(await guardian.admit(account: "a", timestamp: t - 200, nonce: "2", now: now) == .fresh)
        #expect(await guardian.admit(account: "a", timestamp: t, nonce: "3", now: now) == .full)
        // 150 s later the pair stamped t - 200 is out of the window: it is dropped to make room.
        let later = now.addingTimeInterval(150)
        #expect(await guardian.admit(account: "a", timestamp: t, nonce: "3", now: later) == .fresh)
        #expect(await guardian.admit(account: "a", timestamp: t, nonce: "1", now: later) == .replay)
        #expect(await guardian.count == 3)
        await guardian.forget(account: "a", timestamp: t, nonce: "1")
        #expect(await guardian.admit(account: "a", timestamp: t, nonce: "1", now: later) == .fresh)
    }
}
