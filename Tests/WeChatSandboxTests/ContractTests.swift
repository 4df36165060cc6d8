import Foundation
import PipelineCore
import Testing
import WeChatMP

@testable import WeChatSandbox

/// A sandbox on a free loopback port with the default fixture, tuned for tests: jobs run
/// 3,600 times faster and the clientmsgid retry window is short.
struct LiveSandbox {
    static let main = (appID: "wx8a3f2c71d905be46", secret: "sandbox-secret-brand-main-0001")
    static let news = (appID: "wx3e6b9d2f4a8c1705", secret: "sandbox-secret-brand-news-0001")
    static let trial = (appID: "wx5c8e1a7d3b9f2604", secret: "sandbox-secret-brand-trial-0001")
    static let vip = ["o4WmZ0C2lUFynUYDK9SGewL2AGe4", "o4WmZ0Ae_yHC3A_lCbFs83cEDU3q", "o4WmZ0LyjjjBGiqRbC5o-X2a7cZm"]

    /// How the client reaches the engine: over HTTP on a loopback port, or in process.
    enum Mode: String, Sendable, CaseIterable, CustomTestStringConvertible {
        case socket, inProcess
        var testDescription: String { rawValue }
    }

    let engine: SandboxEngine
    /// The server (socket mode).
    let running: RunningSandbox?
    /// Runs `engine.tick()` as the server's ticker does (in-process mode).
    let ticker: Task<Void, Never>?
    let baseURL: String
    let transport: any WeChatTransport

    static func fixtureText(_ edits: [(String, String)] = []) throws -> String {
        var text = SandboxFixture.defaultYAML
        for (from, to) in [("time_scale: 10", "time_scale: 3600"),
                           ("clientmsgid_retry_window: 1m", "clientmsgid_retry_window: 300ms")] + edits
        {
            #expect(text.contains(from), "the default fixture no longer has '\(from)'")
            text = text.replacingOccurrences(of: from, with: to)
        }
        return text
    }

    static func start(_ edits: [(String, String)] = [], mode: Mode = .socket) async throws -> LiveSandbox {
        let fixture = try SandboxFixture.load(yaml: try fixtureText(edits), file: "test-fixture.yaml")
        let engine = SandboxEngine(fixture: fixture)
        switch mode {
        case .socket:
            let running = try await RunningSandbox.start(engine: engine, tickInterval: .milliseconds(10))
            return LiveSandbox(
                engine: engine, running: running, ticker: nil, baseURL: running.baseURL, transport: AsyncHTTPTransport())
        case .inProcess:
            let ticker = Task {
                while !Task.isCancelled {
                    await engine.tick()
                    try? await Task.sleep(for: .milliseconds(10))
                }
            }
            return LiveSandbox(
                engine: engine, running: nil, ticker: ticker, baseURL: InProcessTransport.baseURL,
                transport: InProcessTransport(engine: engine))
        }
    }

    func client(
        _ account: (appID: String, secret: String) = main, mode: TokenMode = .stable, timeout: Duration = .seconds(5)
    ) -> WeChatClient {
        let tokens = TokenProvider(credentials: .init(appID: account.appID, secret: account.secret), mode: mode,
                                   baseURL: baseURL, transport: transport)
        return WeChatClient(configuration: .init(baseURL: baseURL, timeout: timeout), tokens: tokens,
                            transport: transport)
    }

    /// The sandbox's record of accepted sends.
    func sends() async throws -> [[String: Any]] {
        let response = try await transport.send(
            TransportRequest(method: .get, url: baseURL + "/sandbox/sends", timeout: .seconds(5)))
        let object = try JSONSerialization.jsonObject(with: response.body) as? [String: Any]
        return object?["sends"] as? [[String: Any]] ?? []
    }

    func stop() async {
        ticker?.cancel()
        await running?.stop()
    }
}

/// Polls `mass/get` until the job leaves SENDING (bounded).
func waitForEnd(_ client: WeChatClient, msgID: Int64) async throws -> MassStatus {
    for _ in 0..<200 {
        let status = try await client.get(msgID: msgID).msgStatus
        if status != .sending { return status }
        try await Task.sleep(for: .milliseconds(25))
    }
    return .sending
}

@Suite("WeChatMP client against the sandbox", .serialized)
struct ContractTests {
    @Test("a video broadcast end to end: upload, uploadvideo, sendall, get, delete", arguments: LiveSandbox.Mode.allCases)
    func videoBroadcast(_ mode: LiveSandbox.Mode) async throws {
        let sandbox = try await LiveSandbox.start(mode: mode)
        defer { Task { await sandbox.stop() } }
        let client = sandbox.client()
        let upload = try await client.uploadMedia(type: .video, fileName: "autumn.mp4", data: Data(repeating: 1, count: 4096))
        #expect(upload.type == "video" && !upload.mediaID.isEmpty)
        let video = try await client.uploadVideo(UploadVideoRequest(mediaID: upload.mediaID, title: "群发视频", description: "你好吗?"))
        let send = try await client.sendAll(SendAllRequest(filter: .init(isToAll: false, tagID: 100),
                                                           payload: .mpvideo(mediaID: video.mediaID), sendIgnoreReprint: 0,
                                                           clientMsgID: "mc1-video-1"))
        #expect(try await waitForEnd(client, msgID: send.msgID) == .sendSuccess)
        try await client.delete(DeleteRequest(msgID: send.msgID, articleIdx: 0, url: nil))
        #expect(try await client.get(msgID: send.msgID).msgStatus == .delete)
        let sends = try await sandbox.sends()
        #expect(sends.count == 1)
        #expect(sends.first?["clientmsgid"] as? String == "mc1-video-1")
    }

    @Test("mpnews, images, voice, text to a list, preview, speed, uploadimg")
    func otherEndpoints() async throws {
        let sandbox = try await LiveSandbox.start()
        defer { Task { await sandbox.stop() } }
        let client = sandbox.client()
        let thumb = try await client.uploadMedia(type: .thumb, fileName: "cover.jpg", data: Data(repeating: 2, count: 1024))
        let news = try await client.uploadNews(UploadNewsRequest(articles: [
            NewsArticle(title: "秋季新品", thumbMediaID: thumb.mediaID, content: "<p>hello</p>"),
        ]))
        let mpnews = try await client.sendAll(SendAllRequest(filter: .init(isToAll: false, tagID: 101), payload: .mpnews(mediaID: news.mediaID),
                                                             sendIgnoreReprint: 0, clientMsgID: "mc1-news-1"))
        #expect(mpnews.msgDataID != nil)
        let image = try await client.uploadMedia(type: .image, fileName: "a.jpg", data: Data(repeating: 3, count: 2048))
        _ = try await client.sendAll(SendAllRequest(filter: .init(isToAll: false, tagID: 102),
                                                    payload: .images(mediaIDs: [image.mediaID], recommend: "看看", needOpenComment: 0,
                                                                     onlyFansCanComment: 0),
                                                    sendIgnoreReprint: 0, clientMsgID: "mc1-img-1"))
        let voice = try await client.uploadMedia(type: .voice, fileName: "hi.mp3", data: Data(repeating: 4, count: 4096))
        _ = try await client.sendAll(SendAllRequest(filter: .init(isToAll: false, tagID: 103), payload: .voice(mediaID: voice.mediaID),
                                                    sendIgnoreReprint: nil, clientMsgID: "mc1-voice-1"))
        // Two followers and one stranger: the stranger is filtered out, not refused.
        let list = try await client.send(SendRequest(toUser: Array(LiveSandbox.vip.prefix(2)) + ["o4WmZ0notAFollower0000000000"],
                                                     payload: .text(content: "你好"), sendIgnoreReprint: nil, clientMsgID: "mc1-list-1"))
        #expect(list.msgID > 0)
        let preview = try await client.preview(PreviewRequest(toUser: nil, toWXName: "editor_01", payload: .mpnews(mediaID: news.mediaID)))
        #expect(preview.msgID != nil)
        try await client.setSpeed(3)
        #expect(try await client.getSpeed().speed == 3)
        let img = try await client.uploadImage(fileName: "inline.png", data: Data(repeating: 5, count: 512))
        #expect(img.url.hasPrefix("http"))
        let sends = try await sandbox.sends()
        #expect(sends.count == 4)
        let listSend = sends.first { $0["clientmsgid"] as? String == "mc1-list-1" }
        #expect(listSend?["audience"] as? Int == 3)
        #expect(listSend?["filter_count"] as? Int == 2)
    }

    @Test("documented errors reach the client with their class", arguments: [
        ("bad tag", 40152), ("bad media", 40007), ("mpnews sendall on an unverified account", 48001), ("send on subscription", 48001),
        ("speed out of range", 45083), ("clientmsgid too long", 45067), ("delete unknown msg", 40059),
        ("malformed openid", 40003), ("text too long", 45002), ("second sendall of a subscription account", 45028),
        ("wrong appid", 40013), ("wrong secret", 40125), ("article index out of range", 40060),
    ])
    func documentedErrors(_ label: String, _ expected: Int) async throws {
        let sandbox = try await LiveSandbox.start()
        defer { Task { await sandbox.stop() } }
        let main = sandbox.client()
        let news = sandbox.client(LiveSandbox.news)
        do {
            switch expected {
            case 40152:
                _ = try await main.sendAll(SendAllRequest(filter: .init(isToAll: false, tagID: 999), payload: .text(content: "x"),
                                                          sendIgnoreReprint: nil, clientMsgID: "k-40152"))
            case 40007:
                _ = try await main.sendAll(SendAllRequest(filter: .init(isToAll: false, tagID: 100), payload: .mpnews(mediaID: "nope"),
                                                          sendIgnoreReprint: 0, clientMsgID: "k-40007"))
            case 48001 where label.contains("unverified"):
                let trial = sandbox.client(LiveSandbox.trial)
                let thumb = try await trial.uploadMedia(type: .thumb, fileName: "t.jpg", data: Data(repeating: 1, count: 100))
                let n = try await trial.uploadNews(UploadNewsRequest(articles: [NewsArticle(title: "t", thumbMediaID: thumb.mediaID, content: "c")]))
                _ = try await trial.sendAll(SendAllRequest(filter: .init(isToAll: false, tagID: 100), payload: .mpnews(mediaID: n.mediaID),
                                                           sendIgnoreReprint: 0, clientMsgID: "k-48001-unverified"))
            case 48001:
                _ = try await news.send(SendRequest(toUser: LiveSandbox.vip, payload: .text(content: "x"), sendIgnoreReprint: nil,
                                                    clientMsgID: "k-48001"))
            case 45083:
                try await main.setSpeed(7)
            case 40003:
                _ = try await main.send(SendRequest(toUser: [LiveSandbox.vip[0], "not an openid!"], payload: .text(content: "x"),
                                                    sendIgnoreReprint: nil, clientMsgID: "k-40003"))
            case 45002:
                _ = try await main.sendAll(SendAllRequest(filter: .init(isToAll: false, tagID: 100),
                                                          payload: .text(content: String(repeating: "长", count: 200_000)),
                                                          sendIgnoreReprint: nil, clientMsgID: "k-45002"))
            case 45028:
                for key in ["k-45028-a", "k-45028-b"] {
                    _ = try await news.sendAll(SendAllRequest(filter: .init(isToAll: false, tagID: 100), payload: .text(content: key),
                                                              sendIgnoreReprint: nil, clientMsgID: key))
                }
            case 40013:
                _ = try await sandbox.client((appID: "wx0000000000000000", secret: LiveSandbox.main.secret)).getSpeed()
            case 40125:
                _ = try await sandbox.client((appID: LiveSandbox.main.appID, secret: "wrong-secret-000000")).getSpeed()
            case 40060:
                let thumb = try await main.uploadMedia(type: .thumb, fileName: "t.jpg", data: Data(repeating: 1, count: 100))
                let n = try await main.uploadNews(UploadNewsRequest(articles: [NewsArticle(title: "t", thumbMediaID: thumb.mediaID, content: "c")]))
                let sent = try await main.sendAll(SendAllRequest(filter: .init(isToAll: false, tagID: 100), payload: .mpnews(mediaID: n.mediaID),
                                                                 sendIgnoreReprint: 0, clientMsgID: "k-40060"))
                #expect(try await waitForEnd(main, msgID: sent.msgID) == .sendSuccess)
                try await main.delete(DeleteRequest(msgID: sent.msgID, articleIdx: 5, url: nil))
            case 45067:
                _ = try await main.sendAll(SendAllRequest(filter: .init(isToAll: false, tagID: 100), payload: .text(content: "x"),
                                                          sendIgnoreReprint: nil, clientMsgID: String(repeating: "k", count: 65)))
            default:
                try await main.delete(DeleteRequest(msgID: 123_456, articleIdx: 0, url: nil))
            }
            Issue.record("\(label): expected errcode \(expected)")
        } catch let error as WeChatError {
            #expect(error.errcode == expected, "\(label): \(error)")
            #expect(error.errorClass == Errcodes.classify(expected))
            #expect(error.delivery == .received)
        } catch {
            Issue.record("\(label): \(error)")
        }
        // Nothing was sent by the failing call (45028: the first of the two went out; 40060: the send itself was fine).
        #expect(try await sandbox.sends().count == ([45028, 40060].contains(expected) ? 1 : 0))
    }

    @Test("a repeated clientmsgid: 45066 within its window, then 45065 with the earlier msg_id; one send in all",
          arguments: LiveSandbox.Mode.allCases)
    func clientMsgIDRules(_ mode: LiveSandbox.Mode) async throws {
        let sandbox = try await LiveSandbox.start(mode: mode)
        defer { Task { await sandbox.stop() } }
        let client = sandbox.client()
        let request = SendAllRequest(filter: .init(isToAll: false, tagID: 100), payload: .text(content: "once"),
                                     sendIgnoreReprint: nil, clientMsgID: "mc1-once")
        let first = try await client.sendAll(request)
        do {
            _ = try await client.sendAll(request)
            Issue.record("expected 45066")
        } catch {
            #expect(error.errcode == 45066 && error.errorClass == .rateLimit)
        }
        try await Task.sleep(for: .milliseconds(400))
        do {
            _ = try await client.sendAll(request)
            Issue.record("expected 45065")
        } catch {
            #expect(error.errcode == 45065 && error.errorClass == .duplicate)
            #expect(error.earlierMsgID == first.msgID)
        }
        #expect(try await sandbox.sends().count == 1)
    }

    @Test("classic /token: the client recovers from 40001 after another process took a new token")
    func classicTokenInvalidation() async throws {
        let sandbox = try await LiveSandbox.start([("token_overlap: 5m", "token_overlap: 100ms")])
        defer { Task { await sandbox.stop() } }
        let a = sandbox.client(mode: .classic)
        let b = sandbox.client(mode: .classic)
        _ = try await a.getSpeed()
        _ = try await b.getSpeed()  // b's fetch starts the end of a's token
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await a.getSpeed().realspeed > 0)  // 40001, new token, repeated once
        #expect(await a.tokens.fetchCount == 2)
    }
}

@Suite("Faults as the client sees them", .serialized)
struct FaultContractTests {
    func addFault(_ sandbox: LiveSandbox, _ rule: String) async throws {
        let response = try await sandbox.transport.send(TransportRequest(
            method: .post, url: sandbox.baseURL + "/sandbox/faults", body: Data(rule.utf8), timeout: .seconds(5)))
        #expect(response.status == 200, "\(String(decoding: response.body, as: UTF8.self))")
    }

    static let request = SendAllRequest(filter: .init(isToAll: false, tagID: 100), payload: .text(content: "did it send?"),
                                        sendIgnoreReprint: nil, clientMsgID: "mc1-did-it-send")

    @Test("a reset after processing: the client cannot know, the sandbox sent it, the same key then finds it (45065)",
          arguments: LiveSandbox.Mode.allCases)
    func resetAfterProcessing(_ mode: LiveSandbox.Mode) async throws {
        let sandbox = try await LiveSandbox.start(mode: mode)
        defer { Task { await sandbox.stop() } }
        let client = sandbox.client()
        _ = try await client.tokens.token()
        try await addFault(sandbox, #"{"on": "message/mass/sendall", "reset": "after", "next": 1}"#)
        do {
            _ = try await client.sendAll(Self.request)
            Issue.record("expected a dropped connection")
        } catch {
            guard error.code == .transport, let failure = error.transportFailure else {
                Issue.record("expected a transport failure, got \(error)")
                return
            }
            #expect(failure.delivery == .maybeReceived)
        }
        let sends = try await sandbox.sends()
        #expect(sends.count == 1)
        try await Task.sleep(for: .milliseconds(400))
        do {
            _ = try await client.sendAll(Self.request)
            Issue.record("expected 45065")
        } catch {
            #expect(error.errcode == 45065)
            #expect(error.earlierMsgID.map(Int.init) == sends.first?["msg_id"] as? Int)
        }
        #expect(try await sandbox.sends().count == 1)
    }

    @Test("latency past the call's timeout: a timeout that may have been received; the send took effect",
          arguments: LiveSandbox.Mode.allCases)
    func latencyPastTimeout(_ mode: LiveSandbox.Mode) async throws {
        let sandbox = try await LiveSandbox.start(mode: mode)
        defer { Task { await sandbox.stop() } }
        let client = sandbox.client(timeout: .milliseconds(300))
        _ = try await client.tokens.token()
        try await addFault(sandbox, #"{"on": "message/mass/sendall", "latency": "2s", "next": 1}"#)
        let started = ContinuousClock.now
        do {
            _ = try await client.sendAll(Self.request)
            Issue.record("expected a timeout")
        } catch {
            guard error.code == .transport, let failure = error.transportFailure else {
                Issue.record("expected a transport failure, got \(error)")
                return
            }
            #expect(failure.code == .timeout)
            #expect(failure.delivery == .maybeReceived)
        }
        // The call ended at its timeout, not after the whole latency.
        #expect(ContinuousClock.now - started < .milliseconds(1900))
        #expect(try await sandbox.sends().count == 1)
    }

    @Test("latency under the call's timeout: the answer comes late, and whole", arguments: LiveSandbox.Mode.allCases)
    func latencyUnderTimeout(_ mode: LiveSandbox.Mode) async throws {
        let sandbox = try await LiveSandbox.start(mode: mode)
        defer { Task { await sandbox.stop() } }
        let client = sandbox.client()
        _ = try await client.tokens.token()
        try await addFault(sandbox, #"{"on": "message/mass/sendall", "latency": "200ms", "next": 1}"#)
        let started = ContinuousClock.now
        let send = try await client.sendAll(Self.request)
        #expect(ContinuousClock.now - started >= .milliseconds(200))
        #expect(send.msgID > 0)
    }

    @Test("a reset before processing: nothing was sent", arguments: LiveSandbox.Mode.allCases)
    func resetBeforeProcessing(_ mode: LiveSandbox.Mode) async throws {
        let sandbox = try await LiveSandbox.start(mode: mode)
        defer { Task { await sandbox.stop() } }
        let client = sandbox.client()
        _ = try await client.tokens.token()
        try await addFault(sandbox, #"{"on": "message/mass/sendall", "reset": "before", "next": 1}"#)
        await #expect(throws: WeChatError.self) { _ = try await client.sendAll(Self.request) }
        #expect(try await sandbox.sends().isEmpty)
        _ = try await client.sendAll(Self.request)
        #expect(try await sandbox.sends().count == 1)
    }

    @Test("injected errors arrive with their class", arguments: [
        (#"{"on": "message/mass/get", "errcode": -1, "next": 1}"#, ErrorClass.transient),
        (#"{"on": "message/mass/get", "errcode": 9500002, "next": 1}"#, .transient),
        (#"{"on": "message/mass/get", "errcode": 45011, "next": 1}"#, .rateLimit),
        (#"{"on": "message/mass/get", "http": 503, "next": 1}"#, .transient),
    ], LiveSandbox.Mode.allCases)
    func injectedErrors(_ fault: (rule: String, expected: ErrorClass), _ mode: LiveSandbox.Mode) async throws {
        let (rule, expected) = fault
        let sandbox = try await LiveSandbox.start(mode: mode)
        defer { Task { await sandbox.stop() } }
        let client = sandbox.client()
        let send = try await client.sendAll(Self.request)
        try await addFault(sandbox, rule)
        do {
            _ = try await client.get(msgID: send.msgID)
            Issue.record("expected \(rule) to fail the call")
        } catch {
            #expect(error.errorClass == expected, "\(error)")
        }
        // The fault was for the next call only.
        #expect(try await client.get(msgID: send.msgID).msgID == send.msgID)
    }

    @Test("a revoked token: the client gets the current token and the call succeeds", arguments: LiveSandbox.Mode.allCases)
    func revokedToken(_ mode: LiveSandbox.Mode) async throws {
        let sandbox = try await LiveSandbox.start(mode: mode)
        defer { Task { await sandbox.stop() } }
        let client = sandbox.client()
        _ = try await client.getSpeed()
        try await addFault(sandbox, #"{"on": "message/mass/speed/get", "revoke_token": true, "next": 1}"#)
        #expect(try await client.getSpeed().realspeed > 0)
        #expect(await client.tokens.fetchCount >= 2)
    }
}
