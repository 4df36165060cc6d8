import Foundation
import Testing
import WeChatMP
import WeChatPush
@testable import WeChatSandbox

@Suite("Engine: fault injection")
struct EngineFaultTests {
    let tagText = #""filter":{"is_to_all":false,"tag_id":100},"msgtype":"text","text":{"content":"hello"}"#

    func harness(faults: String) throws -> EngineHarness {
        try EngineHarness(yaml: EngineFixtures.standard(with: "faults:\n" + faults))
    }

    @Test func scheduledErrcodeHitsTheNextCallsOnlyAndSendsNothing() async throws {
        let h = try harness(faults: "  - { on: message/mass/sendall, errcode: -1, next: 2 }")
        let token = await h.classicToken()
        let first = await h.sendAll(token, "{\(tagText)}")
        #expect(first.errcode == -1)
        #expect(first.errmsg.hasPrefix("system error rid: "))
        #expect(await h.sendAll(token, "{\(tagText)}").errcode == -1)
        #expect(await h.engine.sends().isEmpty)
        #expect(await h.sendAll(token, "{\(tagText)}").errcode == 0)
        // Other endpoints are not hit.
        #expect(await h.post("/cgi-bin/message/mass/speed/get", token: token, "{}").errcode == 0)
    }

    @Test func skipThenNext() async throws {
        let h = try harness(faults: "  - { on: message/mass/speed/get, errcode: 9500002, skip: 1, next: 1 }")
        let token = await h.classicToken()
        let codes = await [0, 1, 2].asyncMap { _ in await h.post("/cgi-bin/message/mass/speed/get", token: token, "{}").errcode }
        #expect(codes == [0, 9_500_002, 0])
    }

    @Test func httpFaultAnswersAnHTMLErrorPage() async throws {
        let h = try harness(faults: "  - { on: \"*\", http: 503, limit: 1 }")
        let reply = await h.get("/cgi-bin/token", ["grant_type": "client_credential", "appid": "wx00000000000000a1", "secret": "secret-svc"])
        #expect(reply.response.status == 503)
        #expect(reply.response.contentType == "text/html")
        #expect(reply.response.text.contains("503"))
        #expect(await h.classicToken() != "missing")
    }

    @Test func resetBeforeProcessingHasNoEffect() async throws {
        let h = try harness(faults: "  - { on: message/mass/sendall, reset: before, next: 1 }")
        let token = await h.classicToken()
        let reply = await h.sendAll(token, #"{\#(tagText),"clientmsgid":"r1"}"#)
        #expect(reply.response.dropConnection == .beforeProcessing)
        #expect(await h.engine.sends().isEmpty)
        // The retry with the same key is simply the first send.
        #expect(await h.sendAll(token, #"{\#(tagText),"clientmsgid":"r1"}"#).errcode == 0)
    }

    @Test func resetAfterProcessingReallyRecordsTheSend() async throws {
        let h = try harness(faults: "  - { on: message/mass/sendall, reset: after, next: 1 }")
        let token = await h.classicToken()
        let body = #"{\#(tagText),"clientmsgid":"did-it-send"}"#
        let lost = await h.sendAll(token, body)
        #expect(lost.response.dropConnection == .afterProcessing)
        let sends = await h.engine.sends()
        #expect(sends.count == 1)
        let sent = try #require(sends.first)
        #expect(sent.clientMsgID == "did-it-send")
        // The client retries with the same key: 45066 within the minute, then 45065 with the msg_id.
        #expect(await h.sendAll(token, body).errcode == 45066)
        h.clock.advance(by: .seconds(60))
        let retry = await h.sendAll(token, body)
        #expect(retry.errcode == 45065)
        #expect(retry.msgID == sent.msgID)
        #expect(await h.engine.sends().count == 1)
    }

    @Test func bodyAfterProcessingAcceptsTheSendAndAnswersTheBodyAsIs() async throws {
        let h = try harness(faults: #"  - { on: message/mass/sendall, body: '{"errcode":0,"msg_id":"abc"}', when: after, next: 1 }"#)
        let token = await h.classicToken()
        let reply = await h.sendAll(token, #"{\#(tagText),"clientmsgid":"odd-answer"}"#)
        #expect(reply.response.status == 200)
        #expect(reply.response.text == #"{"errcode":0,"msg_id":"abc"}"#)
        #expect(await h.engine.sends().map(\.clientMsgID) == ["odd-answer"])
        // Once only: the next call is answered normally.
        h.clock.advance(by: .seconds(60))
        #expect(await h.sendAll(token, #"{\#(tagText),"clientmsgid":"odd-answer"}"#).errcode == 45065)
    }

    @Test func bodyBeforeProcessingSendsNothing() async throws {
        let h = try harness(faults: "  - { on: message/mass/sendall, body: 'not json', next: 1 }")
        let token = await h.classicToken()
        let reply = await h.sendAll(token, "{\(tagText)}")
        #expect(reply.response.text == "not json")
        #expect(await h.engine.sends().isEmpty)
    }

    @Test func errcodeAfterProcessingTookEffect() async throws {
        let h = try harness(faults: "  - { on: message/mass/send, errcode: -1, when: after, next: 1 }")
        let token = await h.classicToken()
        let reply = await h.send(token, #"{"touser":["oSVC01aaaaaaaaaaaaaaaaaaaaa1","oSVC01aaaaaaaaaaaaaaaaaaaaa2"],"msgtype":"text","text":{"content":"x"}}"#)
        #expect(reply.errcode == -1)
        #expect(await h.engine.sends().count == 1)
    }

    @Test func latencyIsAddedToTheAnswer() async throws {
        let h = try harness(faults: "  - { on: message/mass/get, latency: 250ms }")
        let token = await h.classicToken()
        let reply = await h.post("/cgi-bin/message/mass/get", token: token, #"{"msg_id":1}"#)
        #expect(reply.response.delay == .milliseconds(250))
        #expect(reply.errcode == 40059)  // latency alone changes nothing else
        #expect(await h.post("/cgi-bin/message/mass/speed/get", token: token, "{}").response.delay == nil)
    }

    @Test func tokenRevocationIs40001UntilANewTokenIsFetched() async throws {
        let h = try harness(faults: "  - { on: message/mass/speed/get, revoke_token: true, next: 1 }")
        let stable = try #require(await h.stableToken().string("access_token"))
        #expect(await h.post("/cgi-bin/message/mass/speed/get", token: stable, "{}").errcode == 40001)
        #expect(await h.post("/cgi-bin/message/mass/get", token: stable, #"{"msg_id":1}"#).errcode == 40001)
        // stable_token hands out a new token (no force_refresh needed).
        let fresh = try #require(await h.stableToken().string("access_token"))
        #expect(fresh != stable)
        #expect(await h.post("/cgi-bin/message/mass/speed/get", token: fresh, "{}").errcode == 0)
    }

    @Test func rateFaultsAreDeterministicGivenTheSeed() async throws {
        func pattern(seed: Int) async throws -> [Int] {
            let h = try EngineHarness(yaml: EngineFixtures.standard(with: """
                limits: off
                faults:
                  seed: \(seed)
                  rules: [{ on: message/mass/speed/get, errcode: 45011, rate: 0.3 }]
                """))
            let token = await h.classicToken()
            var codes: [Int] = []
            for _ in 0..<200 { codes.append(await h.post("/cgi-bin/message/mass/speed/get", token: token, "{}").errcode) }
            return codes
        }
        let a = try await pattern(seed: 11)
        let b = try await pattern(seed: 11)
        let c = try await pattern(seed: 12)
        #expect(a == b)
        #expect(a != c)
        let hits = a.filter { $0 == 45011 }.count
        #expect((35...85).contains(hits))
    }

    @Test func runtimeFaultsThroughTheAdminEndpoint() async throws {
        let h = try EngineHarness()
        let token = await h.classicToken()
        let added = await h.post("/sandbox/faults", token: nil, #"{"on":"message/mass/sendall","errcode":45011,"next":1}"#)
        #expect(added.response.status == 200)
        #expect(added.int("added") == 1)
        #expect(await h.sendAll(token, "{\(tagText)}").errcode == 45011)
        #expect(await h.sendAll(token, "{\(tagText)}").errcode == 0)
        let listed = await h.get("/sandbox/faults")
        let faults = try #require(listed.json["faults"] as? [[String: Any]])
        #expect((faults.first?["fired"] as? NSNumber)?.intValue == 1)
        // A bad rule is refused with its place.
        let bad = await h.post("/sandbox/faults", token: nil, "{\"on\": \"push\",\n \"errcode\": -1}")
        #expect(bad.response.status == 400)
        #expect(bad.string("error")?.contains("POST /sandbox/faults:2:") == true)
        let cleared = await h.engine.handle(SandboxRequest(method: "DELETE", path: "/sandbox/faults"))
        #expect(EngineReply(cleared).int("removed") == 1)
    }

    // MARK: jobs and pushes

    @Test func failedJobEndsSendFail() async throws {
        let h = try harness(faults: "  - { on: job, fail: true, next: 1 }")
        let token = try #require(await h.engine.accessToken(appID: "wx00000000000000a1"))
        let failed = try #require(await h.sendAll(token, "{\(tagText)}").msgID)
        let fine = try #require(await h.sendAll(token, "{\(tagText)}").msgID)
        await h.run(for: .seconds(11))
        #expect(await h.status(token, failed) == "SEND_FAIL")
        #expect(await h.status(token, fine) == "SEND_SUCCESS")
        let events = try await h.sender.posts.map { try MassSendJobFinish(xml: $0.body) }
        #expect(events.first { $0.msgID == failed }?.status == .fail)
        #expect(events.first { $0.msgID == fine }?.status == .success)
    }

    @Test func reviewErrorIsPushedAsErrN() async throws {
        let h = try harness(faults: "  - { on: job, err: 20002 }")
        let token = try #require(await h.engine.accessToken(appID: "wx00000000000000a1"))
        let msgID = try #require(await h.sendAll(token, "{\(tagText)}").msgID)
        await h.run(for: .seconds(11))
        #expect(await h.status(token, msgID) == "SEND_FAIL")
        let event = try MassSendJobFinish(xml: try #require(await h.sender.posts.first).body)
        #expect(event.status == .error(code: 20002, meaning: "pornography"))
        #expect(event.sentCount == 0)
    }

    @Test(arguments: [(0, false), (1, true)])
    func reprintFollowsSendIgnoreReprint(ignore: Int, sent: Bool) async throws {
        let h = try harness(faults: "  - { on: job, reprint: 2 }")
        let token = try #require(await h.engine.accessToken(appID: "wx00000000000000a1"))
        let news = await h.newsID(token, articles: 2)
        let msgID = try #require(await h.sendAll(token, #"{"filter":{"is_to_all":false,"tag_id":100},"msgtype":"mpnews","mpnews":{"media_id":"\#(news)"},"send_ignore_reprint":\#(ignore)}"#).msgID)
        await h.run(for: .seconds(11))
        let event = try MassSendJobFinish(xml: try #require(await h.sender.posts.first).body)
        #expect(event.copyrightCheckResult.items.first?.articleIdx == 2)
        if sent {
            #expect(event.status == .success)
            #expect(event.copyrightCheckResult.checkState == .reprintSent)
            #expect(await h.status(token, msgID) == "SEND_SUCCESS")
        } else {
            #expect(event.status.isOriginalityFailure)
            #expect(event.status.wechatText == "err(30003)")
            #expect(event.copyrightCheckResult.checkState == .reprintBlocked)
            #expect(await h.status(token, msgID) == "SEND_FAIL")
        }
    }

    @Test func droppedPushIsNeverSent() async throws {
        let h = try harness(faults: "  - { on: push, drop: true }")
        let token = try #require(await h.engine.accessToken(appID: "wx00000000000000a1"))
        _ = await h.sendAll(token, "{\(tagText)}")
        await h.run(for: .seconds(60), steps: 6)
        #expect(await h.sender.posts.isEmpty)
        let record = try #require(await h.engine.pushRecords().first)
        #expect(record.status == "dropped")
        #expect(record.xml?.contains("MASSSENDJOBFINISH") == true)
    }

    @Test func delayedPushComesLater() async throws {
        let h = try harness(faults: "  - { on: push, delay: 30s }")
        let token = try #require(await h.engine.accessToken(appID: "wx00000000000000a1"))
        _ = await h.sendAll(token, "{\(tagText)}")
        await h.run(for: .seconds(39))
        #expect(await h.sender.posts.isEmpty)
        await h.run(for: .seconds(2))
        #expect(await h.sender.posts.count == 1)
    }

    @Test func duplicatedPushArrivesTwiceWithTheSameEvent() async throws {
        let h = try harness(faults: "  - { on: push, duplicate: true }")
        let token = try #require(await h.engine.accessToken(appID: "wx00000000000000a1"))
        _ = await h.sendAll(token, "{\(tagText)}")
        await h.run(for: .seconds(11))
        await h.run(for: .seconds(1))
        let posts = await h.sender.posts
        #expect(posts.count == 2)
        #expect(posts[0].body == posts[1].body)
        #expect(posts[0].query["nonce"] != posts[1].query["nonce"])
        #expect(await h.engine.pushRecords().map(\.duplicate) == [false, true])
    }
}

private extension Array {
    func asyncMap<T>(_ transform: (Element) async -> T) async -> [T] {
        var out: [T] = []
        for element in self { out.append(await transform(element)) }
        return out
    }
}
