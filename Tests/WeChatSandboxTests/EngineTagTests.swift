import Foundation
import Testing
@testable import WeChatSandbox

@Suite("Engine: tags and the call log")
struct EngineTagTests {
    /// A fixture with a tag of 0 followers and one over a page (10,000) of members.
    static let bigTagFixture = """
    seed: 4
    accounts:
      big:
        appid: wx00000000000000c3
        secret: secret-big
        followers: { count: 12500, seed: 9 }
        tags:
          - { id: 100, name: everyone, fraction: 1 }
          - { id: 101, name: empty, fraction: 0 }
    """

    func tagsGet(_ h: EngineHarness, token: String) async -> EngineReply {
        await h.get("/cgi-bin/tags/get", ["access_token": token])
    }

    func tagPage(_ h: EngineHarness, token: String, tag: Int, next: String) async -> EngineReply {
        await h.post("/cgi-bin/user/tag/get", token: token, #"{"tagid":\#(tag),"next_openid":"\#(next)"}"#)
    }

    @Test func tagsGetListsEveryTagWithItsFollowerCountAsWeChatDoes() async throws {
        let h = try EngineHarness()
        let token = await h.stableToken().string("access_token") ?? ""
        let reply = await tagsGet(h, token: token)
        #expect(reply.json["errcode"] == nil)
        let tags = try #require(reply.json["tags"] as? [[String: Any]])
        let listed = tags.map { "\($0["id"] as? Int ?? -1) \($0["name"] as? String ?? "?") \($0["count"] as? Int ?? -1)" }
        let half = await h.engine.tagMembers(appID: h.account("svc").appID, tagID: 101).count
        #expect(half > 50 && half < 150)
        // The reserved starred tag first, as WeChat lists it; then the fixture's tags.
        #expect(listed == ["2 星标组 0", "100 vip 2", "101 half \(half)"])
    }

    @Test func tagsGetChecksTheTokenAndAcceptsPOST() async throws {
        let h = try EngineHarness()
        #expect(await h.get("/cgi-bin/tags/get").errcode == 41001)
        #expect(await tagsGet(h, token: "not-a-token").errcode == 40001)
        let token = await h.stableToken().string("access_token") ?? ""
        let posted = await h.post("/cgi-bin/tags/get", token: token, "{}")
        #expect((posted.json["tags"] as? [Any])?.count == 3)
        h.clock.advance(by: .seconds(7200))
        #expect(await tagsGet(h, token: token).errcode == 42001)
    }

    @Test func userTagGetPagesTenThousandAtATimeAndEndsWithAnEmptyPage() async throws {
        let h = try EngineHarness(yaml: Self.bigTagFixture)
        let appID = h.account("big").appID
        let token = await h.stableToken("big").string("access_token") ?? ""
        let first = await tagPage(h, token: token, tag: 100, next: "")
        #expect(first.int("count") == 10_000)
        let firstIDs = try #require((first.json["data"] as? [String: Any])?["openid"] as? [String])
        #expect(first.string("next_openid") == firstIDs.last)
        let second = await tagPage(h, token: token, tag: 100, next: first.string("next_openid") ?? "")
        #expect(second.int("count") == 2_500)
        let secondIDs = try #require((second.json["data"] as? [String: Any])?["openid"] as? [String])
        #expect(firstIDs + secondIDs == (await h.engine.tagMembers(appID: appID, tagID: 100)))
        let end = await tagPage(h, token: token, tag: 100, next: second.string("next_openid") ?? "")
        #expect(end.int("count") == 0)
        #expect(end.string("next_openid") == "")
        #expect(end.json["data"] == nil)
        // An empty tag: the first page is already the end.
        #expect(await tagPage(h, token: token, tag: 101, next: "").int("count") == 0)
    }

    @Test func userTagGetRefusesAnUnknownTagAStrangerAndGET() async throws {
        let h = try EngineHarness()
        let token = await h.stableToken().string("access_token") ?? ""
        #expect(await tagPage(h, token: token, tag: 999, next: "").errcode == 45159)
        #expect(await h.post("/cgi-bin/user/tag/get", token: token, "{}").errcode == 45159)
        #expect(await h.post("/cgi-bin/user/tag/get", token: token, "").errcode == 44002)
        #expect(await tagPage(h, token: token, tag: 100, next: "oSVC01notamemberofthistag00").errcode == 40003)
        // A member of another tag is no place to continue this one from.
        #expect(await tagPage(h, token: token, tag: 100, next: "oSVC01aaaaaaaaaaaaaaaaaaaaa3").errcode == 40003)
        let get = await h.get("/cgi-bin/user/tag/get", ["access_token": token])
        #expect(get.errcode == 43002)
        #expect(await tagPage(h, token: "stale", tag: 100, next: "").errcode == 40001)
        let ok = await tagPage(h, token: token, tag: 100, next: "")
        #expect((ok.json["data"] as? [String: Any])?["openid"] as? [String]
            == ["oSVC01aaaaaaaaaaaaaaaaaaaaa1", "oSVC01aaaaaaaaaaaaaaaaaaaaa2"])
    }

    @Test func theCallLogListsEveryCallInOrderWithoutTokensOrSecrets() async throws {
        let h = try EngineHarness()
        let svc = h.account("svc")
        let token = await h.stableToken().string("access_token") ?? ""
        _ = await tagsGet(h, token: token)
        h.clock.advance(by: .seconds(1))
        _ = await tagPage(h, token: token, tag: 100, next: "")
        _ = await h.post("/cgi-bin/message/mass/speed/get", token: token, "{}")
        let classic = await h.classicToken()
        _ = await h.sendAll(classic, #"{"filter":{"is_to_all":false,"tag_id":100},"msgtype":"text","text":{"content":"hi"}}"#)
        _ = await tagPage(h, token: token, tag: 999, next: "")
        _ = await h.post("/cgi-bin/no/such", token: token, "{}")

        let calls = await h.engine.calls()
        #expect(calls.map(\.endpoint) == [
            "stable_token", "tags/get", "user/tag/get", "message/mass/speed/get", "token", "message/mass/sendall",
            "user/tag/get", "no/such",
        ])
        #expect(calls.map(\.seq) == Array(1...8))
        #expect(calls.map(\.method) == ["POST", "GET", "POST", "POST", "GET", "POST", "POST", "POST"])
        #expect(calls.allSatisfy { $0.account == "svc" && $0.appID == svc.appID })
        #expect(calls.map(\.readOnly) == [true, true, true, true, false, false, true, false])
        #expect(calls.map(\.errcode) == [0, 0, 0, 0, 0, 0, 45159, 40066])
        #expect(calls[2].at - calls[1].at == 1)

        // Over HTTP: the same list, filtered, and no token or secret anywhere in it.
        let listed = await h.get("/sandbox/calls", ["account": "svc", "after": "5"])
        let rows = try #require(listed.json["calls"] as? [[String: Any]])
        #expect(rows.compactMap { $0["endpoint"] as? String } == ["message/mass/sendall", "user/tag/get", "no/such"])
        #expect(rows.first?["read_only"] as? Bool == false)
        let all = await h.get("/sandbox/calls").response.text
        #expect(!all.contains(token) && !all.contains(classic) && !all.contains(svc.secret))
        #expect(await h.get("/sandbox/calls", ["endpoint": "tags/get"]).response.text.contains(#""seq":2"#))
        #expect(await h.get("/sandbox/calls", ["after": "x"]).response.status == 400)
    }

    @Test func aForcedRefreshAndADroppedCallAreLoggedAsSuch() async throws {
        let h = try EngineHarness()
        _ = await h.stableToken(force: true)
        let token = await h.stableToken().string("access_token") ?? ""
        await h.engine.addFaults([SandboxFault(target: .endpoint("tags/get"), action: .reset, phase: .before,
                                               trigger: .schedule(skip: 0, count: 1))])
        _ = await tagsGet(h, token: token)
        let calls = await h.engine.calls()
        #expect(calls.map(\.readOnly) == [false, true, true])
        #expect(calls.last?.dropped == .beforeProcessing)
        #expect(calls.last?.httpStatus == nil && calls.last?.errcode == nil)
        #expect(calls.last?.account == "svc")
    }
}
