import Foundation
import Testing
@testable import WeChatSandbox

@Suite("Engine: mass-send payloads, audiences and errcodes")
struct EngineMassTests {
    @Test func sendAllTextToATagIsAccepted() async throws {
        let h = try EngineHarness()
        let token = await h.classicToken()
        let reply = await h.sendAll(token, #"{"filter":{"is_to_all":false,"tag_id":100},\#(EngineFixtures.text)}"#)
        #expect(reply.errcode == 0)
        #expect(reply.errmsg == "send job submission success")
        let msgID = try #require(reply.msgID)
        #expect(reply.msgDataID == nil)
        let record = try #require(await h.engine.sends().record(msgID))
        #expect(record.endpoint == "sendall")
        #expect(record.tagID == 100)
        #expect(record.audience == 2)
        #expect(record.legacy == false)
        #expect(record.status == "SENDING")
    }

    @Test func mpnewsAnswerCarriesMsgDataID() async throws {
        let h = try EngineHarness()
        let token = await h.classicToken()
        let news = await h.newsID(token)
        let reply = await h.sendAll(token, #"{"filter":{"is_to_all":true},"msgtype":"mpnews","mpnews":{"media_id":"\#(news)"},"send_ignore_reprint":0}"#)
        #expect(reply.errcode == 0)
        #expect(reply.msgDataID != nil)
    }

    @Test(arguments: ["video", "news", "music", ""])
    func unknownMsgtypeIs40008(msgtype: String) async throws {
        let h = try EngineHarness()
        let token = await h.classicToken()
        let reply = await h.sendAll(token, #"{"filter":{"is_to_all":false,"tag_id":100},"msgtype":"\#(msgtype)","\#(msgtype)":{"media_id":"x"}}"#)
        #expect(reply.errcode == 40008)
    }

    @Test func missingMsgtypeIs40008() async throws {
        let h = try EngineHarness()
        let token = await h.classicToken()
        #expect(await h.sendAll(token, #"{"filter":{"is_to_all":true},"text":{"content":"x"}}"#).errcode == 40008)
    }

    @Test func payloadMustSitUnderTheMsgtypesKey() async throws {
        let h = try EngineHarness()
        let token = await h.classicToken()
        let reply = await h.sendAll(token, #"{"filter":{"is_to_all":true},"msgtype":"text","mpnews":{"media_id":"x"}}"#)
        #expect(reply.errcode == 47001)
    }

    @Test func bodyErrors() async throws {
        let h = try EngineHarness()
        let token = await h.classicToken()
        #expect(await h.sendAll(token, "").errcode == 44002)
        #expect(await h.sendAll(token, "{not json").errcode == 47001)
        #expect(await h.sendAll(token, "[1,2]").errcode == 47001)
        #expect(await h.sendAll(token, #"{\#(EngineFixtures.text)}"#).errcode == 47001)  // no filter
    }

    @Test func getOnAPostEndpointIs43002AndUnknownPathIs40066() async throws {
        let h = try EngineHarness()
        let token = await h.classicToken()
        #expect(await h.get("/cgi-bin/message/mass/sendall", ["access_token": token]).errcode == 43002)
        #expect(await h.post("/cgi-bin/message/mass/nothing", token: token, "{}").errcode == 40066)
    }

    @Test func textContentLimits() async throws {
        let h = try EngineHarness()
        let token = await h.classicToken()
        let long = String(repeating: "长", count: 683)  // 2049 bytes
        let tooLong = await h.sendAll(token, #"{"filter":{"is_to_all":false,"tag_id":100},"msgtype":"text","text":{"content":"\#(long)"}}"#)
        #expect(tooLong.errcode == 45002)
        let fits = String(repeating: "长", count: 682)
        #expect(await h.sendAll(token, #"{"filter":{"is_to_all":false,"tag_id":100},"msgtype":"text","text":{"content":"\#(fits)"}}"#).errcode == 0)
        #expect(await h.sendAll(token, #"{"filter":{"is_to_all":false,"tag_id":100},"msgtype":"text","text":{"content":""}}"#).errcode == 44004)
    }

    @Test func tagMustExist() async throws {
        let h = try EngineHarness()
        let token = await h.classicToken()
        #expect(await h.sendAll(token, #"{"filter":{"is_to_all":false,"tag_id":999},\#(EngineFixtures.text)}"#).errcode == 40152)
        // No tag and not to all: refused, never sent to everyone.
        #expect(await h.sendAll(token, #"{"filter":{"is_to_all":false},\#(EngineFixtures.text)}"#).errcode == 40152)
        #expect(await h.engine.sends().isEmpty)
    }

    @Test func legacyGroupIDIsAcceptedAsATagAndFlagged() async throws {
        let h = try EngineHarness()
        let token = await h.classicToken()
        let reply = await h.sendAll(token, #"{"filter":{"is_to_all":false,"group_id":100},\#(EngineFixtures.text)}"#)
        #expect(reply.errcode == 0)
        let record = try #require(await h.engine.sends().record(reply.msgID))
        #expect(record.tagID == 100)
        #expect(record.audience == 2)
        #expect(record.legacy)
        #expect(record.legacyShapes == ["filter.group_id"])
        // A group that is no tag is still 40152.
        #expect(await h.sendAll(token, #"{"filter":{"is_to_all":false,"group_id":55},\#(EngineFixtures.text)}"#).errcode == 40152)
    }

    @Test func wechatpyToAllShapeWithNullGroupIDIsAccepted() async throws {
        let h = try EngineHarness()
        let token = await h.classicToken()
        let reply = await h.sendAll(token, #"{"filter":{"group_id":null,"is_to_all":true},"msgtype":"text","text":{"content":"hi"},"send_ignore_reprint":0}"#)
        #expect(reply.errcode == 0)
        let record = try #require(await h.engine.sends().record(reply.msgID))
        #expect(record.isToAll == true)
        #expect(record.audience == h.account("svc").followers.count)
        #expect(record.legacy)
    }

    @Test func imagesListIsCurrentAndSingleImageIsLegacy() async throws {
        let h = try EngineHarness()
        let token = await h.classicToken()
        let a = await h.imageID(token)
        let b = await h.imageID(token)
        let current = await h.sendAll(token, #"{"filter":{"is_to_all":false,"tag_id":100},"msgtype":"image","images":{"media_ids":["\#(a)","\#(b)"],"recommend":"r","need_open_comment":1,"only_fans_can_comment":0}}"#)
        #expect(current.errcode == 0)
        let legacy = await h.send(token, #"{"touser":["oSVC01aaaaaaaaaaaaaaaaaaaaa1","oSVC01aaaaaaaaaaaaaaaaaaaaa2"],"msgtype":"image","image":{"media_id":"\#(a)"}}"#)
        #expect(legacy.errcode == 0)
        let sends = await h.engine.sends()
        #expect(sends.record(current.msgID)?.legacy == false)
        #expect(sends.record(legacy.msgID)?.legacyShapes == ["image"])
        #expect(sends.record(legacy.msgID)?.endpoint == "send")
    }

    @Test func mediaMustExistFitTheTypeAndNotBeExpired() async throws {
        let h = try EngineHarness()
        let token = await h.classicToken()
        let image = await h.imageID(token)
        let filter = #""filter":{"is_to_all":false,"tag_id":100}"#
        #expect(await h.sendAll(token, #"{\#(filter),"msgtype":"voice","voice":{"media_id":"nope"}}"#).errcode == 40007)
        #expect(await h.sendAll(token, #"{\#(filter),"msgtype":"voice","voice":{"media_id":"\#(image)"}}"#).errcode == 40007)
        #expect(await h.sendAll(token, #"{\#(filter),"msgtype":"mpnews","mpnews":{"media_id":"\#(image)"}}"#).errcode == 40007)
        #expect(await h.sendAll(token, #"{\#(filter),"msgtype":"image","images":{"media_ids":[]}}"#).errcode == 40007)
        // A media id of another account does not exist here.
        let other = try #require(await h.engine.accessToken(appID: "wx00000000000000b2"))
        let foreign = await h.imageID(other)
        #expect(await h.sendAll(token, #"{\#(filter),"msgtype":"image","images":{"media_ids":["\#(foreign)"]}}"#).errcode == 40007)
        // Expired after 3 days.
        let voice = (await h.upload(token, type: "voice", fileName: "v.mp3", bytes: EngineHarness.mp3)).string("media_id")!
        h.clock.advance(by: .seconds(3 * 86_400 - 1))
        let fresh = await h.classicToken()
        #expect(await h.sendAll(fresh, #"{\#(filter),"msgtype":"voice","voice":{"media_id":"\#(voice)"}}"#).errcode == 0)
        h.clock.advance(by: .seconds(1))
        #expect(await h.sendAll(fresh, #"{\#(filter),"msgtype":"voice","voice":{"media_id":"\#(voice)"}}"#).errcode == 40007)
    }

    @Test func mpvideoNeedsTheUploadvideoID() async throws {
        let h = try EngineHarness()
        let token = await h.classicToken()
        let raw = (await h.upload(token, type: "video", fileName: "clip.mp4", bytes: EngineHarness.mp4)).string("media_id")!
        let filter = #""filter":{"is_to_all":false,"tag_id":100}"#
        #expect(await h.sendAll(token, #"{\#(filter),"msgtype":"mpvideo","mpvideo":{"media_id":"\#(raw)"}}"#).errcode == 40007)
        let mpvideo = await h.mpvideoID(token)
        #expect(await h.sendAll(token, #"{\#(filter),"msgtype":"mpvideo","mpvideo":{"media_id":"\#(mpvideo)","title":"t","description":"d"}}"#).errcode == 0)
    }

    @Test func wxcardNeedsACardID() async throws {
        let h = try EngineHarness()
        let token = await h.classicToken()
        let filter = #""filter":{"is_to_all":false,"tag_id":100}"#
        #expect(await h.sendAll(token, #"{\#(filter),"msgtype":"wxcard","wxcard":{"card_id":""}}"#).errcode == 40073)
        #expect(await h.sendAll(token, #"{\#(filter),"msgtype":"wxcard","wxcard":{"card_id":"pFS7Fjg8kV1IdDz01r4SQwMkuCKc"}}"#).errcode == 0)
    }

    @Test func sendIgnoreReprintMustBe0Or1() async throws {
        let h = try EngineHarness()
        let token = await h.classicToken()
        #expect(await h.sendAll(token, #"{"filter":{"is_to_all":false,"tag_id":100},\#(EngineFixtures.text),"send_ignore_reprint":2}"#).errcode == 40035)
    }

    // MARK: mass/send

    @Test func sendTakes2To10000OpenIDs() async throws {
        let h = try EngineHarness()
        let token = await h.classicToken()
        #expect(await h.send(token, #"{"touser":["oSVC01aaaaaaaaaaaaaaaaaaaaa1"],\#(EngineFixtures.text)}"#).errcode == 40130)
        #expect(await h.send(token, #"{"touser":[],\#(EngineFixtures.text)}"#).errcode == 40130)
        #expect(await h.send(token, #"{"touser":"oSVC01aaaaaaaaaaaaaaaaaaaaa1",\#(EngineFixtures.text)}"#).errcode == 40130)
        let many = (0..<10_001).map { String(format: "\"oSVC01%022d\"", $0) }.joined(separator: ",")
        #expect(await h.send(token, #"{"touser":[\#(many)],\#(EngineFixtures.text)}"#).errcode == 40130)
        let most = (0..<10_000).map { String(format: "\"oSVC01%022d\"", $0) }.joined(separator: ",")
        #expect(await h.send(token, #"{"touser":[\#(most)],\#(EngineFixtures.text)}"#).errcode == 0)
    }

    @Test(arguments: ["short", "oSVC01aaaaaaaaaaaaaaaaaaaaa1x", "oSVC01aaaaaaaaaaaaaaaaaaaa!1", ""])
    func malformedOpenIDIs40003(openID: String) async throws {
        let h = try EngineHarness()
        let token = await h.classicToken()
        let reply = await h.send(token, #"{"touser":["oSVC01aaaaaaaaaaaaaaaaaaaaa1","\#(openID)"],\#(EngineFixtures.text)}"#)
        #expect(reply.errcode == 40003)
    }

    @Test func nonFollowersAreFilteredNotRefused() async throws {
        let h = try EngineHarness()
        let token = await h.classicToken()
        let list = ["oSVC01aaaaaaaaaaaaaaaaaaaaa1", "oSVC01aaaaaaaaaaaaaaaaaaaaa2", "oSVC01aaaaaaaaaaaaaaaaaaaaa3",
                    "oSVC01zzzzzzzzzzzzzzzzzzzzz1", "oOTHERzzzzzzzzzzzzzzzzzzzzz2"]
        let quoted = list.map { "\"\($0)\"" }.joined(separator: ",")
        let reply = await h.send(token, #"{"touser":[\#(quoted)],\#(EngineFixtures.text)}"#)
        #expect(reply.errcode == 0)
        let record = try #require(await h.engine.sends().record(reply.msgID))
        #expect(record.audience == 5)
        #expect(record.filterCount == 3)
    }

    @Test func sendIsRefusedToSubscriptionAccounts() async throws {
        let h = try EngineHarness()
        let token = await h.classicToken("sub")
        let followers = h.account("sub").followers.prefix(2).map { "\"\($0)\"" }.joined(separator: ",")
        #expect(await h.send(token, #"{"touser":[\#(followers)],\#(EngineFixtures.text)}"#).errcode == 48001)
    }

    @Test("an unverified account's sendall and send answer 48001, whatever the msgtype",
          arguments: ["safe", "sub"])
    func massSendsNeedAVerifiedAccount(_ name: String) async throws {
        let h = try EngineHarness(yaml: EngineFixtures.unverified(name))
        let token = await h.classicToken(name)
        let followers = h.account(name).followers.prefix(2).map { "\"\($0)\"" }.joined(separator: ",")
        #expect(await h.send(token, #"{"touser":[\#(followers)],\#(EngineFixtures.text)}"#).errcode == 48001)
        let text = await h.sendAll(token, #"{"filter":{"is_to_all":false,"tag_id":100},\#(EngineFixtures.text)}"#)
        #expect(text.errcode == 48001)
        #expect(text.errmsg.hasPrefix("api unauthorized"))
        let news = await h.newsID(token)
        let mpnews = #"{"filter":{"is_to_all":false,"tag_id":100},"msgtype":"mpnews","mpnews":{"media_id":"\#(news)"}}"#
        #expect(await h.sendAll(token, mpnews).errcode == 48001)
        #expect(await h.sendAll(token, #"{"filter":{"is_to_all":true},\#(EngineFixtures.text)}"#).errcode == 48001)
        #expect(await h.engine.sends().isEmpty)
    }

    @Test("an unverified account may preview any msgtype, mpnews included")
    func previewNeedsNoVerification() async throws {
        let h = try EngineHarness(yaml: EngineFixtures.unverified("sub"))
        let token = await h.classicToken("sub")
        let news = await h.newsID(token)
        let mpnews = await h.post("/cgi-bin/message/mass/preview", token: token,
                                  #"{"towxname":"editor_01","msgtype":"mpnews","mpnews":{"media_id":"\#(news)"}}"#)
        #expect(mpnews.errcode == 0)
        let text = await h.post("/cgi-bin/message/mass/preview", token: token, #"{"towxname":"editor_01",\#(EngineFixtures.text)}"#)
        #expect(text.errcode == 0)
    }

    @Test("a verified subscription account sends mpnews to a tag, but not to a list")
    func verifiedSubscriptionAccount() async throws {
        let h = try EngineHarness()
        let token = await h.classicToken("sub")
        let news = await h.newsID(token)
        let reply = await h.sendAll(token, #"{"filter":{"is_to_all":false,"tag_id":100},"msgtype":"mpnews","mpnews":{"media_id":"\#(news)"}}"#)
        #expect(reply.errcode == 0)
        let followers = h.account("sub").followers.prefix(2).map { "\"\($0)\"" }.joined(separator: ",")
        #expect(await h.send(token, #"{"touser":[\#(followers)],\#(EngineFixtures.text)}"#).errcode == 48001)
    }

    @Test("touser: fewer than two and more than 10,000 OpenIDs are 40130, each with WeChat's errmsg")
    func openIDListSize() async throws {
        let h = try EngineHarness()
        let token = await h.classicToken()
        let one = await h.send(token, #"{"touser":["oSVC01aaaaaaaaaaaaaaaaaaaaa1"],\#(EngineFixtures.text)}"#)
        #expect(one.errcode == 40130)
        #expect(one.errmsg.hasPrefix("invalid openid list size, at least two openid"))
        let many = (0...10_000).map { "\"oSVC01\(String(format: "%022d", $0))\"" }.joined(separator: ",")
        let tooMany = await h.send(token, #"{"touser":[\#(many)],\#(EngineFixtures.text)}"#)
        #expect(tooMany.errcode == 40130)
        #expect(tooMany.errmsg.hasPrefix("invalid openid list size"))
        #expect(!tooMany.errmsg.contains("at least two"), "\(tooMany.errmsg)")
        let exactly = (0..<10_000).map { "\"oSVC01\(String(format: "%022d", $0))\"" }.joined(separator: ",")
        #expect(await h.send(token, #"{"touser":[\#(exactly)],\#(EngineFixtures.text)}"#).errcode == 0)
    }

    @Test func previewsAreLimitedPerDay() async throws {
        let h = try EngineHarness(yaml: EngineFixtures.standard(with: "quotas: { previews_per_day: 2 }"))
        let token = await h.classicToken()
        let body = #"{"towxname":"editor_01",\#(EngineFixtures.text)}"#
        #expect(await h.post("/cgi-bin/message/mass/preview", token: token, body).errcode == 0)
        #expect(await h.post("/cgi-bin/message/mass/preview", token: token, body).errcode == 0)
        #expect(await h.post("/cgi-bin/message/mass/preview", token: token, body).errcode == 45009)
    }

    // MARK: preview, get, speed

    @Test func previewRules() async throws {
        let h = try EngineHarness()
        let token = await h.classicToken()
        let preview = "/cgi-bin/message/mass/preview"
        let ok = await h.post(preview, token: token, #"{"touser":"oSVC01aaaaaaaaaaaaaaaaaaaaa1",\#(EngineFixtures.text)}"#)
        #expect(ok.errcode == 0)
        #expect(ok.errmsg == "preview success")
        #expect(ok.msgID != nil)
        #expect(await h.post(preview, token: token, #"{"touser":"oSVC01zzzzzzzzzzzzzzzzzzzzz9",\#(EngineFixtures.text)}"#).errcode == 43004)
        #expect(await h.post(preview, token: token, #"{"touser":"bad",\#(EngineFixtures.text)}"#).errcode == 40003)
        #expect(await h.post(preview, token: token, #"{\#(EngineFixtures.text)}"#).errcode == 40003)
        // towxname wins over touser.
        let named = await h.post(preview, token: token, #"{"touser":"bad","towxname":"editor_01",\#(EngineFixtures.text)}"#)
        #expect(named.errcode == 0)
        // Images: the single form.
        let image = await h.imageID(token)
        #expect(await h.post(preview, token: token, #"{"towxname":"editor_01","msgtype":"image","image":{"media_id":"\#(image)"}}"#).errcode == 0)
        #expect(await h.post(preview, token: token, #"{"towxname":"editor_01","msgtype":"image","images":{"media_ids":["\#(image)"]}}"#).errcode == 47001)
        let previews = await h.engine.previewRecords()
        #expect(previews.count == 3)
        #expect(previews[1].toWXName == "editor_01" && previews[1].toUser == nil)
        // Previews are not mass sends.
        #expect(await h.engine.sends().isEmpty)
    }

    @Test func getReportsTheStatusAndRefusesUnknownIDs() async throws {
        let h = try EngineHarness()
        let token = await h.classicToken()
        let msgID = try #require(await h.sendAll(token, #"{"filter":{"is_to_all":false,"tag_id":100},\#(EngineFixtures.text)}"#).msgID)
        let reply = await h.post("/cgi-bin/message/mass/get", token: token, #"{"msg_id":"\#(msgID)"}"#)
        #expect(reply.msgID == msgID)
        #expect(reply.string("msg_status") == "SENDING")
        #expect(await h.post("/cgi-bin/message/mass/get", token: token, #"{"msg_id":\#(msgID)}"#).string("msg_status") == "SENDING")
        #expect(await h.post("/cgi-bin/message/mass/get", token: token, #"{"msg_id":"1"}"#).errcode == 40059)
        // Another account's job is not found either.
        let other = try #require(await h.engine.accessToken(appID: "wx00000000000000b2"))
        #expect(await h.post("/cgi-bin/message/mass/get", token: other, #"{"msg_id":"\#(msgID)"}"#).errcode == 40059)
    }

    @Test func speedGetAndSet() async throws {
        let h = try EngineHarness()
        let token = await h.classicToken()
        let initial = await h.post("/cgi-bin/message/mass/speed/get", token: token, "{}")
        #expect(initial.int("speed") == 0 && initial.int("realspeed") == 80)
        #expect(await h.post("/cgi-bin/message/mass/speed/set", token: token, #"{"speed":3}"#).errcode == 0)
        let after = await h.post("/cgi-bin/message/mass/speed/get", token: token, "{}")
        #expect(after.int("speed") == 3 && after.int("realspeed") == 30)
        #expect(await h.post("/cgi-bin/message/mass/speed/set", token: token, #"{"speed":5}"#).errcode == 45083)
        #expect(await h.post("/cgi-bin/message/mass/speed/set", token: token, #"{"speed":-1}"#).errcode == 45083)
        #expect(await h.post("/cgi-bin/message/mass/speed/get", token: token, "{}").int("speed") == 3)
    }
}
