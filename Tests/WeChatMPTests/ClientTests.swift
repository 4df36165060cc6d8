import Foundation
import PipelineCore
import Testing

@testable import WeChatMP

/// A fake WeChat on loopback: `stable_token` and `token` answer tokens; every other path is
/// answered by `api`.
final class FakeWeChat: @unchecked Sendable {
    static let appID = "wx0123456789abcdef"
    static let secret = "app-secret-0123456789abcdef0123"

    let server: TestServer
    private let lock = NSLock()
    private var tokenQueue: [String]
    private var tokenIndex = 0
    private(set) var tokenRequests: [TestServer.Request] = []

    init(tokens: [String] = ["TOKEN-AAAAAAAAAAAA"], api: @escaping @Sendable (TestServer.Request) -> TestServer.Reply)
        throws
    {
        tokenQueue = tokens
        var me: FakeWeChat?
        let box = Box()
        server = try TestServer { request in
            if request.path == "/cgi-bin/stable_token" || request.path == "/cgi-bin/token" {
                return box.value?.issueToken(request) ?? .json("{}")
            }
            return api(request)
        }
        me = self
        box.value = me
    }

    final class Box: @unchecked Sendable { weak var value: FakeWeChat? }

    func issueToken(_ request: TestServer.Request) -> TestServer.Reply {
        lock.lock()
        defer { lock.unlock() }
        tokenRequests.append(request)
        let token = tokenQueue[min(tokenIndex, tokenQueue.count - 1)]
        tokenIndex += 1
        return .delayed(milliseconds: 20, .json(#"{"access_token":"\#(token)","expires_in":7200}"#))
    }

    var tokenFetches: Int {
        lock.lock()
        defer { lock.unlock() }
        return tokenRequests.count
    }

    func client(mode: TokenMode = .stable, timeout: Duration = .seconds(5), maxResponseBytes: Int = 1 << 20,
                now: @escaping @Sendable () -> Date = { Date() }) -> WeChatClient
    {
        let transport = AsyncHTTPTransport(maxResponseBytes: maxResponseBytes)
        let tokens = TokenProvider(credentials: .init(appID: Self.appID, secret: Self.secret), mode: mode,
                                   baseURL: server.baseURL, transport: transport, now: now)
        return WeChatClient(configuration: .init(baseURL: server.baseURL, timeout: timeout), tokens: tokens,
                            transport: transport)
    }
}

@Suite("WeChat client against a local server")
struct ClientTests {
    static let textToTag = SendAllRequest(filter: MassFilter(isToAll: false, tagID: 100), payload: .text(content: "CONTENT"),
                                          sendIgnoreReprint: 0, clientMsgID: "mc1-abc")

    @Test("sendall sends the documented body with the token and decodes the answer")
    func sendAll() async throws {
        let fake = try FakeWeChat { _ in
            .json(#"{"errcode":0,"errmsg":"send job submission success","msg_id":34182,"msg_data_id":206227730}"#)
        }
        let response = try await fake.client().sendAll(Self.textToTag)
        #expect(response.msgID == 34182)
        #expect(response.msgDataID == 206227730)
        let request = try #require(fake.server.requests.last)
        #expect(request.path == "/cgi-bin/message/mass/sendall")
        #expect(request.query["access_token"] == "TOKEN-AAAAAAAAAAAA")
        let body = request.json()
        #expect(body["msgtype"] as? String == "text")
        #expect((body["filter"] as? [String: Any])?["tag_id"] as? Int == 100)
        #expect((body["text"] as? [String: Any])?["content"] as? String == "CONTENT")
        #expect(body["clientmsgid"] as? String == "mc1-abc")
        #expect(body["send_ignore_reprint"] as? Int == 0)
    }

    @Test("every endpoint round-trips with the reference's sample bodies")
    func everyEndpoint() async throws {
        let fake = try FakeWeChat { request in
            switch request.path {
            case "/cgi-bin/message/mass/send":
                return .json(#"{"errcode":0,"errmsg":"send job submission success","msg_id":"3147483652"}"#)
            case "/cgi-bin/message/mass/preview": return .json(#"{"errcode":0,"errmsg":"preview success","msg_id":34182}"#)
            case "/cgi-bin/message/mass/delete": return .json(#"{"errcode":0,"errmsg":"ok"}"#)
            case "/cgi-bin/message/mass/get": return .json(#"{"msg_id":201053012,"msg_status":"SEND_SUCCESS"}"#)
            case "/cgi-bin/message/mass/speed/get": return .json(#"{"speed":0,"realspeed":80}"#)
            case "/cgi-bin/message/mass/speed/set": return .json(#"{"errcode":0,"errmsg":"ok"}"#)
            case "/cgi-bin/media/upload":
                return .json(#"{"type":"\#(request.query["type"] ?? "")","media_id":"MEDIA_ID","created_at":1505400804}"#)
            case "/cgi-bin/media/uploadimg": return .json(#"{"url":"http://mmbiz.qpic.cn/mmbiz/abc/0"}"#)
            case "/cgi-bin/media/uploadnews":
                return .json(#"{"type":"news","media_id":"CsEf3ldqkAYJAU6EJeIkStVDSvffUJ54vqbThMgplD-VJXXof6ctX5fI6-aYyUiQ","created_at":1391857799}"#)
            case "/cgi-bin/media/uploadvideo":
                return .json(#"{"type":"video","media_id":"4KExkgRWTofVOgQZRkCtpTEyFhuYk1Xwr1y-biXNS93U7hICK1rtHgXs8uzntW60","created_at":1505400804}"#)
            default: return .json(#"{"errcode":404,"errmsg":"no such path"}"#, status: 404)
            }
        }
        let client = fake.client()
        let send = try await client.send(SendRequest(toUser: ["OPENID1", "OPENID2"], payload: .mpnews(mediaID: "123dsdajkasd231jhksad"),
                                                     sendIgnoreReprint: 0, clientMsgID: "mc1-x"))
        #expect(send.msgID == 3_147_483_652)
        let preview = try await client.preview(PreviewRequest(toUser: "o4WmZ0h-4huBUVQUczx2ezaxIL9c", toWXName: nil,
                                                              payload: .mpnews(mediaID: "FrsRJ3g3BHR")))
        #expect(preview.msgID == 34182)
        try await client.delete(DeleteRequest(msgID: 30124, articleIdx: 2, url: nil))
        let status = try await client.get(msgID: 201_053_012)
        #expect(status.msgID == 201_053_012)
        #expect(status.msgStatus == .sendSuccess)
        let speed = try await client.getSpeed()
        #expect(speed.speed == 0 && speed.realspeed == 80)
        try await client.setSpeed(2)
        let media = try await client.uploadMedia(type: .video, fileName: "autumn.mp4", data: Data(repeating: 7, count: 2048))
        #expect(media.mediaID == "MEDIA_ID" && media.type == "video")
        let image = try await client.uploadImage(fileName: "a.png", data: Data([0x89, 0x50, 0x4E, 0x47]))
        #expect(image.url.hasPrefix("http://mmbiz.qpic.cn"))
        let news = try await client.uploadNews(UploadNewsRequest(articles: [
            NewsArticle(title: "Happy Day", thumbMediaID: "qI6_Ze_6PtV7svjolgs-rN6stStuHIjs9_DidOHaj0Q-mwvBelOXCFZiq2OsIU-p",
                        content: "content"),
        ]))
        #expect(news.type == "news")
        let video = try await client.uploadVideo(UploadVideoRequest(mediaID: "aTL-93EXcL4F9g4", title: "群发视频", description: "你好吗?"))
        #expect(video.mediaID.hasPrefix("4KExkgRW"))

        let byPath = Dictionary(fake.server.requests.map { ($0.path, $0) }, uniquingKeysWith: { _, b in b })
        #expect(byPath["/cgi-bin/message/mass/send"]?.json()["touser"] as? [String] == ["OPENID1", "OPENID2"])
        #expect(byPath["/cgi-bin/message/mass/preview"]?.json()["touser"] as? String == "o4WmZ0h-4huBUVQUczx2ezaxIL9c")
        #expect(byPath["/cgi-bin/message/mass/delete"]?.json()["article_idx"] as? Int == 2)
        #expect(byPath["/cgi-bin/message/mass/get"]?.json()["msg_id"] as? String == "201053012")
        #expect(byPath["/cgi-bin/message/mass/speed/set"]?.json()["speed"] as? Int == 2)
        let upload = try #require(byPath["/cgi-bin/media/upload"])
        #expect(upload.query["type"] == "video")
        let contentType = upload.headers.first { $0.0.lowercased() == "content-type" }?.1 ?? ""
        #expect(contentType.hasPrefix("multipart/form-data; boundary="))
        let multipart = String(decoding: upload.body, as: UTF8.self)
        #expect(multipart.contains(#"name="media"; filename="autumn.mp4""#))
        #expect(byPath["/cgi-bin/media/uploadvideo"]?.json()["title"] as? String == "群发视频")
        // One token for all of them.
        #expect(fake.tokenFetches == 1)
    }

    @Test("concurrent callers share one token fetch")
    func singleFlight() async throws {
        let fake = try FakeWeChat { _ in .json(#"{"speed":1,"realspeed":60}"#) }
        let client = fake.client()
        try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<10 { group.addTask { try await client.getSpeed().speed } }
            for try await speed in group { #expect(speed == 1) }
        }
        #expect(fake.tokenFetches == 1)
    }

    @Test("stable_token is the default; classic /token is an option")
    func tokenModes() async throws {
        let fake = try FakeWeChat { _ in .json(#"{"speed":1,"realspeed":60}"#) }
        _ = try await fake.client().getSpeed()
        let stable = try #require(fake.tokenRequests.first)
        #expect(stable.method == "POST" && stable.path == "/cgi-bin/stable_token")
        #expect(stable.json()["force_refresh"] as? Bool == false)
        #expect(stable.json()["grant_type"] as? String == "client_credential")
        let classic = try FakeWeChat { _ in .json(#"{"speed":1,"realspeed":60}"#) }
        _ = try await classic.client(mode: .classic).getSpeed()
        let get = try #require(classic.tokenRequests.first)
        #expect(get.method == "GET" && get.path == "/cgi-bin/token" && get.query["appid"] == FakeWeChat.appID)
    }

    @Test("a token error gets the current token and repeats the call once")
    func tokenErrorRepeatsOnce() async throws {
        let fake = try FakeWeChat(tokens: ["TOKEN-OLD-111111", "TOKEN-NEW-222222"]) { request in
            request.query["access_token"] == "TOKEN-OLD-111111"
                ? .json(#"{"errcode":40001,"errmsg":"invalid credential, access_token is invalid or not latest rid: 1-2-3"}"#)
                : .json(#"{"speed":3,"realspeed":30}"#)
        }
        let speed = try await fake.client().getSpeed()
        #expect(speed.speed == 3)
        #expect(fake.tokenFetches == 2)
        #expect(fake.server.requests.filter { $0.path.hasSuffix("speed/get") }.count == 2)
    }

    @Test("a token error that persists fails after one repeat, never loops")
    func tokenErrorDoesNotLoop() async throws {
        let fake = try FakeWeChat(tokens: ["TOKEN-A-1111111", "TOKEN-B-2222222", "TOKEN-C-3333333"]) { _ in
            .json(#"{"errcode":42001,"errmsg":"access_token expired"}"#)
        }
        await #expect(throws: WeChatError.self) { try await fake.client().getSpeed() }
        #expect(fake.server.requests.filter { $0.path.hasSuffix("speed/get") }.count == 2)
        do {
            _ = try await fake.client().getSpeed()
        } catch {
            #expect(error.errorClass == .token && error.errcode == 42001)
        }
    }

    @Test("stable_token handing back the failed token forces one refresh, at most every 30 s")
    func forcedRefresh() async throws {
        let clock = TestClock()
        let fake = try FakeWeChat(tokens: ["TOKEN-SAME-1111", "TOKEN-SAME-1111", "TOKEN-FRESH-222", "TOKEN-FRESH-222"]) { request in
            request.query["access_token"] == "TOKEN-SAME-1111"
                ? .json(#"{"errcode":40001,"errmsg":"invalid credential"}"#)
                : .json(#"{"speed":0,"realspeed":80}"#)
        }
        let client = fake.client(now: { clock.now })
        _ = try await client.getSpeed()
        #expect(fake.tokenRequests.map { $0.json()["force_refresh"] as? Bool } == [false, false, true])
        // A second rejection within 30 s: the provider refuses to force again and says when.
        let provider = client.tokens
        await #expect(throws: WeChatError.self) { try await provider.token(replacing: "TOKEN-FRESH-222") }
        do {
            _ = try await provider.token(replacing: "TOKEN-FRESH-222")
        } catch {
            #expect(String(describing: error).contains("30 s"))
        }
    }

    @Test("45065 is a duplicate and carries the earlier msg_id")
    func duplicate() async throws {
        let fake = try FakeWeChat { _ in .json(#"{"errcode":45065,"errmsg":"clientmsgid exist rid: 1","msg_id":1000000001}"#) }
        do {
            _ = try await fake.client().sendAll(Self.textToTag)
            Issue.record("expected 45065")
        } catch {
            #expect(error.errorClass == .duplicate)
            #expect(error.earlierMsgID == 1_000_000_001)
            #expect(error.delivery == .received)
        }
    }

    static func failingServer() throws -> FakeWeChat {
        try FakeWeChat { request in
            switch request.path {
            case "/cgi-bin/message/mass/get": return .closeAfterRequest
            case "/cgi-bin/message/mass/speed/get": return .delayed(milliseconds: 30_000, .json(#"{"speed":0,"realspeed":80}"#))
            case "/cgi-bin/message/mass/delete": return .json("bad gateway", status: 502)
            default: return .raw(status: 200, body: Data(repeating: 0x20, count: 4096))
            }
        }
    }

    @Test("a connection closed after the request was read: may have been received")
    func closedAfterRequest() async throws {
        let fake = try Self.failingServer()
        await expectFailure(try await fake.client().get(msgID: 1), reason: .connectionLost, delivery: .maybeReceived)
    }

    // The timeout is 2 s (the answer comes after 30 s): with 300 ms, a loaded machine (a full
    // parallel run) once timed out before the request was written, which is `notSent`.
    @Test("a call past its timeout: may have been received")
    func timeout() async throws {
        let fake = try Self.failingServer()
        await expectFailure(try await fake.client(timeout: .seconds(2)).getSpeed(), reason: .timeout, delivery: .maybeReceived)
    }

    @Test("an answer over the size limit was not read: the request may have been received")
    func tooLarge() async throws {
        let fake = try Self.failingServer()
        await expectFailure(try await fake.client(maxResponseBytes: 1024).setSpeed(1), reason: .responseTooLarge, delivery: .maybeReceived)
    }

    @Test("HTTP 5xx is transient and may have been received")
    func serverError() async throws {
        let fake = try Self.failingServer()
        do {
            try await fake.client().delete(DeleteRequest(msgID: 1, articleIdx: 0, url: nil))
            Issue.record("expected 502")
        } catch {
            #expect(error.code == .http && error.httpStatus == 502)
            #expect(error.errorClass == .transient && error.delivery == .maybeReceived)
        }
    }

    @Test("a refused connection: certainly not sent")
    func refused() async throws {
        let closed = try TestServer { _ in .json("{}") }
        let deadURL = closed.baseURL
        closed.stop()
        do {
            _ = try await AsyncHTTPTransport().send(TransportRequest(method: .post, url: deadURL + "/cgi-bin/x",
                                                                     body: Data("{}".utf8), timeout: .seconds(2)))
            Issue.record("expected a connect failure")
        } catch {
            #expect(error.code == .connect && error.delivery == .notSent)
        }
    }

    @Test("calls reuse their connections: one after another on one, eight at a time on at most eight")
    func connectionsReused() async throws {
        let server = try TestServer { _ in .delayed(milliseconds: 20, .json(#"{"errcode":0}"#)) }
        defer { server.stop() }
        let transport = AsyncHTTPTransport()
        let request = TransportRequest(method: .post, url: server.baseURL + "/cgi-bin/x", body: Data("{}".utf8), timeout: .seconds(10))
        for _ in 0..<10 { _ = try await transport.send(request) }
        #expect(server.connections == 1)
        for _ in 0..<5 {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<8 { group.addTask { _ = try await transport.send(request) } }
                try await group.waitForAll()
            }
        }
        #expect(server.requests.count == 50)
        // A pool that closed a connection after each concurrent call (AsyncHTTPClient's
        // overflow connections, when every request requires one event loop) would open
        // about twenty here: over the real API, a TLS handshake each.
        #expect(server.connections <= 8, "\(server.connections) connections")
    }

    func expectFailure<T>(_ call: @autoclosure () async throws(WeChatError) -> T, reason: TransportFailure.Code,
                          delivery: Delivery, sourceLocation: Testing.SourceLocation = #_sourceLocation) async
    {
        do {
            _ = try await call()
            Issue.record("expected \(reason)", sourceLocation: sourceLocation)
        } catch {
            guard error.code == .transport, let failure = error.transportFailure else {
                Issue.record("expected a transport failure, got \(error)", sourceLocation: sourceLocation)
                return
            }
            #expect(failure.code == reason, sourceLocation: sourceLocation)
            #expect(failure.delivery == delivery, sourceLocation: sourceLocation)
            #expect(error.errorClass == .transient, sourceLocation: sourceLocation)
        }
    }

    @Test("credential errors say what to fix")
    func credentialErrors() async throws {
        for (code, words) in [(40013, "AppID"), (40125, "AppSecret"), (40164, "whitelist"), (61004, "whitelist")] {
            let fake = try FakeWeChat { _ in .json("{}") }
            let server = try TestServer { _ in .json(#"{"errcode":\#(code),"errmsg":"error rid: 6a1b"}"#) }
            let transport = AsyncHTTPTransport()
            let provider = TokenProvider(credentials: .init(appID: FakeWeChat.appID, secret: FakeWeChat.secret),
                                         baseURL: server.baseURL, transport: transport)
            do {
                _ = try await provider.token()
                Issue.record("expected \(code)")
            } catch {
                #expect(error.errcode == code)
                #expect(error.errorClass == .permanent)
                #expect(error.description.contains(words), "\(error.description)")
            }
            _ = fake
        }
    }
}

/// A clock tests move by hand.
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current = Date(timeIntervalSince1970: 1_764_550_800)
    var now: Date {
        lock.lock()
        defer { lock.unlock() }
        return current
    }

    func advance(_ seconds: TimeInterval) {
        lock.lock()
        current += seconds
        lock.unlock()
    }
}
