import Foundation
import Testing
import WeChatMP
import WeChatPush
@testable import WeChatSandbox

@Suite("Engine: jobs, delete, pushes")
struct EngineJobTests {
    let tagText = #""filter":{"is_to_all":false,"tag_id":100},"msgtype":"text","text":{"content":"hello"}"#

    /// 20,000 followers, review 60 s, a time scale of 10.
    static let big = """
    time_scale: 10
    jobs: { review: 60s, push_delay: 2s, push_retry_interval: 5s }
    accounts:
      big:
        appid: wx0000000000000big
        secret: s
        callback: { url: "http://127.0.0.1:9/cb", token: t }
        followers: { count: 20000, seed: 9 }
    """

    @Test func jobsProgressOverScaledTimeAtTheSetSpeed() async throws {
        let h = try EngineHarness(yaml: Self.big)
        let token = try #require(await h.engine.accessToken(appID: "wx0000000000000big"))
        // Speed 4: 100,000 a minute, so 20,000 take 12 s of sandbox time after 60 s of review.
        #expect(await h.post("/cgi-bin/message/mass/speed/set", token: token, #"{"speed":4}"#).errcode == 0)
        let msgID = try #require(await h.sendAll(token, #"{"filter":{"is_to_all":true},"msgtype":"text","text":{"content":"x"}}"#).msgID)
        await h.run(for: .seconds(5))  // 50 s sandbox: in review
        var job = try #require(await h.engine.jobInfos().first)
        #expect(job.phase == "review" && job.delivered == 0)
        #expect(await h.status(token, msgID) == "SENDING")
        await h.run(for: .seconds(1.6))  // 66 s: 6 s of sending = 10,000
        job = try #require(await h.engine.jobInfos().first)
        #expect(job.phase == "sending")
        #expect(abs(job.delivered - 10_000) <= 1)
        #expect(await h.status(token, msgID) == "SENDING")
        await h.run(for: .seconds(0.7))  // 73 s: done (at 72 s)
        job = try #require(await h.engine.jobInfos().first)
        #expect(job.phase == "done")
        #expect(job.sentCount == 20_000 && job.errorCount == 0)
        #expect(await h.status(token, msgID) == "SEND_SUCCESS")
        #expect(await h.engine.sends().first?.status == "SEND_SUCCESS")
    }

    @Test func speedChangesApplyToRunningJobs() async throws {
        let h = try EngineHarness(yaml: Self.big)
        let token = try #require(await h.engine.accessToken(appID: "wx0000000000000big"))
        #expect(await h.post("/cgi-bin/message/mass/speed/set", token: token, #"{"speed":4}"#).errcode == 0)
        let msgID = try #require(await h.sendAll(token, #"{"filter":{"is_to_all":true},"msgtype":"text","text":{"content":"x"}}"#).msgID)
        await h.run(for: .seconds(6.3))  // 63 s: 3 s of sending at 100,000/min = 5,000
        #expect(await h.status(token, msgID) == "SENDING")
        #expect(await h.post("/cgi-bin/message/mass/speed/set", token: token, #"{"speed":0}"#).errcode == 0)
        // 15,000 left at 800,000/min: 1.125 s of sandbox time.
        await h.run(for: .seconds(0.12))
        #expect(await h.status(token, msgID) == "SEND_SUCCESS")
    }

    @Test func errorRateSplitsSentAndErrorCounts() async throws {
        let h = try EngineHarness(yaml: Self.big.replacingOccurrences(of: "push_retry_interval: 5s", with: "push_retry_interval: 5s, error_rate: 0.01"))
        let token = try #require(await h.engine.accessToken(appID: "wx0000000000000big"))
        _ = await h.sendAll(token, #"{"filter":{"is_to_all":true},"msgtype":"text","text":{"content":"x"}}"#)
        await h.run(for: .seconds(60))
        let job = try #require(await h.engine.jobInfos().first)
        #expect(job.errorCount == 200 && job.sentCount == 19_800)
    }

    // MARK: delete

    @Test func deleteRules() async throws {
        let h = try EngineHarness()
        let token = try #require(await h.engine.accessToken(appID: "wx00000000000000a1"))
        let delete = "/cgi-bin/message/mass/delete"
        let text = try #require(await h.sendAll(token, "{\(tagText)}").msgID)
        let news = await h.newsID(token, articles: 3)
        let article = try #require(await h.sendAll(token, #"{"filter":{"is_to_all":false,"tag_id":100},"msgtype":"mpnews","mpnews":{"media_id":"\#(news)"}}"#).msgID)
        // Not yet sent: 40059.
        #expect(await h.post(delete, token: token, #"{"msg_id":\#(article)}"#).errcode == 40059)
        await h.run(for: .seconds(15))
        #expect(await h.status(token, article) == "SEND_SUCCESS")
        // Text cannot be deleted; unknown ids neither.
        #expect(await h.post(delete, token: token, #"{"msg_id":\#(text)}"#).errcode == 40059)
        #expect(await h.post(delete, token: token, #"{"msg_id":12345}"#).errcode == 40059)
        #expect(await h.post(delete, token: token, "{}").errcode == 40059)
        // article_idx is 1-based and within the message.
        #expect(await h.post(delete, token: token, #"{"msg_id":\#(article),"article_idx":4}"#).errcode == 40060)
        #expect(await h.post(delete, token: token, #"{"msg_id":\#(article),"article_idx":-1}"#).errcode == 40060)
        let one = await h.post(delete, token: token, #"{"msg_id":\#(article),"article_idx":2}"#)
        #expect(one.errcode == 0 && one.errmsg == "ok")
        #expect(await h.status(token, article) == "SEND_SUCCESS")
        #expect(await h.post(delete, token: token, #"{"msg_id":\#(article),"article_idx":2}"#).errcode == 40060)
        // 0 deletes the whole message.
        #expect(await h.post(delete, token: token, #"{"msg_id":"\#(article)","article_idx":0}"#).errcode == 0)
        #expect(await h.status(token, article) == "DELETE")
        #expect(await h.post(delete, token: token, #"{"msg_id":\#(article)}"#).errcode == 40059)
    }

    @Test func deleteByURLAndAcrossSendsOfTheSameMaterial() async throws {
        let h = try EngineHarness()
        let token = try #require(await h.engine.accessToken(appID: "wx00000000000000a1"))
        let news = await h.newsID(token, articles: 1)
        let body = #"{"filter":{"is_to_all":false,"tag_id":100},"msgtype":"mpnews","mpnews":{"media_id":"\#(news)"}}"#
        let first = try #require(await h.sendAll(token, body).msgID)
        let second = try #require(await h.sendAll(token, body).msgID)
        await h.run(for: .seconds(15))
        let push = try #require(await h.sender.posts.first { $0.body.contains("<MsgID>\(first)</MsgID>") })
        let event = try MassSendJobFinish(xml: push.body)
        let url = try #require(event.articleURLResult.items.first?.articleURL)
        #expect(await h.post("/cgi-bin/message/mass/delete", token: token, #"{"url":"\#(url)"}"#).errcode == 0)
        #expect(await h.status(token, first) == "DELETE")
        #expect(await h.status(token, second) == "DELETE")
    }

    @Test func mpvideoCanBeDeletedAfterSuccess() async throws {
        let h = try EngineHarness()
        let token = try #require(await h.engine.accessToken(appID: "wx00000000000000a1"))
        let video = await h.mpvideoID(token)
        let msgID = try #require(await h.sendAll(token, #"{"filter":{"is_to_all":false,"tag_id":100},"msgtype":"mpvideo","mpvideo":{"media_id":"\#(video)"}}"#).msgID)
        await h.run(for: .seconds(15))
        #expect(await h.post("/cgi-bin/message/mass/delete", token: token, #"{"msg_id":\#(msgID),"article_idx":2}"#).errcode == 40060)
        #expect(await h.post("/cgi-bin/message/mass/delete", token: token, #"{"msg_id":\#(msgID)}"#).errcode == 0)
        #expect(await h.status(token, msgID) == "DELETE")
    }

    @Test func deletesAreLimitedPerDay() async throws {
        let h = try EngineHarness(yaml: EngineFixtures.standard(with: "quotas: { deletes_per_day: 1 }"))
        let token = try #require(await h.engine.accessToken(appID: "wx00000000000000a1"))
        let news = await h.newsID(token, articles: 2)
        let msgID = try #require(await h.sendAll(token, #"{"filter":{"is_to_all":false,"tag_id":100},"msgtype":"mpnews","mpnews":{"media_id":"\#(news)"}}"#).msgID)
        await h.run(for: .seconds(15))
        #expect(await h.post("/cgi-bin/message/mass/delete", token: token, #"{"msg_id":\#(msgID),"article_idx":1}"#).errcode == 0)
        #expect(await h.post("/cgi-bin/message/mass/delete", token: token, #"{"msg_id":\#(msgID),"article_idx":2}"#).errcode == 45009)
    }

    // MARK: pushes

    @Test func plainPushIsSignedAndCarriesRealisticCounts() async throws {
        let h = try EngineHarness()
        let token = try #require(await h.engine.accessToken(appID: "wx00000000000000a1"))
        let list = ["oSVC01aaaaaaaaaaaaaaaaaaaaa1", "oSVC01aaaaaaaaaaaaaaaaaaaaa2", "oSVC01zzzzzzzzzzzzzzzzzzzzz1"]
        let quoted = list.map { "\"\($0)\"" }.joined(separator: ",")
        let msgID = try #require(await h.send(token, #"{"touser":[\#(quoted)],"msgtype":"text","text":{"content":"x"}}"#).msgID)
        await h.run(for: .seconds(9))
        #expect(await h.sender.posts.isEmpty)
        await h.run(for: .seconds(2))
        let posts = await h.sender.posts
        #expect(posts.count == 1)
        let post = try #require(posts.first)
        #expect(post.url.hasPrefix("http://127.0.0.1:9/cb?x=1&signature="))
        #expect(post.timeout == .seconds(5))
        let query = post.query
        let timestamp = try #require(query["timestamp"])
        let nonce = try #require(query["nonce"])
        let crypto = try CallbackCrypto(credentials: CallbackCredentials(token: "cbtoken", appID: "wx00000000000000a1"))
        #expect(crypto.verifySignature(signature: query["signature"] ?? "", timestamp: timestamp, nonce: nonce))
        #expect(query["encrypt_type"] == nil)
        // Push timestamps are wall time.
        #expect(Int64(timestamp) == Int64(h.clock.now().timeIntervalSince1970))
        let event = try MassSendJobFinish(xml: post.body)
        #expect(event.msgID == msgID)
        #expect(event.toUserName == "gh_aaaaaaaaaaaa")
        #expect(event.fromUserName == query["openid"])
        #expect(event.status == .success)
        #expect(event.totalCount == 3 && event.filterCount == 2)
        #expect(event.sentCount + event.errorCount == event.filterCount)
        #expect(event.createTime == Int64(timestamp))
        // A text push carries the empty CopyrightCheckResult of the seed's example, and no
        // ArticleUrlResult.
        #expect(post.body.contains(
            "<ErrorCount>\(event.errorCount)</ErrorCount><CopyrightCheckResult><Count>0</Count><ResultList></ResultList><CheckState>0</CheckState></CopyrightCheckResult></xml>"),
            "\(post.body)")
        #expect(!post.body.contains("ArticleUrlResult"))
        #expect(event.copyrightCheckResult.checkState.rawValue == 0)
        let record = try #require(await h.engine.pushRecords().first)
        #expect(record.status == "delivered" && record.attempts.count == 1)
    }

    @Test func safeModePushIsEncryptedAndDecryptable() async throws {
        let h = try EngineHarness()
        let token = try #require(await h.engine.accessToken(appID: "wx00000000000000b2"))
        let news = await h.newsID(token, articles: 2)
        let reply = await h.sendAll(token, #"{"filter":{"is_to_all":false,"tag_id":100},"msgtype":"mpnews","mpnews":{"media_id":"\#(news)"}}"#)
        let msgID = try #require(reply.msgID)
        await h.run(for: .seconds(11))
        let post = try #require(await h.sender.posts.first)
        let query = post.query
        #expect(query["encrypt_type"] == "aes")
        #expect(!post.body.contains("MASSSENDJOBFINISH"))
        #expect(post.body.contains("<Encrypt>"))
        let crypto = try CallbackCrypto(credentials: CallbackCredentials(
            token: "safetoken", encodingAESKey: "lTjyF/U3G2ZnGR7yZn47jiJFJylXlCsD2LjTOzO07Z4", appID: "wx00000000000000b2"))
        #expect(crypto.verifySignature(signature: query["signature"] ?? "", timestamp: query["timestamp"] ?? "", nonce: query["nonce"] ?? ""))
        let decrypted = try crypto.decryptMessage(body: post.body, msgSignature: query["msg_signature"] ?? "",
                                                  timestamp: query["timestamp"] ?? "", nonce: query["nonce"] ?? "")
        let event = try MassSendJobFinish(xml: decrypted.xml)
        #expect(event.msgID == msgID)
        #expect(event.totalCount == 50 && event.filterCount == 50)
        #expect(event.copyrightCheckResult.checkState == .notReprint)
        #expect(event.articleURLResult.count == 2)
        #expect(event.articleURLResult.items.map(\.articleIdx) == [1, 2])
        #expect(event.articleURLResult.items.allSatisfy { $0.articleURL.contains("mid=\(reply.msgDataID ?? 0)") })
        // A wrong msg_signature is refused by the receiver.
        #expect(throws: CallbackError.self) {
            try crypto.decryptMessage(body: post.body, msgSignature: String(repeating: "0", count: 40),
                                      timestamp: query["timestamp"] ?? "", nonce: query["nonce"] ?? "")
        }
    }

    @Test func compatibleModeCarriesBothPlainAndEncrypted() async throws {
        let yaml = EngineFixtures.standard.replacingOccurrences(of: "mode: safe", with: "mode: compatible")
        let h = try EngineHarness(yaml: yaml)
        let token = try #require(await h.engine.accessToken(appID: "wx00000000000000b2"))
        _ = await h.sendAll(token, #"{"filter":{"is_to_all":false,"tag_id":100},"msgtype":"text","text":{"content":"x"}}"#)
        await h.run(for: .seconds(11))
        let post = try #require(await h.sender.posts.first)
        #expect(post.body.contains("MASSSENDJOBFINISH") && post.body.contains("<Encrypt>"))
        let crypto = try CallbackCrypto(credentials: CallbackCredentials(
            token: "safetoken", encodingAESKey: "lTjyF/U3G2ZnGR7yZn47jiJFJylXlCsD2LjTOzO07Z4", appID: "wx00000000000000b2"))
        let decrypted = try crypto.decryptMessage(body: post.body, msgSignature: post.query["msg_signature"] ?? "",
                                                  timestamp: post.query["timestamp"] ?? "", nonce: post.query["nonce"] ?? "")
        #expect(try MassSendJobFinish(xml: decrypted.xml) == MassSendJobFinish(xml: post.body))
    }

    @Test func failedPushIsTriedThreeTimesInAll() async throws {
        let h = try EngineHarness(sender: EnginePushRecorder(fallback: false))
        let token = try #require(await h.engine.accessToken(appID: "wx00000000000000a1"))
        _ = await h.sendAll(token, "{\(tagText)}")
        await h.run(for: .seconds(10.5))
        #expect(await h.sender.posts.count == 1)
        await h.run(for: .seconds(4))
        #expect(await h.sender.posts.count == 1)  // the retry waits 5 s
        await h.run(for: .seconds(1))
        #expect(await h.sender.posts.count == 2)
        await h.run(for: .seconds(5))
        #expect(await h.sender.posts.count == 3)
        await h.run(for: .seconds(60), steps: 6)
        let posts = await h.sender.posts
        #expect(posts.count == 3)
        // Each try is signed afresh; the event is the same.
        #expect(Set(posts.map { $0.query["nonce"] ?? "" }).count == 3)
        #expect(Set(posts.map(\.body)).count == 1)
        let record = try #require(await h.engine.pushRecords().first)
        #expect(record.status == "failed" && record.attempts.count == 3 && record.attempts.allSatisfy { !$0.ok })
    }

    @Test func pushThatSucceedsOnTheThirdTryIsNotSentAgain() async throws {
        let h = try EngineHarness(sender: EnginePushRecorder(script: [false, false, true]))
        let token = try #require(await h.engine.accessToken(appID: "wx00000000000000a1"))
        _ = await h.sendAll(token, "{\(tagText)}")
        await h.run(for: .seconds(60), steps: 12)
        #expect(await h.sender.posts.count == 3)
        let record = try #require(await h.engine.pushRecords().first)
        #expect(record.status == "delivered")
        #expect(record.attempts.map(\.ok) == [false, false, true])
    }

    @Test func timeScaleAppliesToPushTimingButNotToTimestamps() async throws {
        let yaml = EngineFixtures.standard.replacingOccurrences(of: "time_scale: 1", with: "time_scale: 100")
        let h = try EngineHarness(yaml: yaml)
        let token = try #require(await h.engine.accessToken(appID: "wx00000000000000a1"))
        _ = await h.sendAll(token, "{\(tagText)}")
        await h.run(for: .milliseconds(110))  // 11 s of sandbox time
        let post = try #require(await h.sender.posts.first)
        #expect(post.query["timestamp"] == String(Int64(h.clock.now().timeIntervalSince1970)))
    }

    @Test func noCallbackMeansNoPush() async throws {
        let h = try EngineHarness()
        let token = try #require(await h.engine.accessToken(appID: "wx00000000000000c3"))
        _ = await h.sendAll(token, "{\(tagText)}")
        await h.run(for: .seconds(20))
        #expect(await h.sender.posts.isEmpty)
        #expect(await h.engine.pushRecords().first?.status == "no_callback")
    }

    @Test func callbackCanBeRepointedAtRunTime() async throws {
        let h = try EngineHarness()
        let reply = await h.post("/sandbox/callback", token: nil, #"{"account":"svc","url":"http://127.0.0.1:7/new"}"#)
        #expect(reply.response.status == 200)
        let token = try #require(await h.engine.accessToken(appID: "wx00000000000000a1"))
        _ = await h.sendAll(token, "{\(tagText)}")
        await h.run(for: .seconds(11))
        #expect(await h.sender.posts.first?.url.hasPrefix("http://127.0.0.1:7/new?signature=") == true)
        #expect(await h.post("/sandbox/callback", token: nil, #"{"account":"nobody","url":"http://x/"}"#).response.status == 404)
    }
}
