import Foundation
import Testing
import WeChatMP
import WeChatPush
@testable import WeChatSandbox

@Suite("Engine: media and inspection")
struct EngineMediaTests {
    @Test func uploadsAnswerAsWeChatDoes() async throws {
        let h = try EngineHarness()
        let token = await h.classicToken()
        let image = await h.upload(token, type: "image", fileName: "a.png", bytes: [0x89, 0x50, 0x4E, 0x47] + [UInt8](repeating: 0, count: 100))
        #expect(image.string("type") == "image")
        #expect(image.string("media_id")?.count == 64)
        #expect(image.int("created_at") == Int(h.clock.now().timeIntervalSince1970))
        let thumb = await h.upload(token, type: "thumb", fileName: "t.jpg", bytes: EngineHarness.jpeg)
        #expect(thumb.string("thumb_media_id") != nil && thumb.string("media_id") == nil)
        // No extension: the content decides.
        let sniffed = await h.upload(token, type: "voice", fileName: "blob", bytes: EngineHarness.mp3)
        #expect(sniffed.errcode == 0)
    }

    @Test func uploadErrors() async throws {
        let h = try EngineHarness()
        let token = await h.classicToken()
        #expect(await h.upload(token, type: "doc", fileName: "a.jpg", bytes: EngineHarness.jpeg).errcode == 40004)
        #expect(await h.upload(token, type: "image", fileName: "a.bmp", bytes: EngineHarness.jpeg).errcode == 40005)
        #expect(await h.upload(token, type: "thumb", fileName: "t.jpg", bytes: [UInt8](repeating: 1, count: 65 * 1024)).errcode == 40012)
        let noFile = SandboxRequest(method: "POST", path: "/cgi-bin/media/upload", query: ["access_token": token, "type": "image"],
                                    headers: ["content-type": "application/json"], body: Data("{}".utf8))
        #expect(EngineReply(await h.engine.handle(noFile)).errcode == 41005)
        let url = await h.upload(token, type: "uploadimg", fileName: "inline.jpg", bytes: EngineHarness.jpeg)
        #expect(url.string("url")?.hasPrefix("http://mmbiz.qpic.cn/") == true)
        #expect(await h.upload(token, type: "uploadimg", fileName: "big.jpg", bytes: [UInt8](repeating: 1, count: (1 << 20) + 1)).errcode == 40009)
    }

    @Test func uploadNewsChecksArticles() async throws {
        let h = try EngineHarness()
        let token = await h.classicToken()
        let thumb = await h.thumbID(token)
        func article(title: String = "T", thumb: String, content: String = "<p>x</p>") -> String {
            #"{"title":"\#(title)","thumb_media_id":"\#(thumb)","content":"\#(content)"}"#
        }
        let news = "/cgi-bin/media/uploadnews"
        let ok = await h.post(news, token: token, #"{"articles":[\#(article(thumb: thumb))]}"#)
        #expect(ok.string("type") == "news" && ok.string("media_id") != nil)
        let nine = Array(repeating: article(thumb: thumb), count: 9).joined(separator: ",")
        #expect(await h.post(news, token: token, #"{"articles":[\#(nine)]}"#).errcode == 45008)
        #expect(await h.post(news, token: token, #"{"articles":[]}"#).errcode == 44003)
        #expect(await h.post(news, token: token, #"{"articles":[\#(article(thumb: "nope"))]}"#).errcode == 40007)
        #expect(await h.post(news, token: token, #"{"articles":[\#(article(thumb: thumb, content: ""))]}"#).errcode == 44004)
        let longTitle = String(repeating: "标", count: 65)
        #expect(await h.post(news, token: token, #"{"articles":[\#(article(title: longTitle, thumb: thumb))]}"#).errcode == 45003)
    }

    @Test func uploadNewsIsLimitedToTenADay() async throws {
        let h = try EngineHarness()
        let token = await h.classicToken()
        let thumb = await h.thumbID(token)
        let body = #"{"articles":[{"title":"T","thumb_media_id":"\#(thumb)","content":"c"}]}"#
        for _ in 0..<10 { #expect(await h.post("/cgi-bin/media/uploadnews", token: token, body).errcode == 0) }
        #expect(await h.post("/cgi-bin/media/uploadnews", token: token, body).errcode == 45009)
    }

    @Test func seededMediaAndTheirAge() async throws {
        let half = "      - { id: 101, name: half, fraction: 0.5 }"
        let yaml = EngineFixtures.standard.replacingOccurrences(of: half, with: half + "\n"
            + "    media:\n"
            + "      - { media_id: fresh-news, type: news, articles: 2 }\n"
            + "      - { media_id: old-news, type: news, age: 4d }")
        #expect(yaml.contains("old-news"))
        let h = try EngineHarness(yaml: yaml)
        let token = await h.classicToken()
        let filter = #""filter":{"is_to_all":false,"tag_id":100}"#
        #expect(await h.sendAll(token, #"{\#(filter),"msgtype":"mpnews","mpnews":{"media_id":"old-news"}}"#).errcode == 40007)
        #expect(await h.sendAll(token, #"{\#(filter),"msgtype":"voice","voice":{"media_id":"fresh-news"}}"#).errcode == 40007)
        let msgID = try #require(await h.sendAll(token, #"{\#(filter),"msgtype":"mpnews","mpnews":{"media_id":"fresh-news"}}"#).msgID)
        await h.run(for: .seconds(11))
        let event = try MassSendJobFinish(xml: try #require(await h.sender.posts.first).body)
        #expect(event.msgID == msgID)
        #expect(event.articleURLResult.count == 2)
    }

    // MARK: Inspection

    @Test func inspectionEndpoints() async throws {
        let h = try EngineHarness()
        let token = await h.classicToken()
        let reply = await h.sendAll(token, #"{"filter":{"is_to_all":false,"group_id":100},"msgtype":"text","text":{"content":"x"},"clientmsgid":"inspect-1"}"#)
        let msgID = try #require(reply.msgID)
        let sends = await h.get("/sandbox/sends")
        let list = try #require(sends.json["sends"] as? [[String: Any]])
        #expect(list.count == 1)
        let first = try #require(list.first)
        #expect((first["msg_id"] as? NSNumber)?.int64Value == msgID)
        #expect(first["clientmsgid"] as? String == "inspect-1")
        #expect((first["audience"] as? NSNumber)?.intValue == 2)
        #expect(first["legacy"] as? Bool == true)
        #expect(first["status"] as? String == "SENDING")
        #expect(first["account"] as? String == "svc")
        #expect(first["endpoint"] as? String == "sendall")
        #expect(first["msgtype"] as? String == "text")
        let filtered = await h.get("/sandbox/sends", ["clientmsgid": "other"])
        #expect((filtered.json["sends"] as? [Any])?.isEmpty == true)

        await h.run(for: .seconds(11))
        let jobs = try #require(await h.get("/sandbox/jobs").json["jobs"] as? [[String: Any]])
        #expect(jobs.first?["status"] as? String == "SEND_SUCCESS")
        #expect(jobs.first?["outcome"] as? String == "send success")
        let pushes = try #require(await h.get("/sandbox/pushes").json["pushes"] as? [[String: Any]])
        #expect(pushes.first?["status"] as? String == "delivered")
        let health = await h.get("/sandbox/health")
        #expect(health.string("status") == "ok")
        #expect(health.int("sends") == 1)
        let accounts = try #require(await h.get("/sandbox/accounts").json["accounts"] as? [[String: Any]])
        #expect(accounts.count == 3)
        #expect(!accounts.description.contains("secret-svc"))
        #expect(await h.get("/sandbox/nothing").response.status == 404)
        #expect(await h.get("/elsewhere").response.status == 404)
    }
}
