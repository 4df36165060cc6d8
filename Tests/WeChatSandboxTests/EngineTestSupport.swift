import Foundation
import Testing
import WeChatMP
@testable import WeChatSandbox

/// A push sender that records every post and answers from a script (default: success).
actor EnginePushRecorder: PushSender {
    struct Post: Sendable {
        var url: String
        var body: String
        var contentType: String
        var timeout: Duration

        /// The query parameters of the URL.
        var query: [String: String] {
            var out: [String: String] = [:]
            for item in URLComponents(string: url)?.queryItems ?? [] { out[item.name] = item.value ?? "" }
            return out
        }
    }

    private(set) var posts: [Post] = []
    /// Answers for the next posts, in order; `true` once the script runs out.
    private var script: [Bool]
    private let fallback: Bool

    init(script: [Bool] = [], fallback: Bool = true) {
        self.script = script
        self.fallback = fallback
    }

    func post(url: String, body: Data, contentType: String, timeout: Duration) async -> Bool {
        posts.append(Post(url: url, body: String(decoding: body, as: UTF8.self), contentType: contentType, timeout: timeout))
        return script.isEmpty ? fallback : script.removeFirst()
    }
}

/// A decoded JSON answer.
struct EngineReply: @unchecked Sendable {
    var response: SandboxResponse
    var json: [String: Any]

    init(_ response: SandboxResponse) {
        self.response = response
        json = (try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any] ?? [:]
    }

    /// `errcode`, 0 when absent.
    var errcode: Int { (json["errcode"] as? NSNumber)?.intValue ?? 0 }
    var errmsg: String { json["errmsg"] as? String ?? "" }
    var msgID: Int64? { (json["msg_id"] as? NSNumber)?.int64Value }
    var msgDataID: Int64? { (json["msg_data_id"] as? NSNumber)?.int64Value }
    func string(_ key: String) -> String? { json[key] as? String }
    func int(_ key: String) -> Int? { (json[key] as? NSNumber)?.intValue }
}

/// An engine on a manual clock with a fake push sender.
struct EngineHarness {
    let engine: SandboxEngine
    let clock: ManualClock
    let sender: EnginePushRecorder
    let fixture: SandboxFixture

    init(yaml: String = EngineFixtures.standard, sender: EnginePushRecorder = EnginePushRecorder()) throws {
        let fixture = try SandboxFixture.load(yaml: yaml, file: "test-fixture.yaml")
        self.fixture = fixture
        clock = ManualClock()
        self.sender = sender
        engine = SandboxEngine(fixture: fixture, clock: clock, pushSender: sender)
    }

    init(fixture: SandboxFixture) {
        self.fixture = fixture
        clock = ManualClock()
        sender = EnginePushRecorder()
        engine = SandboxEngine(fixture: fixture, clock: clock, pushSender: sender)
    }

    func account(_ name: String) -> SandboxFixture.Account {
        fixture.accounts.first { $0.name == name }!
    }

    /// `GET /cgi-bin/token` for a fixture account.
    func classicToken(_ name: String = "svc") async -> String {
        let account = account(name)
        let reply = await get("/cgi-bin/token", ["grant_type": "client_credential", "appid": account.appID,
                                                 "secret": account.secret])
        return reply.string("access_token") ?? "missing"
    }

    /// `POST /cgi-bin/stable_token` for a fixture account.
    func stableToken(_ name: String = "svc", force: Bool = false) async -> EngineReply {
        let account = account(name)
        return await post("/cgi-bin/stable_token", token: nil,
                          #"{"grant_type":"client_credential","appid":"\#(account.appID)","secret":"\#(account.secret)","force_refresh":\#(force)}"#)
    }

    func get(_ path: String, _ query: [String: String] = [:]) async -> EngineReply {
        EngineReply(await engine.handle(SandboxRequest(method: "GET", path: path, query: query)))
    }

    func post(_ path: String, token: String?, _ json: String) async -> EngineReply {
        EngineReply(await engine.handle(.post(path, accessToken: token, json: json)))
    }

    func sendAll(_ token: String, _ json: String) async -> EngineReply {
        await post("/cgi-bin/message/mass/sendall", token: token, json)
    }

    func send(_ token: String, _ json: String) async -> EngineReply {
        await post("/cgi-bin/message/mass/send", token: token, json)
    }

    func status(_ token: String, _ msgID: Int64) async -> String? {
        await post("/cgi-bin/message/mass/get", token: token, #"{"msg_id":"\#(msgID)"}"#).string("msg_status")
    }

    /// Uploads a medium through `media/upload` (multipart) and returns its id.
    func upload(_ token: String, type: String, fileName: String, bytes: [UInt8]) async -> EngineReply {
        let boundary = "----sandboxBoundary7MA4YWxkTrZu0gW"
        var body = Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"media\"; filename=\"\(fileName)\"\r\nContent-Type: application/octet-stream\r\n\r\n".utf8)
        body.append(contentsOf: bytes)
        body.append(Data("\r\n--\(boundary)--\r\n".utf8))
        let request = SandboxRequest(method: "POST", path: type == "uploadimg" ? "/cgi-bin/media/uploadimg" : "/cgi-bin/media/upload",
                                     query: ["access_token": token, "type": type],
                                     headers: ["content-type": "multipart/form-data; boundary=\(boundary)"], body: body)
        return EngineReply(await engine.handle(request))
    }

    static let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0] + [UInt8](repeating: 7, count: 2000)
    static let mp3: [UInt8] = Array("ID3".utf8) + [UInt8](repeating: 1, count: 3000)
    static let mp4: [UInt8] = [0, 0, 0, 0x18] + Array("ftypmp42".utf8) + [UInt8](repeating: 2, count: 4000)

    func imageID(_ token: String) async -> String {
        (await upload(token, type: "image", fileName: "photo.jpg", bytes: Self.jpeg)).string("media_id") ?? "none"
    }

    func thumbID(_ token: String) async -> String {
        (await upload(token, type: "thumb", fileName: "cover.jpg", bytes: Self.jpeg)).string("thumb_media_id") ?? "none"
    }

    /// An mpnews media id with `articles` articles.
    func newsID(_ token: String, articles: Int = 2) async -> String {
        let thumb = await thumbID(token)
        let items = (1...articles).map {
            #"{"title":"Article \#($0)","thumb_media_id":"\#(thumb)","content":"<p>Body \#($0)</p>","digest":"d"}"#
        }
        let reply = await post("/cgi-bin/media/uploadnews", token: token, #"{"articles":[\#(items.joined(separator: ","))]}"#)
        return reply.string("media_id") ?? "none"
    }

    /// An mpvideo media id (upload + uploadvideo).
    func mpvideoID(_ token: String) async -> String {
        let video = (await upload(token, type: "video", fileName: "clip.mp4", bytes: Self.mp4)).string("media_id") ?? "none"
        let reply = await post("/cgi-bin/media/uploadvideo", token: token,
                               #"{"media_id":"\#(video)","title":"Clip","description":"A clip"}"#)
        return reply.string("media_id") ?? "none"
    }

    /// Advances the clock and ticks (jobs and due pushes).
    func run(for duration: Duration, steps: Int = 1) async {
        for _ in 0..<steps {
            clock.advance(by: duration / steps)
            await engine.tick()
        }
    }
}

enum EngineFixtures {
    /// Two service accounts (plain and safe callbacks), one verified subscription account.
    static let standard = """
    seed: 3
    time_scale: 1
    windows: { token_ttl: 2h, token_overlap: 5m, clientmsgid_window: 24h, clientmsgid_retry_window: 1m, media_ttl: 3d }
    jobs: { review: 10s, push_delay: 0s, push_retry_interval: 5s }
    accounts:
      svc:
        appid: wx00000000000000a1
        secret: secret-svc
        kind: service
        verified: true
        original_id: gh_aaaaaaaaaaaa
        openid_prefix: oSVC01
        callback: { url: "http://127.0.0.1:9/cb?x=1", token: cbtoken, mode: plain }
        followers:
          count: 200
          seed: 5
          list: [oSVC01aaaaaaaaaaaaaaaaaaaaa1, oSVC01aaaaaaaaaaaaaaaaaaaaa2, oSVC01aaaaaaaaaaaaaaaaaaaaa3]
        tags:
          - { id: 100, name: vip, members: [oSVC01aaaaaaaaaaaaaaaaaaaaa1, oSVC01aaaaaaaaaaaaaaaaaaaaa2] }
          - { id: 101, name: half, fraction: 0.5 }
      safe:
        appid: wx00000000000000b2
        secret: secret-safe
        kind: service
        verified: true
        callback:
          url: http://127.0.0.1:9/safe
          token: safetoken
          aes_key: lTjyF/U3G2ZnGR7yZn47jiJFJylXlCsD2LjTOzO07Z4
          mode: safe
        followers: { count: 50, seed: 6 }
        tags: [{ id: 100, name: all, fraction: 1 }]
      sub:
        appid: wx00000000000000c3
        secret: secret-sub
        kind: subscription
        verified: true
        followers: { count: 30, seed: 7 }
        tags: [{ id: 100, name: readers, fraction: 1 }]
    """

    /// `standard` with extra top-level settings put first.
    static func standard(with extra: String) -> String {
        extra + "\n" + standard
    }

    static let text = #""msgtype":"text","text":{"content":"hello"}"#

    /// `standard` with account `name`'s `verified: true` turned to false.
    static func unverified(_ name: String) -> String {
        let secret = "secret: secret-\(name)\n"
        guard let range = standard.range(of: secret),
              let flag = standard.range(of: "verified: true", range: range.upperBound..<standard.endIndex)
        else { preconditionFailure("no verified account \(name) in the standard fixture") }
        var yaml = standard
        yaml.replaceSubrange(flag, with: "verified: false")
        return yaml
    }
}

extension Array where Element == SandboxSendRecord {
    func record(_ msgID: Int64?) -> SandboxSendRecord? { first { $0.msgID == msgID } }
}
