import Foundation
import Testing
@testable import WeChatSandbox

@Suite("Engine: quotas and clientmsgid")
struct EngineQuotaTests {
    let tagText = #""filter":{"is_to_all":false,"tag_id":100},"msgtype":"text","text":{"content":"hello"}"#
    let allText = #""filter":{"is_to_all":true},"msgtype":"text","text":{"content":"hello"}"#

    @Test func subscriptionAccountsSendAllOnceADay() async throws {
        let h = try EngineHarness()
        let token = await h.classicToken("sub")
        #expect(await h.sendAll(token, "{\(tagText)}").errcode == 0)
        h.clock.advance(by: .seconds(120))
        #expect(await h.sendAll(token, "{\(tagText)}").errcode == 45028)
        // The clock starts at 10:00 +08:00; the quota renews at midnight China time.
        h.clock.advance(by: .seconds(14 * 3600))
        let fresh = await h.classicToken("sub")
        #expect(await h.sendAll(fresh, "{\(tagText)}").errcode == 0)
    }

    @Test func serviceAccountsSendToAllFourTimesAMonth() async throws {
        let h = try EngineHarness()
        let token = try #require(await h.engine.accessToken(appID: "wx00000000000000a1"))
        for _ in 0..<4 {
            #expect(await h.sendAll(token, "{\(allText)}").errcode == 0)
        }
        #expect(await h.sendAll(token, "{\(allText)}").errcode == 45028)
        // Sends to a tag are not is_to_all sends.
        #expect(await h.sendAll(token, "{\(tagText)}").errcode == 0)
    }

    @Test func followersReceiveAtMostFourAMonthTheRestAreFiltered() async throws {
        let h = try EngineHarness()
        let token = try #require(await h.engine.accessToken(appID: "wx00000000000000a1"))
        var filterCounts: [Int] = []
        for _ in 0..<5 {
            let reply = await h.sendAll(token, "{\(tagText)}")
            #expect(reply.errcode == 0)
            filterCounts.append(await h.engine.sends().record(reply.msgID)?.filterCount ?? -1)
        }
        #expect(filterCounts == [2, 2, 2, 2, 0])
    }

    @Test func sixtyMassCallsAMinute() async throws {
        let h = try EngineHarness()
        let token = try #require(await h.engine.accessToken(appID: "wx00000000000000a1"))
        for _ in 0..<60 {
            #expect(await h.post("/cgi-bin/message/mass/speed/get", token: token, "{}").errcode == 0)
        }
        #expect(await h.post("/cgi-bin/message/mass/speed/get", token: token, "{}").errcode == 45011)
        #expect(await h.sendAll(token, "{\(tagText)}").errcode == 45011)
        // Media calls are not mass calls.
        #expect(await h.imageID(token) != "none")
        h.clock.advance(by: .seconds(60))
        #expect(await h.post("/cgi-bin/message/mass/speed/get", token: token, "{}").errcode == 0)
    }

    @Test func hundredSendsADay() async throws {
        let h = try EngineHarness(yaml: EngineFixtures.standard(with: "quotas: { mass_calls_per_minute: off }"))
        let token = try #require(await h.engine.accessToken(appID: "wx00000000000000a1"))
        let list = #""touser":["oSVC01aaaaaaaaaaaaaaaaaaaaa1","oSVC01aaaaaaaaaaaaaaaaaaaaa2"],"msgtype":"text","text":{"content":"hi"}"#
        for _ in 0..<100 {
            #expect(await h.send(token, "{\(list)}").errcode == 0)
        }
        #expect(await h.send(token, "{\(list)}").errcode == 45009)
        #expect(await h.sendAll(token, "{\(tagText)}").errcode == 45009)
        #expect(await h.engine.sends().count == 100)
    }

    @Test func limitsOffLiftsEveryQuota() async throws {
        let h = try EngineHarness(yaml: EngineFixtures.standard(with: "limits: off"))
        let sub = try #require(await h.engine.accessToken(appID: "wx00000000000000c3"))
        let svc = try #require(await h.engine.accessToken(appID: "wx00000000000000a1"))
        for _ in 0..<3 { #expect(await h.sendAll(sub, "{\(tagText)}").errcode == 0) }
        for _ in 0..<6 { #expect(await h.sendAll(svc, "{\(allText)}").errcode == 0) }
        for _ in 0..<60 { #expect(await h.post("/cgi-bin/message/mass/speed/get", token: svc, "{}").errcode == 0) }
        let reply = await h.sendAll(svc, "{\(tagText)}")
        #expect(reply.errcode == 0)
        #expect(await h.engine.sends().record(reply.msgID)?.filterCount == 2)
    }

    // MARK: clientmsgid

    @Test func clientMsgIDOver64BytesIs45067() async throws {
        let h = try EngineHarness()
        let token = await h.classicToken()
        let long = String(repeating: "k", count: 65)
        #expect(await h.sendAll(token, #"{\#(tagText),"clientmsgid":"\#(long)"}"#).errcode == 45067)
        let fits = String(repeating: "k", count: 64)
        #expect(await h.sendAll(token, #"{\#(tagText),"clientmsgid":"\#(fits)"}"#).errcode == 0)
        // Bytes, not characters: 22 × 3 bytes = 66.
        let wide = String(repeating: "键", count: 22)
        #expect(await h.sendAll(token, #"{\#(tagText),"clientmsgid":"\#(wide)"}"#).errcode == 45067)
    }

    @Test func repeatedClientMsgID45066Then45065ThenForgotten() async throws {
        let h = try EngineHarness()
        let token = try #require(await h.engine.accessToken(appID: "wx00000000000000a1"))
        let body = #"{\#(tagText),"clientmsgid":"mc1-abc"}"#
        let first = await h.sendAll(token, body)
        let msgID = try #require(first.msgID)
        h.clock.advance(by: .seconds(59))
        let tooFast = await h.sendAll(token, body)
        #expect(tooFast.errcode == 45066)
        h.clock.advance(by: .seconds(1))
        let exists = await h.sendAll(token, body)
        #expect(exists.errcode == 45065)
        #expect(exists.msgID == msgID)
        #expect(exists.errmsg.hasPrefix("clientmsgid exist"))
        // The same key on another endpoint or with other content is still the same send.
        let other = await h.send(token, #"{"touser":["oSVC01aaaaaaaaaaaaaaaaaaaaa1","oSVC01aaaaaaaaaaaaaaaaaaaaa2"],"msgtype":"text","text":{"content":"else"},"clientmsgid":"mc1-abc"}"#)
        #expect(other.errcode == 45065)
        #expect(await h.engine.sends().count == 1)
        // After 24 hours the key is forgotten.
        h.clock.advance(by: .seconds(86_400))
        let token2 = try #require(await h.engine.accessToken(appID: "wx00000000000000a1"))
        let again = await h.sendAll(token2, body)
        #expect(again.errcode == 0)
        #expect(again.msgID != msgID)
    }

    @Test func clientMsgIDIsRecognisedEvenWhenTheQuotaIsUsedUp() async throws {
        let h = try EngineHarness()
        let token = try #require(await h.engine.accessToken(appID: "wx00000000000000c3"))
        let body = #"{\#(tagText),"clientmsgid":"daily-1"}"#
        let msgID = try #require(await h.sendAll(token, body).msgID)
        h.clock.advance(by: .seconds(90))
        let retry = await h.sendAll(token, body)
        #expect(retry.errcode == 45065)
        #expect(retry.msgID == msgID)
    }

    @Test func clientMsgIDsArePerAccount() async throws {
        let h = try EngineHarness()
        let svc = try #require(await h.engine.accessToken(appID: "wx00000000000000a1"))
        let safe = try #require(await h.engine.accessToken(appID: "wx00000000000000b2"))
        #expect(await h.sendAll(svc, #"{\#(tagText),"clientmsgid":"same"}"#).errcode == 0)
        #expect(await h.sendAll(safe, #"{\#(tagText),"clientmsgid":"same"}"#).errcode == 0)
    }

    @Test func refusedSendsAreNotRemembered() async throws {
        let h = try EngineHarness()
        let token = await h.classicToken()
        let bad = #"{"filter":{"is_to_all":false,"tag_id":999},"msgtype":"text","text":{"content":"x"},"clientmsgid":"k1"}"#
        #expect(await h.sendAll(token, bad).errcode == 40152)
        #expect(await h.sendAll(token, #"{\#(tagText),"clientmsgid":"k1"}"#).errcode == 0)
    }

    @Test func keylessSendsAreNotDeduplicatedByDefault() async throws {
        let h = try EngineHarness()
        let token = await h.classicToken()
        #expect(await h.sendAll(token, "{\(tagText)}").errcode == 0)
        #expect(await h.sendAll(token, "{\(tagText)}").errcode == 0)
        #expect(await h.engine.sends().count == 2)
    }

    @Test func keylessDedupeByAudienceAndContentWhenTheFixtureAsks() async throws {
        let h = try EngineHarness(yaml: EngineFixtures.standard(with: "dedupe_keyless: true"))
        let token = await h.classicToken()
        let first = await h.sendAll(token, "{\(tagText)}")
        #expect(first.errcode == 0)
        #expect(await h.sendAll(token, "{\(tagText)}").errcode == 45066)
        h.clock.advance(by: .seconds(61))
        let repeated = await h.sendAll(token, "{\(tagText)}")
        #expect(repeated.errcode == 45065)
        #expect(repeated.msgID == first.msgID)
        // Other content or another audience is another send.
        #expect(await h.sendAll(token, #"{"filter":{"is_to_all":false,"tag_id":100},"msgtype":"text","text":{"content":"other"}}"#).errcode == 0)
        #expect(await h.sendAll(token, #"{"filter":{"is_to_all":false,"tag_id":101},"msgtype":"text","text":{"content":"hello"}}"#).errcode == 0)
    }
}
